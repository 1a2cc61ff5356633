"""Start export: validate the request, apply the catalogue, work out fields and the incremental window,
check the budget, and store the run document; or, with ``resume_run_id``, pick a failed run up again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import layout
from intacct_sync.export.budget import check_budget
from intacct_sync.export.keyfields import ROLES, settle_key_fields
from intacct_sync.export.payloads import ExportStarted
from intacct_sync.export.plan import fitted_page_size, page_count
from intacct_sync.export.run import ExportRun
from intacct_sync.export.spec import RESUME_KEY, ExportSpec, validate_run_id
from intacct_sync.export.summaries import landed_parts
from intacct_sync.export.window import (
    TenantTime,
    combine_filters,
    watermark_scope,
    window_filter,
    window_start,
)
from intacct_sync.intacct import (
    RETRYABLE_BY_THE_WORKFLOW,
    FunctionError,
)
from intacct_sync.observability import logger
from intacct_sync.settings import Settings
from intacct_sync.steps.ports import Intacct, RemainingMs, State, Store
from intacct_sync.steps.runs import load_run, now, save_run

# Failures a Step Functions Retry of this step may fix (the ASL's Retry names exactly these, plus Lambda's
# own service errors): those of any Intacct call, once the client has spent its own budget.
TRANSIENT_ERRORS = RETRYABLE_BY_THE_WORKFLOW
# How long a cached ``lookup`` (field list and types) is used before it is asked again: custom fields
# added at Intacct reach the export and its table within a day, for one transaction a day per object.
FIELD_CACHE_MAX_AGE = timedelta(hours=24)


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
    requested = ExportSpec.from_payload(request, settings.page_size)
    # The request's own filter, before the catalogue's is ANDed in: what scopes the run's watermark.
    request_filter = requested.filter
    spec = settings.objects.apply(requested, request.keys())
    catalogued = settings.objects.get(spec.object) is not None
    # The session's date preferences, read before the first page: preferences the run cannot read are
    # refused here, naming the one to change (UnreadableFormattingError).
    session, _ = intacct.session(run_id, spec.entity, remaining_ms)
    if spec.entity is None and session.location_id:
        # Credentials with an entity_id log in to that entity: the run sees that entity, not the top
        # level, and is scoped as such (its watermark, its views), as if the request had named it.
        spec = replace(spec, entity=session.location_id)
    time = TenantTime.of(session.formatting, session.filter_dates, settings.tenant_timezone)
    estimate = max(1, page_count(state.last_total(spec.object) or 0, spec.page_size))
    check_budget(settings.monthly_transaction_budget, state.month_transactions(), estimate, "this export")
    fields_from = "request" if request.get("fields") else ("catalogue" if spec.fields else "lookup")
    cached = field_cache(store, intacct, spec, run_id, remaining_ms)
    types = {str(k): str(v) for k, v in (cached.get("types") or {}).items()}
    # The key, modified, created and id fields the object really has (never RECORDNO by assumption).
    spec, notes = settle_key_fields(spec, list(types), set(request) & set(ROLES), catalogued)
    details: dict[str, Any] = {"fields_from": fields_from}
    if notes:
        details["key_fields"] = notes
        logger.warning("key fields taken from lookup", extra={"object": spec.object, "notes": notes})
    window: dict[str, Any] | None = None
    effective_filter = spec.filter
    if spec.mode == "incremental" and not spec.modified_field:
        # Nothing says what changed: the run reads every record, a complete snapshot (steps.tables).
        note = f"{spec.object} has no modified field: full snapshots only, this run reads everything"
        window = {"since": None, "note": note}
    elif spec.mode == "incremental":
        scope = watermark_scope(request_filter)
        since = spec.since or state.watermark(spec.object, spec.entity, scope)
        if since is None:
            everything = "everything its filter matches" if scope else "everything"
            window = {"since": None, "note": f"no watermark yet: this run exports {everything}"}
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
        if scope:
            window["watermark_scope"] = scope
    fields = _select(spec, cached)
    page_size = fitted_page_size(spec.page_size, fields)
    if page_size < spec.page_size:
        details["page_size"] = {"requested": spec.page_size, "used": page_size, "why": "the fields' width"}
    if not types:
        details["untyped"] = "lookup could not be read: values are written as Intacct's text"
    run = ExportRun(
        run_id,
        now(),
        replace(spec, fields=fields, filter=effective_filter, page_size=page_size),
        window,
        details=details,
        time=time,
        field_types={name: types.get(name, "TEXT") for name in fields} if types else {},
        request_filter=request_filter,
    )
    save_run(store, run)
    logger.info("export started", extra={"run_id": run_id, "object": spec.object, "mode": spec.mode})
    return ExportStarted(run_id=run_id, resume=False)


def _select(spec: ExportSpec, cached: dict[str, Any]) -> tuple[str, ...]:
    """The fields to select: the fields as requested, else every field from ``lookup`` (``field_cache``:
    fields Intacct refused before stay out). Key and modified fields always."""
    fields = spec.fields or tuple(cached.get("fields") or ())
    extra = [f for f in (spec.key_field, spec.modified_field) if f and f not in fields]
    return tuple(extra) + tuple(fields)


def field_cache(
    store: Store,
    intacct: Intacct,
    spec: ExportSpec,
    run_id: str,
    remaining_ms: RemainingMs,
    keep: bool = True,
) -> dict[str, Any]:
    """The cached lookup of the object (``{"object", "fields", "types", "fetched_at", "refused"?}``),
    asked again when missing, older than a day, or written before types were cached. ``lookup`` is cached
    in the bucket (``layout.field_cache_key``), so it costs one transaction per object and entity a day
    (``FIELD_CACHE_MAX_AGE``), not one per run. Empty when ``lookup`` fails and the request names its
    fields (the run then lands Intacct's text, as before typed records). ``keep=False``: a lookup asked is
    not written to the cache (the sync's plan only reads the bucket's caches)."""
    cache_key = layout.field_cache_key(spec.object, spec.entity)
    cached = store.get_json(cache_key) or {}
    if field_cache_fresh(cached):
        return cached
    try:
        infos = intacct.lookup(run_id, spec.entity, spec.object, remaining_ms)
    except FunctionError as exc:
        if spec.fields:  # the request names its fields: export them, as text
            logger.warning("lookup failed; values are written as text", extra={"errorno": exc.errorno})
            return {}
        raise
    refused = set(cached.get("refused") or ())
    document = {
        **cached,
        "object": spec.object,
        "fields": [info.name for info in infos if info.name not in refused],
        "types": {info.name: info.data_type.upper() for info in infos},
        "fetched_at": now(),
    }
    if keep:
        store.put_json(cache_key, document)
    return document


def field_cache_fresh(cached: dict[str, Any] | None) -> bool:
    """Whether a cached lookup (``layout.field_cache_key``) can be used as it is: it has the fields and
    their types and was asked less than ``FIELD_CACHE_MAX_AGE`` ago."""
    if not cached or not cached.get("fields") or "types" not in cached:
        return False
    try:
        fetched = datetime.fromisoformat(str(cached.get("fetched_at")))
    except ValueError:
        return False
    if fetched.tzinfo is None:
        fetched = fetched.replace(tzinfo=UTC)
    return datetime.now(UTC) - fetched <= FIELD_CACHE_MAX_AGE


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
