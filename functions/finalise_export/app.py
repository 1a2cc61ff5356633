"""FinaliseExportFunction: reconcile, export deletes, update the tables, write the manifest. The watermark
and the announcement come once the execution has ended (ExportEndedFunction, ``steps.ended``)."""

from typing import Any

from intacct_sync.coldstart import garbage_collector_paused

with garbage_collector_paused():  # imports and clients: a faster cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from intacct_sync.export.payloads import FinaliseTask
    from intacct_sync.observability import logger, metrics
    from intacct_sync.runtime import Runtime
    from intacct_sync.steps import finalise

    RUNTIME = Runtime.from_env()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = RUNTIME
    task, remaining = FinaliseTask.from_payload(event), context.get_remaining_time_in_millis
    done = finalise.finalise(rt.settings, rt.store, rt.state, rt.intacct, task, remaining, catalog=rt.catalog)
    return done.to_payload()
