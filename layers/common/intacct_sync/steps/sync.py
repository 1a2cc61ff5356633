"""Start the sync (StartSyncFunction): the first state of the sync workflow, which syncs several objects
by running the export workflow once per object.

It validates the request (``export.sync.SyncRequest``), decides which objects run (all, the listed ones,
those due by their catalogue frequency, or what failed in an earlier sync), checks the credentials
secret can be used (a stack whose secret nobody has filled in yet skips, saying so, instead of failing
every object), signs in once (credentials Intacct refuses fail the sync there, saying so, instead of
failing every object's sign-in), and writes the sync document (``layout.sync_key``) before any export
starts. A dry run counts each object instead (one ``query`` of a single record each: its ``totalcount``,
by the key field its export would use) and writes the plan: what a full sync would cost against the
month's budget.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import layout
from intacct_sync.export.keyfields import settle_key_fields
from intacct_sync.export.payloads import SyncItem, SyncStarted
from intacct_sync.export.plan import count_query
from intacct_sync.export.spec import RESUME_KEY, ExportSpec, validate_run_id
from intacct_sync.export.sync import (
    DUE,
    SyncRequest,
    child_execution,
    due_objects,
    export_input,
    in_maintenance_window,
    plan_totals,
    planned_object,
    rerun_refusal,
)
from intacct_sync.intacct import (
    RETRYABLE_BY_THE_WORKFLOW,
    AuthenticationError,
    ControlError,
    CredentialsError,
    FunctionError,
)
from intacct_sync.observability import logger
from intacct_sync.settings import Settings
from intacct_sync.steps.ports import Executions, Intacct, RemainingMs, State, Store
from intacct_sync.steps.session import session_ready
from intacct_sync.steps.start import field_cache, field_cache_fresh

# Failures a Step Functions Retry of this step may fix: a count query of a dry run that found no free
# tenant slot, whose session had to be renewed twice, or whose login read no formats (the same as every step
# that calls Intacct). (Retries never multiply: the Intacct client's own
# budget is spent by then for anything else.)
TRANSIENT_ERRORS = RETRYABLE_BY_THE_WORKFLOW
EXPORT, PLAN, SKIP, FAIL, NONE = "export", "plan", "skip", "fail", "none"
# The sync document's status when the first step already ends the sync (the finish step keeps it).
EARLY_STATUS = {PLAN: "planned", SKIP: "skipped", FAIL: "failed"}


class SyncIntacct(Intacct, Protocol):
    """The tenant's Intacct, and whether its credentials can be used at all (``tenant.TenantIntacct``)."""

    def check_credentials(self) -> None: ...


def start_sync(
    settings: Settings,
    store: Store,
    state: State,
    intacct: SyncIntacct,
    syncs: Callable[[str], Executions],
    event: Any,
    remaining_ms: RemainingMs,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SyncStarted:
    """``event``: ``{"sync_id": <the sync execution's name>, "state_machine": <its ARN>, "request": <its
    input>}``; ``syncs(arn)`` describes that state machine's executions (to refuse rerunning a sync that
    still runs). InvalidExportRequest names what is wrong with the request before anything starts.

    Before any export starts, the sync gets the API session every export then uses (as the session step
    does: cached, billed to the sync). When Intacct refuses the credentials the sync ends there, failed,
    saying so once, instead of every object trying (and failing) to sign in on its own."""
    if not isinstance(event, dict):
        raise InvalidExportRequest("the sync step's input must be a JSON object")
    sync_id = validate_run_id(event.get("sync_id"))
    catalogue = settings.objects
    request = SyncRequest.from_payload(event.get("request"), catalogue.names())
    started = clock()
    document: dict[str, Any] = {
        "sync_id": sync_id,
        "request": request.to_payload(),
        "started_at": started.isoformat(timespec="seconds"),
        "resumes": request.resume_sync_id,
        "objects": [],
        "earlier": [],
    }
    if request.objects == DUE:
        if in_maintenance_window(started):
            logger.info("no scheduled sync inside Intacct's weekly maintenance window")
            return _started(settings, sync_id, NONE)
        last = {e.name: (found[0] if (found := state.last_sync(e.name)) else None) for e in catalogue}
        names = due_objects(catalogue, last, started)
        if not names:
            logger.info("no object is due")
            return _started(settings, sync_id, NONE)
    else:
        names = request.names(catalogue.names())
    try:
        intacct.check_credentials()
    except CredentialsError as exc:
        reason = f"{exc}; fill in the credentials secret {settings.credentials_secret_id}, then sync again"
        logger.warning("sync skipped: the credentials cannot be used yet", extra={"reason": reason})
        return _finish_early(settings, store, sync_id, document, SKIP, reason=reason[:1000])
    if request.resume_sync_id is not None:
        machine = str(event.get("state_machine") or "")
        rerun = _rerun(store, state, syncs(machine) if machine else None, sync_id, request.resume_sync_id)
        items, earlier = rerun
        document.update(objects=items, earlier=earlier)
        if not items:
            reason = f"nothing failed in sync {request.resume_sync_id}: every object had synced"
            return _finish_early(settings, store, sync_id, document, SKIP, reason=reason)
    refused = _sign_in(intacct, sync_id, remaining_ms)
    if refused is not None:
        error, cause = refused
        reason = (
            f"Intacct refused the credentials ({error}: {cause}); no object was exported: correct the "
            f"credentials secret {settings.credentials_secret_id}, then sync again"
        )
        logger.warning("sync failed: Intacct refused the credentials", extra={"reason": reason})
        document.update(objects=[], error={"error": error, "cause": cause[:1000]})
        return _finish_early(settings, store, sync_id, document, FAIL, reason=reason[:1000])
    if request.dry_run:
        plan = _plan(settings, store, state, intacct, sync_id, names, request.mode, remaining_ms)
        return _finish_early(settings, store, sync_id, document, PLAN, plan=plan)
    if request.resume_sync_id is None:
        entries = [entry for name in names if (entry := catalogue.get(name)) is not None]
        document["objects"] = [_item(sync_id, e.name, export_input(e, request.mode)) for e in entries]
    for item in document["objects"]:
        state.set_last_sync(item["object"], started, item["run_id"], sync_id)
    document["status"] = "running"
    store.put_json(layout.sync_key(sync_id), document)
    logger.info("sync started", extra={"sync_id": sync_id, "objects": len(document["objects"])})
    return _started(settings, sync_id, EXPORT, document["objects"])


def _sign_in(intacct: SyncIntacct, sync_id: str, remaining_ms: RemainingMs) -> tuple[str, str] | None:
    """Make sure a valid API session is cached before any export starts (``steps.session``: a login only
    when none is cached), billed to the sync. When Intacct refuses the login or the sender, (the error's
    name, its text): every export would be refused the same way."""
    try:
        session_ready(intacct, sync_id, None, remaining_ms)
    except (AuthenticationError, ControlError) as exc:
        return type(exc).__name__, " ".join(str(exc).split())
    return None


def _item(
    sync_id: str, name: str, export_request: dict[str, Any], run_id: str | None = None
) -> dict[str, Any]:
    """One object of the sync: its run, the export execution that runs it, and that execution's input."""
    execution = child_execution(sync_id, name)
    return {"object": name, "run_id": run_id or execution, "execution": execution, "input": export_request}


def _started(
    settings: Settings, sync_id: str, action: str, objects: list[dict[str, Any]] | None = None
) -> SyncStarted:
    return SyncStarted(
        sync_id=sync_id,
        action=action,
        max_concurrency=max(1, settings.sync_object_concurrency or settings.tenant_concurrency),
        follow_seconds=settings.sync_follow_seconds,
        objects=[SyncItem.from_payload(item) for item in objects or ()],  # the Map items
    )


def _finish_early(
    settings: Settings, store: Store, sync_id: str, document: dict[str, Any], action: str, **extra: Any
) -> SyncStarted:
    """A sync that exports nothing (a plan, a skip, refused credentials): its document says why; the finish
    step announces it."""
    document.update(status=EARLY_STATUS[action], **extra)
    store.put_json(layout.sync_key(sync_id), document)
    return _started(settings, sync_id, action)


def _rerun(
    store: Store, state: State, syncs: Executions | None, sync_id: str, earlier_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What to run again of sync ``earlier_id``: each object whose run did not succeed, resumed where its
    parts landed (``spec.RESUME_KEY``) when the run had started (with the transactions it had used, so this
    sync counts only its own), else started afresh as it was asked; and the objects already synced (by
    it, or by the syncs it reran)."""
    earlier = store.get_json(layout.sync_key(earlier_id))
    if earlier is None:
        raise InvalidExportRequest(f"there is no sync {earlier_id!r} to rerun")
    if (refusal := rerun_refusal(earlier_id, earlier)) is not None:
        raise InvalidExportRequest(refusal)
    if earlier.get("status") == "running" and syncs is not None:
        execution = syncs.describe(earlier_id)
        if execution is not None and execution.status == "RUNNING":
            raise InvalidExportRequest(
                f"sync {earlier_id!r} is still running; rerun what failed once it has ended"
            )
    synced = list(earlier.get("earlier") or [])
    items = []
    for item in earlier.get("objects") or []:
        name, run_id = str(item["object"]), str(item["run_id"])
        manifest = store.get_json(layout.manifest_key(name, run_id)) or {}
        if manifest.get("status") == "succeeded":
            synced.append({"object": name, "run_id": run_id, "sync_id": earlier_id})
        elif store.get_json(layout.run_state_key(run_id)) is not None:
            resumed = _item(sync_id, name, {RESUME_KEY: run_id}, run_id)
            items.append({**resumed, "transactions_before": state.run_progress(run_id)["transactions"]})
        else:
            items.append(_item(sync_id, name, dict(item["input"])))
    return items, synced


def _plan(
    settings: Settings,
    store: Store,
    state: State,
    intacct: Intacct,
    sync_id: str,
    names: list[str],
    mode: str | None,
    remaining_ms: RemainingMs,
) -> dict[str, Any]:
    """Count each object (one ``query`` of one record, billed to the sync) and say what a full sync of it
    would cost; an object Intacct refuses to count (no permission, unknown) says why."""
    planned = []
    for name in names:
        entry = settings.objects.get(name)
        if entry is None:
            continue
        sync_mode = export_input(entry, mode)["mode"]
        spec = settings.objects.apply(ExportSpec(object=name, page_size=settings.page_size))
        records, error = _count(store, intacct, sync_id, spec, remaining_ms)
        cached = field_cache_fresh(store.get_json(layout.field_cache_key(name, None)))
        watermark = state.watermark(name, None) if sync_mode == "incremental" else None
        planned.append(planned_object(name, sync_mode, watermark, records, settings.page_size, cached, error))
    used = state.run_progress(sync_id)["transactions"]
    month = state.month_transactions()
    return {
        "page_size": settings.page_size,
        "objects": planned,
        "totals": plan_totals(planned, used, month, settings.monthly_transaction_budget),
    }


def _count(
    store: Store, intacct: Intacct, sync_id: str, spec: ExportSpec, remaining_ms: RemainingMs
) -> tuple[int | None, str | None]:
    """The object's record count (or why Intacct would not give it), asked by the key field its export
    would use: the catalogue's, unless the object's ``lookup`` lacks it (``keyfields``: a user-defined
    dimension is keyed by ``id``). A fresh cached lookup settles the key before counting. Without one the
    catalogue's key is tried first, so counting a standard object costs one transaction; only when Intacct
    refuses that count is the lookup asked (one transaction; the plan writes no cache) and the count asked
    again by the key the object has."""
    cached = store.get_json(layout.field_cache_key(spec.object, spec.entity))
    fresh = field_cache_fresh(cached)
    try:
        if fresh:
            spec = _settled(spec, cached or {})
        return intacct.query(sync_id, spec.entity, count_query(spec), remaining_ms).total_count, None
    except (FunctionError, InvalidExportRequest) as exc:
        if fresh:
            return None, str(exc)
        refused = str(exc)
    try:
        settled = _settled(spec, field_cache(store, intacct, spec, sync_id, remaining_ms, keep=False))
    except (FunctionError, InvalidExportRequest):
        return None, refused  # the count's own refusal says more than the lookup's
    if settled.key_field == spec.key_field:
        return None, refused
    try:
        return intacct.query(sync_id, spec.entity, count_query(settled), remaining_ms).total_count, None
    except FunctionError as exc:
        return None, str(exc)


def _settled(spec: ExportSpec, cached: dict[str, Any]) -> ExportSpec:
    """The catalogue's spec with its key fields settled against a cached lookup, as the export settles
    them (InvalidExportRequest when the object has none of the key fields)."""
    return settle_key_fields(spec, list(cached.get("types") or {}), (), catalogued=True)[0]
