"""GetSessionFunction: make sure a valid Intacct session is cached for the run; return its expiry only."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.export.payloads import RunRef
    from intacct_sync.observability import logger
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import session

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ref = RunRef.from_payload(event)
    return session.get_session(
        RUNTIME.store, RUNTIME.intacct, ref, context.get_remaining_time_in_millis
    ).to_payload()
