"""What the API does, over the adapters it is given (no boto3, no environment): start an export or a sync
once, report on one, read an export's records back page by page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from intacct_sync.adapters.executions import Execution, ExportExecutions
from intacct_sync.adapters.export_store import ExportStore
from intacct_sync.adapters.state_table import StateTable
from intacct_sync.api.errors import (
    ExportFailed,
    ExportNotFinished,
    ExportNotFound,
    IdempotencyKeyReused,
    InvalidRequest,
    SyncNotFound,
)
from intacct_sync.export import layout
from intacct_sync.export.parts import decode_part
from intacct_sync.export.spec import run_of
from intacct_sync.export.sync import rerun_refusal

STATUS_MANIFEST_MAX_PARTS = 1000  # a status answer stays far below Lambda's 6 MB response limit
# A records answer holds at most this many bytes of records as Lambda sends them: a function's synchronous
# response is capped at 6 MB (Lambda quotas) and API Gateway's body travels as JSON text inside that
# response, so quotes and non-ASCII are escaped twice. What is left covers the rest of the answer.
RECORDS_RESPONSE_BYTES = 5 * 1024 * 1024
RUNNING = "RUNNING"
NOTHING_DUE = "nothing_due"  # a sync of due objects that found none: it writes no document


@dataclass(frozen=True)
class StartedExport:
    export_id: str
    created: bool  # False: the request repeated one already accepted (same key, or same body the same day)
    status: str
    request: dict[str, Any]


def start_once(
    executions: ExportExecutions, request: dict[str, Any], name: str, what: str = "export"
) -> StartedExport:
    """Start the state machine (the export's or the sync's) under `name` unless an execution of that name
    exists; answer with the existing one then, provided it was started for the same request."""
    existing = executions.describe(name)
    if existing is None:
        if executions.start(name, request):
            return StartedExport(name, True, RUNNING, request)
        existing = executions.describe(name)  # started by a concurrent identical request meanwhile
        if existing is None:
            raise RuntimeError(f"execution {name} reported as existing but cannot be described")
    if existing.input != request:
        raise IdempotencyKeyReused(
            f"this Idempotency-Key was already used for a different {what} request ({what} {name}); "
            f"send a new key for a new request"
        )
    return StartedExport(name, False, existing.status, request)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _object_of(execution: Execution) -> str | None:
    name = (execution.input or {}).get("object")
    return name.upper() if isinstance(name, str) and name else None


def _described(executions: ExportExecutions, export_id: str) -> Execution:
    """The export's execution, or the one its run continues in when it ended by continuing: an export's
    status is its run's, however many executions that takes."""
    first = executions.describe(export_id)
    if first is None:
        raise ExportNotFound(f"no export with id {export_id!r}")
    execution = executions.follow(first)
    if execution is not first:
        # report it as the export asked about, with the run's current status and input
        return Execution(
            name=first.name,
            arn=first.arn,
            status=execution.status,
            input=first.input,
            started_at=first.started_at,
            stopped_at=execution.stopped_at,
            error=execution.error,
            cause=execution.cause,
            output=execution.output,
        )
    return execution


def _run_of(executions: ExportExecutions, execution: Execution) -> tuple[str, str | None, str | None]:
    """(run id, object, resumed run id) of an execution (``spec.run_of``). A resume writes its data,
    progress and manifest under the resumed run's id, whose own execution names the object."""
    run_id = run_of(execution.name, execution.input)
    if run_id == execution.name:
        return run_id, _object_of(execution), None
    original = executions.describe(run_id)
    return run_id, _object_of(original) if original else None, run_id


def export_status(
    executions: ExportExecutions, state: StateTable, store: ExportStore, export_id: str
) -> dict[str, Any]:
    """Status (Step Functions), progress so far (state table) and, once it has ended, the manifest."""
    execution = _described(executions, export_id)
    run_id, object_name, resumed = _run_of(executions, execution)
    progress = state.run_progress(run_id)
    manifest = None
    if execution.status != RUNNING and object_name:
        manifest = store.get_json(layout.manifest_key(object_name, run_id))
    error = None
    if execution.status not in (RUNNING, "SUCCEEDED"):
        error = (manifest or {}).get("error") or {"error": execution.error, "cause": execution.cause}
    document: dict[str, Any] = {
        "export_id": export_id,
        "status": execution.status,
        "object": object_name,
        "request": execution.input,
        "run_id": run_id,
        "resumes": resumed,
        "started_at": _iso(execution.started_at),
        "stopped_at": _iso(execution.stopped_at),
        "progress": {
            "pages": progress["pages"],
            "records": progress["records"],
            "total_count": progress["total_count"] if progress["total_count"] >= 0 else None,
            "intacct_transactions": progress["transactions"],
        },
        "error": error,
        # The run's end has been recorded (watermark and event, or the failed manifest): a moment after
        # the execution itself ends, from its status change.
        "settled": execution.status != RUNNING and bool((manifest or {}).get("settled_at")),
        "manifest": _bounded(manifest),
    }
    if manifest is not None and object_name:
        document["manifest_key"] = layout.manifest_key(object_name, run_id)
    return document


def _bounded(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The manifest, its part list cut to a bounded length (the full one stays in S3)."""
    if manifest is None or len(manifest.get("parts") or []) <= STATUS_MANIFEST_MAX_PARTS:
        return manifest
    return dict(
        manifest,
        parts=manifest["parts"][:STATUS_MANIFEST_MAX_PARTS],
        parts_truncated=True,
    )


def succeeded_manifest(
    executions: ExportExecutions, state: StateTable, store: ExportStore, export_id: str
) -> dict[str, Any]:
    """The manifest of an export whose records can be read: one that succeeded and reconciled."""
    execution = _described(executions, export_id)
    run_id, object_name, _ = _run_of(executions, execution)
    manifest = store.get_json(layout.manifest_key(object_name, run_id)) if object_name else None
    if manifest is None:
        if execution.status == RUNNING:
            records = state.run_progress(run_id)["records"]
            raise ExportNotFinished(
                f"export {export_id} is still running ({records} records so far); its records can be read "
                f"once it has succeeded"
            )
        raise ExportFailed(f"export {export_id} ended {execution.status} without exporting any records")
    if manifest.get("status") != "succeeded":
        cause = (manifest.get("error") or {}).get("cause") or manifest.get("status")
        raise ExportFailed(f"export {export_id} failed, so it has no records to read: {str(cause)[:300]}")
    return manifest


def read_records(
    store: ExportStore,
    manifest: dict[str, Any],
    start: tuple[int, int],
    limit: int,
    max_bytes: int = RECORDS_RESPONSE_BYTES,
) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """Up to `limit` records from position (part index, line offset) in the manifest's part order (key
    order), fewer when more would pass `max_bytes` as sent (``answer_bytes``; always at least one), and
    where the next page starts (None at the end)."""
    parts = manifest.get("parts") or []
    index, offset = start
    records: list[dict[str, Any]] = []
    used = 0
    full = False
    while index < len(parts) and len(records) < limit and not full:
        if offset >= int(parts[index].get("records", 0)):  # empty or consumed: no need to read it
            index, offset = index + 1, 0
            continue
        lines = decode_part(store.get_bytes(parts[index]["key"]))
        for record in lines[offset : offset + limit - len(records)]:
            size = answer_bytes(record)
            if records and used + size > max_bytes:
                full = True
                break
            records.append(record)
            used += size
            offset += 1
        if offset >= len(lines):
            index, offset = index + 1, 0
    while index < len(parts) and offset >= int(parts[index].get("records", 0)):
        index, offset = index + 1, 0
    return records, ((index, offset) if index < len(parts) else None)


def answer_bytes(record: dict[str, Any]) -> int:
    """A record's bytes in Lambda's response: its JSON, escaped again as the text of the answer's body."""
    return len(json.dumps(json.dumps(record, default=str)))


def sync_status(
    syncs: ExportExecutions, state: StateTable, store: ExportStore, sync_id: str
) -> dict[str, Any]:
    """A sync's status (its execution's), its own outcome (``sync``), its document (objects and runs; the
    summary once it has ended, or a dry run's plan) and, while it runs, where each object's run is (from
    the state table and, once the run has ended, its manifest)."""
    execution = syncs.describe(sync_id)
    if execution is None:
        raise SyncNotFound(f"no sync with id {sync_id!r}")
    document = store.get_json(layout.sync_key(sync_id)) or {}
    ended = execution.status != RUNNING
    answer: dict[str, Any] = {
        "sync_id": sync_id,
        "status": execution.status,
        "request": execution.input,
        "started_at": _iso(execution.started_at),
        "stopped_at": _iso(execution.stopped_at),
        "sync": _sync_outcome(execution.status, document),
        "error": None
        if execution.status in (RUNNING, "SUCCEEDED")
        else {"error": execution.error, "cause": execution.cause},
    }
    if "results" in document:
        answer.update(objects=document["results"], totals=document.get("totals"))
    else:
        answer["objects"] = [
            _object_progress(state, store, item, ended) for item in document.get("objects", [])
        ]
    for name in ("plan", "reason", "earlier", "resumes"):
        if document.get(name):
            answer[name] = document[name]
    if answer["error"] is None and document.get("error"):  # refused credentials: the sync's own error
        answer["error"] = document["error"]
    if answer["sync"] == NOTHING_DUE:
        answer["reason"] = "no object's frequency had come round (or it was Intacct's maintenance window)"
    return answer


def check_rerun(store: ExportStore, sync_id: str) -> None:
    """Before a rerun starts: SyncNotFound when there is no sync ``sync_id``, InvalidRequest when it has
    nothing a rerun could do (a dry run; a sync that exported nothing)."""
    earlier = store.get_json(layout.sync_key(sync_id))
    if earlier is None:
        raise SyncNotFound(f"resume_sync_id: there is no sync {sync_id!r} to rerun")
    if (refusal := rerun_refusal(sync_id, earlier)) is not None:
        raise InvalidRequest(f"resume_sync_id: {refusal}")


def _sync_outcome(execution_status: str, document: dict[str, Any]) -> str:
    """The sync's own outcome: its document's status (``running``, ``succeeded``, ``failed``, ``planned``,
    ``skipped``, ``stopped``); ``stopped`` too when its execution ended (stopped, timed out) before the
    document was finished; without a document, ``running`` while its first step runs, ``nothing_due``
    when a sync of due objects found none, ``failed`` or ``stopped`` when it ended before writing one."""
    status = document.get("status")
    if status == "running":
        return "stopped" if execution_status != RUNNING else "running"
    if status:
        return str(status)
    return {RUNNING: "running", "SUCCEEDED": NOTHING_DUE, "ABORTED": "stopped"}.get(
        execution_status, "failed"
    )


def _object_progress(
    state: StateTable, store: ExportStore, item: dict[str, Any], sync_ended: bool
) -> dict[str, Any]:
    """One object of a sync that has not finished: its run's progress, and its status: the settled
    manifest's (``succeeded``, ``failed``) once its run has ended, else ``stopped`` when the sync's
    execution has ended, ``running`` once its run has made an Intacct call for this sync (its state
    table progress: no further read), ``pending`` before (waiting for its turn)."""
    run_id = str(item["run_id"])
    manifest = store.get_json(layout.manifest_key(str(item["object"]), run_id)) or {}
    progress = state.run_progress(run_id)
    spent = max(0, progress["transactions"] - int(item.get("transactions_before", 0)))  # this sync's
    if bool(manifest.get("settled_at")) and manifest.get("status") in ("succeeded", "failed"):
        status = str(manifest["status"])
    elif sync_ended:
        status = "stopped"
    else:
        status = "running" if spent else "pending"
    return {
        "object": item["object"],
        "run_id": run_id,
        "status": status,
        "records": progress["records"],
        "transactions": spent,
        "export_id": item["execution"],
    }
