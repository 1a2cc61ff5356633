"""GetSessionFunction: make sure a valid Intacct API session is cached; return its expiry only."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.export import steps
    from intacct_sync.observability import logger
    from intacct_sync.runtime import Runtime

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return steps.get_session(RUNTIME, {"run_id": event.get("run_id"), "request": event.get("request")})
