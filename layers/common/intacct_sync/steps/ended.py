"""Export ended: every execution of the export state machine that ends, however it ends, is recorded here,
from the execution's own status change (an EventBridge rule on "Step Functions Execution Status Change").

A Catch in the workflow cannot see every ending: ``States.DataLimitExceeded``, a timed-out or aborted
execution, a Lambda killed mid-Task never reach it (AWS error-handling docs). The status change always
comes, once the execution can no longer fail, so this is where the run is settled:

- SUCCEEDED: the manifest its Finalise wrote stands; only now does the watermark advance (the object's,
  or for a run with a request filter that filter's own), the last total (for budgets) change, the run
  join the succeeded runs (the current views read those without a request filter: ``steps.tables``) and
  ``Intacct Export Completed`` go out.
- FAILED, TIMED_OUT, ABORTED: a failed manifest (never one claiming success, even one Finalise wrote just
  before the execution failed; such a run also leaves the succeeded runs, should an earlier delivery of
  this event have recorded it) and ``Intacct Export Failed``. The landed parts stay, so the run can be
  resumed with ``{"resume_run_id": <run id>}`` (``spec.RESUME_KEY``; ``spec.run_of`` says which run an
  execution belongs to). A succeeded manifest another execution wrote (a resume request for a run that
  had completed) is kept.

Either way the manifest then carries ``settled_at``: the run's end has been recorded (the API reports it).
It is not a state of the workflow: its EventBridge target and Lambda's asynchronous invocation retry it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import events, layout
from intacct_sync.export.manifest import build_manifest, reconcile
from intacct_sync.export.payloads import Continued
from intacct_sync.export.run import ExportRun
from intacct_sync.export.spec import RESUME_KEY, run_of, validate_run_id
from intacct_sync.export.summaries import landed_parts
from intacct_sync.export.window import watermark_scope
from intacct_sync.intacct import InvalidQueryError, check_object_name
from intacct_sync.observability import logger
from intacct_sync.steps import tables
from intacct_sync.steps.ports import Catalog, Events, State, Store
from intacct_sync.steps.runs import now

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def export_ended(
    store: Store,
    state: State,
    events_port: Events,
    event: Mapping[str, Any],
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """``event``: the EventBridge "Step Functions Execution Status Change" event (``detail``: ``name``,
    ``status``, ``input`` (JSON text, absent when too large), ``error``, ``cause``); ``catalog``: where
    the current views live (Glue; None: only the bucket's index). Returns what was announced (``{}`` for
    a status that is not an ending). Idempotent: EventBridge may deliver an event more than once."""
    detail = event.get("detail") if isinstance(event, Mapping) else None
    if not isinstance(detail, Mapping) or detail.get("status") not in ENDED:
        return {}
    execution = validate_run_id(detail.get("name"))
    request = _request(detail.get("input"))
    run_id = run_of(execution, request)
    run = _run_or_none(store.get_json(layout.run_state_key(run_id)))
    object_name = run.spec.object if run else request.get("object")
    if detail["status"] == "SUCCEEDED":
        continued = Continued.of_output(detail.get("output"))
        if continued is not None:
            # The run goes on in a new execution (its history would have passed the cap); that one settles it.
            logger.info(
                "export continues in a new execution", extra={"run_id": run_id, **continued.to_payload()}
            )
            return {}
        return _succeeded(store, state, events_port, catalog, execution, run_id, run)
    problem = problem_of(detail)
    return _failed(store, state, events_port, catalog, execution, run_id, run, object_name, problem)


def _succeeded(
    store: Store,
    state: State,
    events_port: Events,
    catalog: Catalog | None,
    execution: str,
    run_id: str,
    run: ExportRun | None,
) -> dict[str, Any]:
    manifest = store.get_json(layout.manifest_key(run.spec.object, run_id)) if run else None
    if run is None or manifest is None or manifest.get("status") != "succeeded":
        logger.warning("an execution succeeded without a succeeded manifest", extra={"execution": execution})
        return {}
    spec = run.spec
    watermark = (manifest.get("window") or {}).get("watermark_after")
    # Only now, with the execution over, may the next incremental run start from here: the next one with
    # the same request filter, or with none (a filtered run never moves the object's own watermark).
    if watermark:
        state.set_watermark(spec.object, spec.entity, watermark, run_id, watermark_scope(run.request_filter))
    if spec.mode == "full" and not run.filtered:
        state.set_last_total(spec.object, int(manifest["records_written"]))
    tables.record_succeeded_run(store, catalog, run, manifest)
    store.put_json(layout.manifest_key(spec.object, run_id), dict(manifest, settled_at=now()))
    detail = {
        "run_id": run_id,
        "object": spec.object,
        "entity": spec.entity,
        "status": "succeeded",
        "records": manifest["records_written"],
        "pages": manifest["pages"],
        "transactions": manifest["intacct_transactions"],
        "manifest_key": layout.manifest_key(spec.object, run_id),
        "bucket": store.bucket,
    }
    events_port.publish(events.COMPLETED, detail)
    logger.info("export completed", extra=detail)
    return detail


def _failed(
    store: Store,
    state: State,
    events_port: Events,
    catalog: Catalog | None,
    execution: str,
    run_id: str,
    run: ExportRun | None,
    object_name: Any,
    problem: dict[str, str],
) -> dict[str, Any]:
    detail: dict[str, Any] = {"run_id": run_id, "object": object_name, "status": "failed", **problem}
    if _valid_object(object_name):
        assert isinstance(object_name, str)
        key = layout.manifest_key(object_name, run_id)
        existing = store.get_json(key) or {}
        ours = existing.get("execution") == execution
        if existing.get("status") == "succeeded" and not ours:
            # e.g. a resume request for a run that had completed: the request failed, not that run, whose
            # reconciled manifest (and the watermark it advanced) must stay as they are.
            logger.warning("kept the run's succeeded manifest", extra={"run_id": run_id, **problem})
        elif existing.get("status") == "failed" and ours:
            # Finalise wrote why (a reconciliation failure): keep its detail, announce it
            store.put_json(key, dict(existing, settled_at=now()))
            detail.update(manifest_key=key, bucket=store.bucket, records=existing.get("records_written"))
            if existing.get("error"):
                detail["cause"] = str(existing["error"].get("cause", ""))
        else:
            if existing.get("status") == "succeeded" and run is not None:
                # This execution's Finalise wrote success and the execution then failed: if an earlier
                # delivery (or a mistaken SUCCEEDED) put the run in the current views, take it out.
                tables.withdraw_run(store, catalog, run.spec.object, run.spec.entity, run_id)
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
            # What landed stays: the run continues where each segment stopped, with this request.
            manifest.update(execution=execution, settled_at=now(), resume_with={RESUME_KEY: run_id})
            store.put_json(key, manifest)
            detail.update(manifest_key=key, bucket=store.bucket, records=manifest["records_written"])
    events_port.publish(events.FAILED, detail)
    logger.error("export failed", extra=detail)
    return detail


def _request(raw: Any) -> dict[str, Any]:
    """The execution's input, when the event carries it (Step Functions leaves out a large one)."""
    try:
        document = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def problem_of(detail: Mapping[str, Any]) -> dict[str, str]:
    """The execution's error and cause; a Lambda error's cause is a JSON text: keep its type and message."""
    status = str(detail.get("status"))
    error = str(
        detail.get("error")
        or {"TIMED_OUT": "States.Timeout", "ABORTED": "States.Aborted"}.get(status, "Unknown")
    )
    cause = str(detail.get("cause") or "")
    try:
        parsed = json.loads(cause)
        cause = f"{parsed.get('errorType', '')}: {parsed.get('errorMessage', '')}".strip(": ")
    except (json.JSONDecodeError, AttributeError):
        pass
    if not cause and status in ("TIMED_OUT", "ABORTED"):
        cause = f"the execution {'timed out' if status == 'TIMED_OUT' else 'was stopped'} before it finished"
    return {"error": error, "cause": cause[:2000]}


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
