"""Start export: validate the request, apply the catalogue, work out fields and the incremental window,
check the budget, and store the run document; or, with ``resume_run_id``, pick a failed run up again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import layout
from intacct_sync.export.budget import check_budget
from intacct_sync.export.payloads import ExportStarted
from intacct_sync.export.plan import page_count
from intacct_sync.export.run import ExportRun
from intacct_sync.export.spec import RESUME_KEY, ExportSpec, validate_run_id
from intacct_sync.export.summaries import landed_parts
from intacct_sync.export.window import TenantTime, combine_filters, window_filter, window_start
from intacct_sync.intacct import PossiblyStillRunningError, SessionExpiredError, ThrottledError
from intacct_sync.observability import logger
from intacct_sync.settings import Settings
from intacct_sync.steps.ports import Intacct, RemainingMs, State, Store
from intacct_sync.steps.runs import load_run, now, save_run

# Failures a Step Functions Retry of this step may fix (the ASL's Retry names exactly these, plus Lambda's
# own service errors). Failures the Intacct client gave up on after its own budget are not among them:
# retries never multiply across layers.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    TimeoutError,
    SessionExpiredError,
    PossiblyStillRunningError,
    ThrottledError,
)


def start_export(
    settings: Settings,
    store: Store,
    state: State,
    intacct: Intacct,
    run_id: Any,
    request: Any,
    remaining_ms: RemainingMs,
) -> ExportStarted:
    """Validate ``request`` (the execution input) and store the run document under ``run_id`` (the
    execution name). Raises InvalidExportRequest naming the problem before anything is sent to Intacct,
    and BudgetExceededError when the month's budget cannot cover the export."""
    run_id = validate_run_id(run_id)
    if not isinstance(request, dict):
        raise InvalidExportRequest("the export request must be a JSON object")
    if request.get(RESUME_KEY) is not None:
        return resume(store, state, validate_run_id(request[RESUME_KEY]))
    spec = settings.objects.apply(ExportSpec.from_payload(request, settings.page_size), request.keys())
    # The session's date preferences, read before the first page: preferences the run cannot read are
    # refused here, naming the one to change (UnreadableFormattingError).
    session, _ = intacct.session(run_id, spec.entity, remaining_ms)
    time = TenantTime.of(session.formatting, session.filter_dates, settings.tenant_timezone)
    window: dict[str, Any] | None = None
    effective_filter = spec.filter
    if spec.mode == "incremental":
        since = spec.since or state.watermark(spec.object, spec.entity)
        if since is None:
            window = {"since": None, "note": "no watermark yet: this run exports everything"}
        else:
            lookback = settings.incremental_lookback_minutes
            start = window_start(datetime.fromisoformat(since), timedelta(minutes=lookback))
            window = {
                "since": since,
                "lookback_minutes": lookback,
                "start_utc": start.isoformat(),
                "start_tenant_local": time.filter_timestamp(start),
                "tenant_timezone": time.zone,
                "never_modified_by": spec.created_field or None,
            }
            effective_filter = combine_filters(
                spec.filter, window_filter(spec.modified_field, spec.created_field, start, time)
            )
    estimate = max(1, page_count(state.last_total(spec.object) or 0, spec.page_size))
    check_budget(settings.monthly_transaction_budget, state.month_transactions(), estimate, "this export")
    fields_from = "request" if request.get("fields") else ("catalogue" if spec.fields else "lookup")
    fields = _resolve_fields(store, intacct, spec, run_id, remaining_ms)
    run = ExportRun(
        run_id,
        now(),
        replace(spec, fields=fields, filter=effective_filter),
        window,
        details={"fields_from": fields_from},
        time=time,
    )
    save_run(store, run)
    logger.info("export started", extra={"run_id": run_id, "object": spec.object, "mode": spec.mode})
    return ExportStarted(run_id=run_id, resume=False)


def _resolve_fields(
    store: Store, intacct: Intacct, spec: ExportSpec, run_id: str, remaining_ms: RemainingMs
) -> tuple[str, ...]:
    """The fields to select: as requested, else every field from ``lookup`` (cached in the bucket so
    discovery costs one transaction per object, not one per run). Key and modified fields always."""
    fields = spec.fields
    if not fields:
        cache_key = layout.field_cache_key(spec.object, spec.entity)
        cached = store.get_json(cache_key)
        if cached and cached.get("fields"):
            fields = tuple(cached["fields"])
        else:
            infos = intacct.lookup(run_id, spec.entity, spec.object, remaining_ms)
            fields = tuple(info.name for info in infos)
            store.put_json(cache_key, {"object": spec.object, "fields": list(fields), "fetched_at": now()})
    extra = [f for f in (spec.key_field, spec.modified_field) if f not in fields]
    return tuple(extra) + tuple(fields)


def resume(store: Store, state: State, run_id: str) -> ExportStarted:
    """Continue a failed run where it stopped: its landed parts are kept and planning continues after
    them (``steps.plan``), into the same prefix. With nothing usable landed it starts over (part keys are
    deterministic, so the first pages simply overwrite)."""
    try:
        run = load_run(store, run_id)
    except InvalidExportRequest:
        raise InvalidExportRequest(f"there is no export with run id {run_id!r} to resume") from None
    manifest = store.get_json(layout.manifest_key(run.spec.object, run_id))
    if manifest and manifest.get("status") == "succeeded":
        raise InvalidExportRequest(f"export {run_id!r} completed already; start a new export instead")
    parts = landed_parts(store, run.spec.object, run_id)
    total = state.run_progress(run_id)["total_count"]
    logger.info("resuming export", extra={"run_id": run_id, "parts_landed": len(parts)})
    return ExportStarted(run_id=run_id, resume=bool(parts) and total >= 0)
