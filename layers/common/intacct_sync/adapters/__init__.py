"""The only code that talks to AWS: small adapters that take boto3 clients explicitly."""
