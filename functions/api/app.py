"""ApiFunction: the export API behind API Gateway (exports: start, status, records; objects)."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.api.routes import build_resolver
    from intacct_sync.api.runtime import ApiRuntime
    from intacct_sync.observability import logger

    RUNTIME = ApiRuntime.from_env()
    APP = build_resolver(RUNTIME)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return APP.resolve(event, context)
