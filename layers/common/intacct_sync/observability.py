"""The one place that creates the Powertools logger and metrics; every module imports these.

No Powertools Tracer: it needs the X-Ray SDK, which the layer does not ship. `Tracing: Active` in the
template still traces every invocation and the state machine."""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "intacct-sync")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "IntacctSync")

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)

# At DEBUG botocore logs request parameters and response bodies: the credentials secret (GetSecretValue)
# and the Intacct session id (SSM GetParameter/PutParameter). Lambda's log level setting (or anyone
# turning the root logger to DEBUG) must never put them in CloudWatch, so the AWS SDK stays at INFO.
for _sdk_logger in ("botocore", "boto3", "s3transfer"):
    logging.getLogger(_sdk_logger).setLevel(logging.INFO)
