"""StartExportFunction: validate the request, resolve fields and window, store the run document (or pick a
failed run up again); return the run id."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.export.payloads import StartTask
    from intacct_sync.observability import logger
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import start

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt, task = RUNTIME, StartTask.from_payload(event)
    started = start.start_export(
        rt.settings,
        rt.store,
        rt.state,
        rt.intacct,
        task.run_id,
        task.request,
        context.get_remaining_time_in_millis,
    )
    return started.to_payload()
