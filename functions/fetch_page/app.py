"""FetchPageFunction: fetch a task's page(s) from Intacct into S3; return keys and counts, never records."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.export import steps
    from intacct_sync.observability import logger, metrics
    from intacct_sync.runtime import Runtime

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return steps.fetch_page(RUNTIME, event, context.get_remaining_time_in_millis)
