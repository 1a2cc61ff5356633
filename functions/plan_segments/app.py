"""PlanSegmentsFunction: turn landed first pages into non-overlapping keyset ranges per segment."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.export.payloads import RunRef
    from intacct_sync.observability import logger
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import plan

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = RUNTIME
    return plan.plan(
        rt.store, rt.state, RunRef.from_payload(event), rt.settings.history_event_budget
    ).to_payload()
