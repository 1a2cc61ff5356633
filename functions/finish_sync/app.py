"""FinishSyncFunction: the sync's summary document, and its Intacct Sync Completed event."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.export.payloads import FinishSyncTask
    from intacct_sync.observability import logger
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import sync_outcome

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = RUNTIME
    finished = sync_outcome.finish_sync(
        rt.store, rt.state, rt.events, rt.executions, FinishSyncTask.from_payload(event)
    )
    return finished.to_payload()
