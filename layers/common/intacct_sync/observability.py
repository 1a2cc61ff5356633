"""The one place that creates the Powertools logger, tracer and metrics; every module imports these."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "intacct-sync")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "IntacctSync")

logger = Logger(service=SERVICE)
# Tracing needs the X-Ray SDK, which the layer does not ship; Powertools then disables it quietly
# unless POWERTOOLS_TRACE_DISABLED is unset on real Lambda with active tracing.
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
