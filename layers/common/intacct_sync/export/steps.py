"""The export's steps, one function per state-machine Task. Handlers parse, call one of these, return."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from intacct_sync.errors import BudgetExceededError, InvalidExportRequest, ReconciliationError
from intacct_sync.export import layout
from intacct_sync.export.manifest import build_manifest, reconcile
from intacct_sync.export.pages import fetch_pages, page_query
from intacct_sync.export.parts import PartSummary, decode_part, encode_part, key_order
from intacct_sync.export.plan import (
    Repair,
    SegmentHead,
    page_count,
    pages_per_task,
    plan_segments,
    segment_start_pages,
)
from intacct_sync.export.spec import NAME_PATTERN, RUN_ID_PATTERN, ExportSpec, PageTask, validate_run_id
from intacct_sync.export.summaries import LandedParts
from intacct_sync.export.window import (
    combine_filters,
    intacct_to_utc,
    modified_sort_key,
    utc_to_intacct,
    window_filter,
    window_start,
)
from intacct_sync.intacct import FunctionError, Query, filter_from_dict
from intacct_sync.observability import logger, metrics
from intacct_sync.runtime import Runtime


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def get_session(rt: Runtime, event: dict[str, Any]) -> dict[str, Any]:
    """Make sure a valid cached session exists; return its expiry only (never the session id).

    The export request is checked first, so a malformed one (e.g. a hostile entity, which would go into
    the login) fails with InvalidExportRequest before anything is sent to Intacct."""
    request = event.get("request")
    if not isinstance(request, dict):
        raise InvalidExportRequest("the export request must be a JSON object")
    if request.get("resume_run_id") is not None:
        validate_run_id(request["resume_run_id"])
        entity = None
    else:
        entity = ExportSpec.from_payload(request, rt.settings.page_size).entity
    run_id = event.get("run_id")
    before = rt.client.total_transactions
    session = rt.charged(run_id, entity, lambda s: s)
    return {
        "expires_at": session.expires_at.isoformat(),
        "refreshed": rt.client.total_transactions > before,
    }


def _resolve_fields(rt: Runtime, spec: ExportSpec, run_id: str) -> tuple[str, ...]:
    """The fields to select: as requested, else every field from `lookup` (cached in the bucket so
    discovery costs one transaction per object, not one per run). Key and modified fields always."""
    fields = spec.fields
    if not fields:
        cache_key = layout.field_cache_key(spec.object, spec.entity)
        cached = rt.store.get_json(cache_key)
        if cached and cached.get("fields"):
            fields = tuple(cached["fields"])
        else:
            infos = rt.charged(run_id, spec.entity, lambda s: rt.client.lookup(s, spec.object))
            fields = tuple(info.name for info in infos)
            rt.store.put_json(
                cache_key, {"object": spec.object, "fields": list(fields), "fetched_at": _now()}
            )
    extra = [f for f in (spec.key_field, spec.modified_field) if f not in fields]
    return tuple(extra) + tuple(fields)


def _with_catalogue_defaults(rt: Runtime, request: dict[str, Any], spec: ExportSpec) -> ExportSpec:
    """A catalogued object brings its key and modified fields (unless the request names them), its
    default fields (when the request names none) and its filter (ANDed with the request's)."""
    entry = rt.settings.objects.get(spec.object)
    if entry is None:
        return spec  # any Intacct object can be exported directly, with RECORDNO / WHENMODIFIED
    return replace(
        spec,
        key_field=spec.key_field if "key_field" in request else entry.key_field,
        modified_field=spec.modified_field if "modified_field" in request else entry.modified_field,
        fields=spec.fields or entry.fields,
        filter=combine_filters(entry.filter, spec.filter),
    )


def start_export(rt: Runtime, event: dict[str, Any]) -> dict[str, Any]:
    """Validate the request, work out fields and the incremental window, check the budget, and
    return the first page task."""
    run_id = validate_run_id(event.get("run_id"))
    if event.get("resume_run_id") is not None:
        return _resume(rt, validate_run_id(event["resume_run_id"]))
    request = {k: v for k, v in event.items() if k not in ("run_id", "idempotency_key")}
    spec = _with_catalogue_defaults(rt, request, ExportSpec.from_payload(request, rt.settings.page_size))
    settings = rt.settings
    window: dict[str, Any] | None = None
    effective_filter = spec.filter
    if spec.mode == "incremental":
        stored = rt.state.watermark(spec.object, spec.entity)
        since = spec.since or stored
        if since is None:
            window = {"since": None, "note": "no watermark yet: this run exports everything"}
        else:
            start = window_start(
                datetime.fromisoformat(since), timedelta(minutes=settings.incremental_lookback_minutes)
            )
            window = {
                "since": since,
                "lookback_minutes": settings.incremental_lookback_minutes,
                "start_utc": start.isoformat(),
                "start_tenant_local": utc_to_intacct(start, settings.tenant_timezone),
                "tenant_timezone": settings.tenant_timezone,
            }
            effective_filter = combine_filters(
                spec.filter, window_filter(spec.modified_field, start, settings.tenant_timezone)
            )
    if settings.monthly_transaction_budget:
        used = rt.state.month_transactions()
        estimate = max(1, page_count(rt.state.last_total(spec.object) or 0, spec.page_size))
        if used + estimate > settings.monthly_transaction_budget:
            raise BudgetExceededError(
                f"this export needs about {estimate} Intacct transactions but {used} of the monthly budget "
                f"of {settings.monthly_transaction_budget} are used; raise MonthlyTransactionBudget or wait"
            )
    fields = _resolve_fields(rt, spec, run_id)
    effective = replace(spec, fields=fields, filter=effective_filter)
    task = PageTask(
        run_id=run_id,
        object=spec.object,
        fields=fields,
        filter=effective_filter,
        key_field=spec.key_field,
        page_size=spec.page_size,
        entity=spec.entity,
        modified_field=spec.modified_field,
    )
    logger.info("export started", extra={"run_id": run_id, "object": spec.object, "mode": spec.mode})
    started = {
        "run_id": run_id,
        "started_at": _now(),
        "spec": effective.to_payload(),
        "window": window,
        "first_task": task.to_payload(),
        "resume": False,
        "plan": None,
        "first": None,
    }
    rt.store.put_json(layout.run_state_key(run_id), started)
    return started


def _landed_parts(rt: Runtime, object_name: str, run_id: str) -> list[PartSummary]:
    """Every part the run has landed, with its summary (from the page Tasks' summary objects where they
    match what is in the bucket, else from the part's own metadata)."""
    return rt.store.part_summaries(
        layout.run_prefix(object_name, run_id), layout.summaries_prefix(object_name, run_id)
    )


def _resume(rt: Runtime, run_id: str) -> dict[str, Any]:
    """Continue a failed run where it stopped: completed segments are skipped, the others continue
    after their last landed page, into the same prefix. Nothing already landed is fetched again."""
    saved = rt.store.get_json(layout.run_state_key(run_id))
    if saved is None:
        raise InvalidExportRequest(f"there is no export with run id {run_id!r} to resume")
    spec = saved["spec"]
    manifest = rt.store.get_json(layout.manifest_key(spec["object"], run_id))
    if manifest and manifest.get("status") == "succeeded":
        raise InvalidExportRequest(f"export {run_id!r} completed already; start a new export instead")
    parts = _landed_parts(rt, spec["object"], run_id)
    total = rt.state.run_progress(run_id)["total_count"]
    logger.info("resuming export", extra={"run_id": run_id, "parts_landed": len(parts)})
    if not parts or total < 0:
        return dict(saved, resume=False)  # nothing usable landed: start over (keys are deterministic)
    task = PageTask.from_payload(saved["first_task"])
    groups: dict[int, list[Any]] = {}
    for part in parts:
        groups.setdefault(layout.part_position(part.key)[0], []).append(part)
    heads = []
    for segment, group in sorted(groups.items()):
        group.sort(key=lambda p: layout.part_position(p.key)[1])
        first = group[0]
        heads.append(SegmentHead(segment, first.key, first.records, first.first_key, first.last_key))
    plans, repairs = plan_segments(sorted(heads, key=lambda h: key_order(h.first_key)))
    _apply_repairs(rt, repairs, task)
    per_task = pages_per_task(total, task.page_size)
    segments = []
    for p in plans:
        group = groups[p.segment]
        last = group[-1]
        done = p.done or last.segment_done
        after = max((q.last_key for q in group if q.records), key=key_order, default=p.after_key)
        next_task = replace(
            task,
            segment=p.segment,
            seq=layout.part_position(last.key)[1] + 1,
            after_key=after,
            upper_key=p.upper_key,
            offset=0,
            max_pages=per_task,
        )
        segments.append({"done": done, "task": next_task.to_payload()})
    return dict(saved, resume=True, plan={"segments": segments}, first={"total_count": total})


def _apply_repairs(rt: Runtime, repairs: list[Repair], task: PageTask) -> None:
    """Delete first pages that duplicate another segment; trim the tails that overlap the next one."""
    for repair in repairs:
        if repair.keep_below is None:
            rt.store.delete(repair.part_key)
            continue
        records = [
            r
            for r in decode_part(rt.store.get_bytes(repair.part_key))
            if key_order(str(r.get(task.key_field) or "")) < key_order(repair.keep_below)
        ]
        summary, body = encode_part(
            repair.part_key, records, task.key_field, modified_sort_key, task.modified_field
        )
        rt.store.put_part(replace(summary, segment_done=True), body)
        logger.warning("trimmed overlapping first page", extra={"part": repair.part_key})


def fetch_page(rt: Runtime, event: dict[str, Any], remaining_ms: Callable[[], int]) -> dict[str, Any]:
    """Fetch the task's page(s); return counts, keys and the continuation task — never records."""
    task = PageTask.from_payload(event)
    landed = LandedParts(rt.store)  # lands the parts, and remembers them for the Task's summary object
    # One tenant slot for the whole Task: its pages are sequential (one call in flight), so it need not
    # claim and release a slot, two DynamoDB writes, between pages; nor does a page wait for the ledger
    # writes of the previous one (all are made before the Task returns). New pages stop while the lease
    # still outlasts a slow page (pages.SAFETY_MS), so the slot is never held past its lease.
    with rt.ledger_in_background() as ledger, rt.semaphore.slot():
        lease_ends = time.monotonic() + rt.settings.lease_seconds
        result = fetch_pages(
            task,
            lambda query, peek=None: rt.charged_query(
                task.run_id, task.entity, query, slot_held=True, record=ledger.record, peek=peek
            ),
            landed,
            ledger,
            lambda: min(remaining_ms(), int((lease_ends - time.monotonic()) * 1000)),
        )
    # One object listing what this Task landed, so finalising reads it instead of HEADing each part;
    # named by the first part, so a retried Task replaces its own.
    if landed.landed:
        segment, first_seq = layout.part_position(landed.landed[0].summary.key)
        key = layout.summaries_key(task.object, task.run_id, segment, first_seq)
        rt.store.put_summaries(key, landed.document())
    metrics.add_metric(name="PagesFetched", unit="Count", value=result.pages)
    metrics.add_metric(name="RecordsExported", unit="Count", value=result.records)
    payload = result.to_payload()
    if task.segment == 0 and task.seq == 0 and task.after_key is None:
        rt.state.record_total(task.run_id, result.total_count or 0)
        payload.update(_fan_out(rt, task, result.total_count or 0, payload))
    return payload


def _fan_out(rt: Runtime, first: PageTask, total: int, first_result: dict[str, Any]) -> dict[str, Any]:
    """After the first page: where the other segments start (offset reads, done in parallel)."""
    starts = segment_start_pages(total, first.page_size, rt.settings.tenant_concurrency)
    per_task = pages_per_task(total, first.page_size)
    budget = rt.settings.monthly_transaction_budget
    if budget and not first_result["done"]:
        used = rt.state.month_transactions()
        needed = page_count(total, first.page_size) - 1
        if used + needed > budget:
            raise BudgetExceededError(
                f"{total} records need {needed} more Intacct transactions, but {used} of the monthly budget "
                f"of {budget} are used; raise MonthlyTransactionBudget or narrow the export"
            )
    boundaries = [
        replace(first, segment=k, seq=0, offset=start * first.page_size, max_pages=1).to_payload()
        for k, start in enumerate(starts)
        if k > 0
    ]
    return {"boundaries": boundaries, "pages_per_task": per_task, "segments_planned": len(starts)}


def plan(rt: Runtime, event: dict[str, Any]) -> dict[str, Any]:
    """Turn the first page and the segment first pages into keyset segments (repairing overlaps)."""
    first = event["first"]
    task = PageTask.from_payload(first["task"])
    heads = [
        SegmentHead(
            0,
            first.get("first_part"),
            first["records"],
            first["first_key"],
            first["last_key"],
            first.get("num_remaining"),
        )
    ]
    for b in event.get("boundaries", []):
        heads.append(
            SegmentHead(
                b["segment"],
                b.get("first_part"),
                b["records"],
                b["first_key"],
                b["last_key"],
                b.get("num_remaining"),
            )
        )
    plans, repairs = plan_segments(heads)
    _apply_repairs(rt, repairs, task)
    per_task = int(event.get("pages_per_task", 1))
    segments = [
        {
            "done": p.done,
            "task": replace(
                task,
                segment=p.segment,
                seq=1,
                after_key=p.after_key,
                upper_key=p.upper_key,
                offset=0,
                max_pages=per_task,
                expected_remaining=p.expected_remaining,
            ).to_payload(),
        }
        for p in plans
    ]
    return {"segments": segments}


def _recount(rt: Runtime, spec: dict[str, Any], run_id: str) -> int | None:
    """Ask Intacct for the current number of matching records (one transaction, only on a mismatch)."""
    query = Query(
        object=spec["object"],
        fields=(spec["key_field"],),
        filter=filter_from_dict(spec["filter"]) if spec.get("filter") else None,
        page_size=1,
    )
    page = rt.charged_query(run_id, spec.get("entity"), query)
    return page.total_count


def _audit_trail(
    rt: Runtime,
    spec: dict[str, Any],
    run_id: str,
    since_local: str,
    fields: tuple[str, ...],
    mode: str | None = None,
) -> Iterator[dict[str, Any]]:
    """AUDITHISTORY rows of the export's object since a tenant-local time (optionally one access mode),
    read by keyset pages like any export. Raises FunctionError when the audit trail is not readable."""
    conditions = [
        {"field": "OBJECTTYPE", "op": "equalto", "value": spec["object"].lower()},
        {"field": "ACCESSTIME", "op": "greaterthanorequalto", "value": since_local},
    ]
    if mode:
        conditions.append({"field": "ACCESSMODE", "op": "equalto", "value": mode})
    task = PageTask(
        run_id=run_id,
        object="AUDITHISTORY",
        fields=("RECORDNO", *fields),
        filter={"and": conditions},
        key_field="RECORDNO",
        page_size=2000,
        entity=spec.get("entity"),
    )
    while True:
        page = rt.charged_query(run_id, task.entity, page_query(task))
        yield from page.records
        if not page.records or page.num_remaining == 0:
            return
        task = replace(task, after_key=str(page.records[-1].get("RECORDNO")))


def _changes_since(
    rt: Runtime, spec: dict[str, Any], run_id: str, started_at: str | None
) -> dict[str, int] | None:
    """Creates, modifications and deletes of the object recorded in AUDITHISTORY since the run started
    (usually one transaction); None when the audit trail is not readable."""
    if not started_at:
        return None
    # Start a minute early: audit timestamps have one-second granularity and clocks differ.
    since = utc_to_intacct(
        datetime.fromisoformat(started_at) - timedelta(minutes=1), rt.settings.tenant_timezone
    )
    counts = {"C": 0, "M": 0, "D": 0}
    try:
        for row in _audit_trail(rt, spec, run_id, since, ("ACCESSMODE",)):
            mode = str(row.get("ACCESSMODE") or "")
            counts[mode] = counts.get(mode, 0) + 1
    except FunctionError as exc:
        logger.warning("audit trail not readable; cannot bound drift", extra={"errorno": exc.errorno})
        return None
    return counts


def _export_deletes(rt: Runtime, spec: dict[str, Any], run_id: str, window: dict[str, Any]) -> dict[str, Any]:
    """Tombstones from AUDITHISTORY (access mode D) since the window start, beside the data."""
    tombstones = []
    rows = _audit_trail(
        rt, spec, run_id, window["start_tenant_local"], ("OBJECTKEY", "ACCESSTIME", "USERID"), "D"
    )
    for r in rows:
        accessed = str(r.get("ACCESSTIME") or "")
        tombstones.append(
            {
                spec["key_field"]: r.get("OBJECTKEY"),
                "deleted_at": intacct_to_utc(accessed, rt.settings.tenant_timezone).isoformat()
                if accessed
                else None,
                "deleted_at_tenant_local": accessed or None,
                "deleted_by": r.get("USERID"),
                "audit_recordno": r.get("RECORDNO"),
            }
        )
    key = layout.deletes_key(spec["object"], run_id)
    summary, body = encode_part(key, tombstones, spec["key_field"])
    rt.store.put_part(summary, body)
    return {"key": key, "records": len(tombstones), "sha256": summary.sha256}


def _max_modified(parts: list[Any]) -> str | None:
    best = None
    for part in parts:
        sort = modified_sort_key(part.max_modified) if part.max_modified else None
        if sort is not None and (best is None or sort > best[0]):
            best = (sort, part.max_modified)
    return best[1] if best else None


def finalise(rt: Runtime, event: dict[str, Any]) -> dict[str, Any]:
    """Reconcile the run, export deletes, write the manifest, then advance the watermark and announce it."""
    run_id = validate_run_id(event["run_id"])
    spec = event["spec"]
    window = event.get("window")
    parts = _landed_parts(rt, spec["object"], run_id)
    total = event.get("total_count")
    rec = reconcile(parts, total)
    warnings: list[str] = []
    if not rec.ok and not rec.overlapping_parts:
        now_total = _recount(rt, spec, run_id)
        recounted = reconcile(parts, now_total)
        if recounted.ok:
            warnings.append(
                f"the source changed during the export: {total} matching records at the start, "
                f"{now_total} at the end; every record present at the end was exported"
            )
        elif (
            total is not None
            and (changes := _changes_since(rt, spec, run_id, event.get("started_at")))
            and any(changes.values())
        ):
            # Keyset ranges export every record present throughout the run exactly once; records
            # created or deleted (or, with a filter, modified) meanwhile may or may not be in it.
            moved = changes["M"] if spec.get("filter") else 0
            bounds = (total - changes["D"] - moved, total + changes["C"] + moved)
            recounted = reconcile(parts, now_total, bounds)
            if recounted.ok:
                warnings.append(
                    f"the source changed during the export ({changes['C']} created, {changes['M']} modified, "
                    f"{changes['D']} deleted): {recounted.records_written} records written, within the "
                    f"{bounds[0]}..{bounds[1]} those changes allow, with no key exported twice"
                )
        rec = recounted
    deletes = None
    if spec.get("mode") == "incremental" and window and window.get("start_tenant_local"):
        try:
            deletes = _export_deletes(rt, spec, run_id, window)
        except FunctionError as exc:
            warnings.append(f"deletes were not exported: AUDITHISTORY is not readable ({exc})")
    status = "succeeded" if rec.ok else "failed"
    error = None if rec.ok else {"error": "ReconciliationError", "cause": rec.problem()}
    watermark_text = _max_modified(parts)
    new_watermark = (
        intacct_to_utc(watermark_text, rt.settings.tenant_timezone).isoformat() if watermark_text else None
    )
    window_out = dict(window or {}, watermark_after=new_watermark if rec.ok else None)
    transactions = rt.state.run_progress(run_id)["transactions"]
    manifest = build_manifest(
        spec=spec,
        run_id=run_id,
        status=status,
        started_at=event.get("started_at", ""),
        finished_at=_now(),
        parts=parts,
        reconciliation=rec,
        total_count_first_page=total,
        transactions=transactions,
        window=window_out,
        deletes=deletes,
        warnings=warnings,
        error=error,
    )
    manifest_key = layout.manifest_key(spec["object"], run_id)
    rt.store.put_json(manifest_key, manifest)
    detail = {
        "run_id": run_id,
        "object": spec["object"],
        "entity": spec.get("entity"),
        "status": status,
        "records": rec.records_written,
        "pages": manifest["pages"],
        "transactions": transactions,
        "manifest_key": manifest_key,
        "bucket": rt.store.bucket,
    }
    metrics.add_metric(name="IntacctTransactions", unit="Count", value=transactions)
    if not rec.ok:
        rt.events.publish("Intacct Export Failed", dict(detail, error=rec.problem()))
        raise ReconciliationError(rec.problem())
    # Only now, with the manifest written, may the next incremental run start from here.
    if new_watermark:
        rt.state.set_watermark(spec["object"], spec.get("entity"), new_watermark, run_id)
    if spec.get("mode") == "full" and not spec.get("filter"):
        rt.state.set_last_total(spec["object"], rec.records_written)
    rt.events.publish("Intacct Export Completed", detail)
    logger.info("export completed", extra=detail)
    return detail


def record_failure(rt: Runtime, event: dict[str, Any]) -> dict[str, Any]:
    """A step failed for good: write a failed manifest (never one claiming success) and announce it.
    The parts already landed stay, so the run can be resumed with {"resume_run_id": <run id>}."""
    raw_request = event.get("request")
    request: dict[str, Any] = raw_request if isinstance(raw_request, dict) else {}
    resume = request.get("resume_run_id")
    # A malformed resume id may be the very failure being recorded: record it under this execution.
    run_id = validate_run_id(
        resume if isinstance(resume, str) and RUN_ID_PATTERN.match(resume) else event.get("run_id")
    )
    error = event.get("error") or {}
    cause = str(error.get("Cause", ""))
    try:  # Lambda errors arrive as a JSON string; keep just the type and message
        parsed = json.loads(cause)
        cause = f"{parsed.get('errorType', '')}: {parsed.get('errorMessage', '')}".strip(": ")
    except (json.JSONDecodeError, AttributeError):
        pass
    problem = {"error": str(error.get("Error", "Unknown")), "cause": cause[:2000]}
    saved = rt.store.get_json(layout.run_state_key(run_id))
    spec: dict[str, Any] = saved["spec"] if saved else {"object": request.get("object")}
    detail: dict[str, Any] = {"run_id": run_id, "object": spec.get("object"), "status": "failed", **problem}
    object_name = spec.get("object")
    if isinstance(object_name, str) and NAME_PATTERN.match(object_name):
        parts = _landed_parts(rt, object_name, run_id)
        manifest = build_manifest(
            spec=spec,
            run_id=run_id,
            status="failed",
            started_at=saved.get("started_at", "") if saved else "",
            finished_at=_now(),
            parts=parts,
            reconciliation=reconcile(parts, None),
            total_count_first_page=None,
            transactions=rt.state.run_progress(run_id)["transactions"],
            error=problem,
        )
        key = layout.manifest_key(object_name, run_id)
        existing = rt.store.get_json(key)
        if existing is not None and existing.get("status") == "succeeded":
            # e.g. a resume request for a run that had completed: the request failed, not that run, whose
            # reconciled manifest (and the watermark it advanced) must stay as they are.
            logger.warning("kept the run's succeeded manifest", extra={"run_id": run_id, **problem})
        else:
            rt.store.put_json(key, manifest)
            detail.update(manifest_key=key, bucket=rt.store.bucket, records=manifest["records_written"])
    rt.events.publish("Intacct Export Failed", detail)
    logger.error("export failed", extra=detail)
    return detail
