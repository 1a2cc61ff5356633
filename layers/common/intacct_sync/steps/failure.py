"""Record failure: a step failed for good. Write a failed manifest (never one claiming success) and
announce it; the landed parts stay, so the run can be resumed with {"resume_run_id": <run id>}."""

from __future__ import annotations

import json
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import events, layout
from intacct_sync.export.manifest import build_manifest, reconcile
from intacct_sync.export.run import ExportRun
from intacct_sync.export.spec import RESUME_KEY, RUN_ID_PATTERN, validate_run_id
from intacct_sync.export.summaries import landed_parts
from intacct_sync.intacct import InvalidQueryError, check_object_name
from intacct_sync.observability import logger
from intacct_sync.steps.ports import Events, State, Store
from intacct_sync.steps.runs import now

# Failures a Step Functions Retry of this step may fix (the ASL's Retry names exactly these, plus Lambda's
# own service errors). Failures the Intacct client gave up on after its own budget are not among them:
# retries never multiply across layers.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = ()


def record_failure(store: Store, state: State, events_port: Events, event: dict[str, Any]) -> dict[str, Any]:
    """``event``: the execution's name (``run_id``), its input (``request``) and the caught ``error``.
    Returns what was announced."""
    raw_request = event.get("request")
    request: dict[str, Any] = raw_request if isinstance(raw_request, dict) else {}
    resume = request.get(RESUME_KEY)
    # A malformed resume id may be the very failure being recorded: record it under this execution.
    run_id = validate_run_id(
        resume if isinstance(resume, str) and RUN_ID_PATTERN.match(resume) else event.get("run_id")
    )
    problem = _problem(event.get("error") or {})
    saved = store.get_json(layout.run_state_key(run_id))
    run = _run_or_none(saved)
    object_name = run.spec.object if run else request.get("object")
    detail: dict[str, Any] = {"run_id": run_id, "object": object_name, "status": "failed", **problem}
    if _valid_object(object_name):
        assert isinstance(object_name, str)
        parts = landed_parts(store, object_name, run_id)
        manifest = build_manifest(
            spec=run.spec.to_payload() if run else {"object": object_name},
            run_id=run_id,
            status="failed",
            started_at=run.started_at if run else "",
            finished_at=now(),
            parts=parts,
            reconciliation=reconcile(parts, None),
            total_count_first_page=None,
            transactions=state.run_progress(run_id)["transactions"],
            error=problem,
        )
        key = layout.manifest_key(object_name, run_id)
        existing = store.get_json(key)
        if existing is not None and existing.get("status") == "succeeded":
            # e.g. a resume request for a run that had completed: the request failed, not that run, whose
            # reconciled manifest (and the watermark it advanced) must stay as they are.
            logger.warning("kept the run's succeeded manifest", extra={"run_id": run_id, **problem})
        else:
            store.put_json(key, manifest)
            detail.update(manifest_key=key, bucket=store.bucket, records=manifest["records_written"])
    events_port.publish(events.FAILED, detail)
    logger.error("export failed", extra=detail)
    return detail


def _problem(error: dict[str, Any]) -> dict[str, str]:
    """The error's type and message (Lambda errors arrive as a JSON string in Cause)."""
    cause = str(error.get("Cause", ""))
    try:
        parsed = json.loads(cause)
        cause = f"{parsed.get('errorType', '')}: {parsed.get('errorMessage', '')}".strip(": ")
    except (json.JSONDecodeError, AttributeError):
        pass
    return {"error": str(error.get("Error", "Unknown")), "cause": cause[:2000]}


def _run_or_none(document: dict[str, Any] | None) -> ExportRun | None:
    if document is None:
        return None
    try:
        return ExportRun.from_document(document)
    except InvalidExportRequest:
        return None


def _valid_object(name: Any) -> bool:
    try:
        check_object_name(name)
    except InvalidQueryError:
        return False
    return True
