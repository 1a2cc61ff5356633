"""The one place that creates the Powertools logger and metrics; every module imports these.

No Powertools Tracer: it needs the X-Ray SDK, which the layer does not ship. `Tracing: Active` in the
template still traces every invocation and the state machine."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "intacct-sync")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "IntacctSync")

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
