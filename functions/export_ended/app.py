"""ExportEndedFunction: an export execution ended (its EventBridge status change): settle the run, then
announce it (watermark and Completed, or a failed manifest and Failed)."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.observability import logger
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import ended

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return ended.export_ended(RUNTIME.store, RUNTIME.state, RUNTIME.events, event, RUNTIME.catalog)
