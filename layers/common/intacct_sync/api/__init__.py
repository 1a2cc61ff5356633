"""The export API: start exports, follow them, read their records back (API Gateway REST + Powertools).

routes.py (the resolver: parse, call one function, shape the answer) → service.py (the logic: no boto3, no
environment) → adapters (Step Functions, S3, DynamoDB). validation.py checks every input; errors.py is the one
place where exceptions become HTTP answers.
"""
