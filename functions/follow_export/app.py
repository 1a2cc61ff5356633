"""FollowExportFunction: where an object's run is now, through the executions it continues in."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.export.payloads import FollowTask
    from intacct_sync.observability import logger
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import sync_outcome

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return sync_outcome.follow_run(RUNTIME.executions, FollowTask.from_payload(event)).to_payload()
