"""The sync's later steps: follow an object's run to its real end (FollowExportFunction), and finish the
sync (FinishSyncFunction): one summary document and one ``Intacct Sync Completed`` event.

An export whose history would pass Step Functions' cap ends its execution by continuing in a new one
(its output's ``payloads.Continued``); the execution the sync started then succeeded, but the object's
run has not ended. ``follow_run`` finds the execution the run is in now, so the sync waits for the real end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import events, layout
from intacct_sync.export.payloads import FinishSyncTask, FollowTask, ObjectSynced, RunFollowed, SyncFinished
from intacct_sync.export.sync import STOPPED, sync_status, totals
from intacct_sync.observability import logger
from intacct_sync.steps.ended import problem_of
from intacct_sync.steps.ports import Events, Executions, State, Store
from intacct_sync.steps.runs import now

# Failures a Step Functions Retry of these steps may fix: none of their own (Lambda's service errors only).
TRANSIENT_ERRORS: tuple[type[Exception], ...] = ()


def follow_run(executions: Executions, task: FollowTask) -> RunFollowed:
    """Where the run the export execution ``task.execution_arn`` started is now: ended or not, and how."""
    first = executions.describe(executions.name_of(task.execution_arn))
    if first is None:
        raise InvalidExportRequest(f"there is no export execution {task.execution_arn!r}")
    last = executions.follow(first)
    ended = last.status not in ("RUNNING", "PENDING_REDRIVE") and last.continued is None
    return RunFollowed(ended=ended, status=last.status, execution_arn=last.arn)


def finish_sync(
    store: Store, state: State, events_port: Events, executions: Executions, task: FinishSyncTask
) -> SyncFinished:
    """Write the sync's summary into its document and announce it. Each object's records and transactions
    come from its manifest (its progress when it failed), its error from the execution it ended in."""
    key = layout.sync_key(task.sync_id)
    document = store.get_json(key) or {"sync_id": task.sync_id}
    items = {str(item["object"]): item for item in document.get("objects", [])}
    outcomes = [
        _outcome(store, state, executions, result, items.get(result.object, {})) for result in task.results
    ]
    own = state.run_progress(task.sync_id)["transactions"]  # the sync's sign-in, or a plan's counting
    summary = totals(outcomes, document.get("earlier") or [], own)
    if document.get("status") not in (None, "running") and "results" not in document:
        # ended by its first step, nothing exported (a plan, a skip, refused credentials): that stands
        status = str(document["status"])
        document.update(totals=summary, finished_at=now())
    else:
        status = sync_status(outcomes)
        document.update(status=status, results=outcomes, totals=summary, finished_at=now())
    store.put_json(key, document)
    detail: dict[str, Any] = {"sync_id": task.sync_id, "status": status, **summary}
    if status == "planned":
        detail["plan"] = (document.get("plan") or {}).get("totals")
    for name in ("reason", "error"):
        if document.get(name):
            detail[name] = document[name]
    detail.update(summary_key=key, bucket=store.bucket)
    events_port.publish(events.SYNC_COMPLETED, detail)
    logger.info("sync finished", extra={k: v for k, v in detail.items() if k != "plan"})
    return SyncFinished(
        sync_id=task.sync_id,
        status=status,
        objects_succeeded=summary["objects_succeeded"],
        objects_failed=summary["objects_failed"],
        records=summary["records"],
        transactions=summary["transactions"],
        summary_key=key,
    )


def _outcome(
    store: Store, state: State, executions: Executions, result: ObjectSynced, item: dict[str, Any]
) -> dict[str, Any]:
    """One object's line of the summary. A resumed run's records are the run's; its transactions are
    those this sync spent (the run's, less what it had used before)."""
    manifest = store.get_json(layout.manifest_key(result.object, result.run_id))
    succeeded = result.status == "SUCCEEDED" and (manifest or {}).get("status") == "succeeded"
    progress = state.run_progress(result.run_id)
    transactions = (manifest or {}).get("intacct_transactions", progress["transactions"])
    outcome: dict[str, Any] = {
        "object": result.object,
        "mode": (item.get("input") or {}).get("mode", "resume"),
        "run_id": result.run_id,
        "status": "succeeded" if succeeded else "failed",
        "records": (manifest or {}).get("records_written", progress["records"]),
        "transactions": max(0, int(transactions) - int(item.get("transactions_before", 0))),
        "manifest_key": layout.manifest_key(result.object, result.run_id) if manifest else None,
        "error": None,
    }
    if not succeeded:
        outcome["error"] = _error(executions, result, manifest)
    return outcome


def _error(executions: Executions, result: ObjectSynced, manifest: dict[str, Any] | None) -> dict[str, str]:
    """Why an object's run failed: the error of the execution it ended in (the failed manifest is written
    from the same status change, and may not be there yet)."""
    name = executions.name_of(result.execution_arn) if result.execution_arn else result.execution
    execution = executions.describe(name)
    if execution is not None and execution.status not in ("RUNNING", "SUCCEEDED"):
        return problem_of({"status": execution.status, "error": execution.error, "cause": execution.cause})
    if manifest and manifest.get("error"):
        return {k: str(v) for k, v in manifest["error"].items()}
    return {"error": result.status, "cause": "the object's run did not end with a succeeded manifest"}


def stop_sync(
    store: Store,
    state: State,
    executions: Executions,
    sync_id: str,
    ended: Sequence[ObjectSynced],
    reason: str,
) -> dict[str, Any]:
    """Settle the document of a sync stopped before its finish step (Ctrl-C locally, StopExecution): each
    object in ``ended`` as the finish step would have recorded it, every other object ``stopped`` with
    what its run had done, and the totals; ``reason`` says how it stopped. Written and returned (no
    event: the sync did not finish). A rerun (``resume_sync_id``) then reruns every object that did not
    succeed, resuming the runs that had started."""
    key = layout.sync_key(sync_id)
    document = store.get_json(key) or {"sync_id": sync_id}
    if document.get("status") != "running":
        return document  # it had finished, or ended before any export: that stands
    done = {result.object: result for result in ended}
    outcomes = []
    for item in document.get("objects", []):
        name, run_id = str(item["object"]), str(item["run_id"])
        manifest = store.get_json(layout.manifest_key(name, run_id)) or {}
        if name not in done and manifest.get("status") == "succeeded":  # ended as the sync was stopped
            done[name] = ObjectSynced(name, run_id, str(item["execution"]), "SUCCEEDED")
        if name in done:
            outcomes.append(_outcome(store, state, executions, done[name], item))
            continue
        progress = state.run_progress(run_id)
        outcomes.append(
            {
                "object": name,
                "mode": (item.get("input") or {}).get("mode", "resume"),
                "run_id": item["run_id"],
                "status": STOPPED,
                "records": progress["records"],
                "transactions": max(0, progress["transactions"] - int(item.get("transactions_before", 0))),
                "manifest_key": None,
                "error": None,
            }
        )
    summary = totals(outcomes, document.get("earlier") or [], state.run_progress(sync_id)["transactions"])
    document.update(status=STOPPED, reason=reason, results=outcomes, totals=summary, finished_at=now())
    store.put_json(key, document)
    logger.info("sync stopped", extra={"sync_id": sync_id, "reason": reason})
    return document
