"""StartSyncFunction: the sync's first step: which objects run (or the plan of a dry run), written down."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.observability import logger
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import sync

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = RUNTIME
    started = sync.start_sync(
        rt.settings,
        rt.store,
        rt.state,
        rt.intacct,
        rt.sync_executions,
        event,
        context.get_remaining_time_in_millis,
    )
    return started.to_payload()
