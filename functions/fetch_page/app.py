"""FetchPageFunction: the page Tasks (first page, a segment's first page, a segment's pages): fetch from
Intacct into S3; return cursors and counts, never records."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.observability import logger, metrics
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import fetch

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = RUNTIME
    result = fetch.handle(
        rt.settings, rt.store, rt.state, rt.intacct, event, context.get_remaining_time_in_millis
    )
    return result.to_payload()
