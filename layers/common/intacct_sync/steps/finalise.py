"""Finalise export: reconcile what landed with Intacct's count, export deletes, write the manifest, then
advance the watermark and announce the run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from intacct_sync.errors import ReconciliationError
from intacct_sync.export import events, layout
from intacct_sync.export.manifest import build_manifest, reconcile
from intacct_sync.export.pages import PageTask, keyset_records
from intacct_sync.export.parts import PartSummary, encode_part
from intacct_sync.export.payloads import ExportFinalised, RunRef
from intacct_sync.export.run import ExportRun
from intacct_sync.export.spec import ExportSpec
from intacct_sync.export.summaries import landed_parts
from intacct_sync.export.window import intacct_to_utc, modified_sort_key, utc_to_intacct
from intacct_sync.intacct import (
    FunctionError,
    PossiblyStillRunningError,
    Query,
    SessionExpiredError,
    ThrottledError,
    filter_from_dict,
)
from intacct_sync.observability import logger, metrics
from intacct_sync.settings import Settings
from intacct_sync.steps.ports import Events, Intacct, RemainingMs, State, Store
from intacct_sync.steps.runs import load_run, now

# Failures a Step Functions Retry of this step may fix (the ASL's Retry names exactly these, plus Lambda's
# own service errors). Failures the Intacct client gave up on after its own budget are not among them:
# retries never multiply across layers.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    TimeoutError,
    SessionExpiredError,
    PossiblyStillRunningError,
    ThrottledError,
)

AUDIT_OBJECT = "AUDITHISTORY"
AUDIT_PAGE_SIZE = 2000


def finalise(
    settings: Settings,
    store: Store,
    state: State,
    intacct: Intacct,
    events_port: Events,
    ref: RunRef,
    remaining_ms: RemainingMs,
) -> ExportFinalised:
    """Reconcile the run, export deletes, write the manifest, then advance the watermark and announce it.
    Raises ReconciliationError (after writing a failed manifest and announcing it) when the records
    written do not match Intacct's count."""
    run = load_run(store, ref.run_id)
    run_id, spec, window = ref.run_id, run.spec, run.window
    timezone = settings.tenant_timezone
    parts = landed_parts(store, spec.object, run_id)
    recorded_total = state.run_progress(run_id)["total_count"]
    total = recorded_total if recorded_total >= 0 else None
    rec = reconcile(parts, total)
    warnings: list[str] = []
    if not rec.ok and not rec.overlapping_parts:
        now_total = _recount(intacct, run_id, spec, remaining_ms)
        recounted = reconcile(parts, now_total)
        if recounted.ok:
            warnings.append(
                f"the source changed during the export: {total} matching records at the start, "
                f"{now_total} at the end; every record present at the end was exported"
            )
        elif (
            total is not None
            and (changes := _changes_since(intacct, run, timezone, remaining_ms))
            and any(changes.values())
        ):
            # Keyset ranges export every record present throughout the run exactly once; records
            # created or deleted (or, with a filter, modified) meanwhile may or may not be in it.
            moved = changes["M"] if spec.filter else 0
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
    if spec.mode == "incremental" and window and window.get("start_tenant_local"):
        try:
            deletes = _export_deletes(store, intacct, run, timezone, remaining_ms)
        except FunctionError as exc:
            warnings.append(f"deletes were not exported: AUDITHISTORY is not readable ({exc})")
    status = "succeeded" if rec.ok else "failed"
    error = None if rec.ok else {"error": "ReconciliationError", "cause": rec.problem()}
    watermark_text = _max_modified(parts)
    new_watermark = intacct_to_utc(watermark_text, timezone).isoformat() if watermark_text else None
    window_out = dict(window or {}, watermark_after=new_watermark if rec.ok else None)
    transactions = state.run_progress(run_id)["transactions"]
    manifest = build_manifest(
        spec=spec.to_payload(),
        run_id=run_id,
        status=status,
        started_at=run.started_at,
        finished_at=now(),
        parts=parts,
        reconciliation=rec,
        total_count_first_page=total,
        transactions=transactions,
        window=window_out,
        deletes=deletes,
        warnings=warnings,
        error=error,
    )
    manifest_key = layout.manifest_key(spec.object, run_id)
    store.put_json(manifest_key, manifest)
    detail = ExportFinalised(
        run_id=run_id,
        object=spec.object,
        entity=spec.entity,
        status=status,
        records=rec.records_written,
        pages=manifest["pages"],
        transactions=transactions,
        manifest_key=manifest_key,
        bucket=store.bucket,
    )
    metrics.add_metric(name="IntacctTransactions", unit="Count", value=transactions)
    if not rec.ok:
        events_port.publish(events.FAILED, dict(detail.to_payload(), error=rec.problem()))
        raise ReconciliationError(rec.problem())
    # Only now, with the manifest written, may the next incremental run start from here.
    if new_watermark:
        state.set_watermark(spec.object, spec.entity, new_watermark, run_id)
    if spec.mode == "full" and not spec.filter:
        state.set_last_total(spec.object, rec.records_written)
    events_port.publish(events.COMPLETED, detail.to_payload())
    logger.info("export completed", extra=detail.to_payload())
    return detail


def _recount(intacct: Intacct, run_id: str, spec: ExportSpec, remaining_ms: RemainingMs) -> int | None:
    """Ask Intacct for the current number of matching records (one transaction, only on a mismatch)."""
    query = Query(
        object=spec.object,
        fields=(spec.key_field,),
        filter=filter_from_dict(spec.filter) if spec.filter else None,
        page_size=1,
    )
    return intacct.query(run_id, spec.entity, query, remaining_ms).total_count


def _audit_trail(
    intacct: Intacct,
    run: ExportRun,
    since_local: str,
    fields: tuple[str, ...],
    remaining_ms: RemainingMs,
    mode: str | None = None,
) -> Iterator[dict[str, Any]]:
    """AUDITHISTORY rows of the run's object since a tenant-local time (optionally one access mode), read
    by keyset pages like any export. Raises FunctionError when the audit trail is not readable."""
    conditions = [
        {"field": "OBJECTTYPE", "op": "equalto", "value": run.spec.object.lower()},
        {"field": "ACCESSTIME", "op": "greaterthanorequalto", "value": since_local},
    ]
    if mode:
        conditions.append({"field": "ACCESSMODE", "op": "equalto", "value": mode})
    task = PageTask(
        run_id=run.run_id,
        object=AUDIT_OBJECT,
        fields=("RECORDNO", *fields),
        filter={"and": conditions},
        key_field="RECORDNO",
        page_size=AUDIT_PAGE_SIZE,
        entity=run.spec.entity,
    )
    entity = run.spec.entity
    yield from keyset_records(
        task, lambda query, peek=None: intacct.query(run.run_id, entity, query, remaining_ms)
    )


def _changes_since(
    intacct: Intacct, run: ExportRun, timezone: str, remaining_ms: RemainingMs
) -> dict[str, int] | None:
    """Creates, modifications and deletes of the object recorded in AUDITHISTORY since the run started
    (usually one transaction); None when the audit trail is not readable."""
    if not run.started_at:
        return None
    # Start a minute early: audit timestamps have one-second granularity and clocks differ.
    since = utc_to_intacct(datetime.fromisoformat(run.started_at) - timedelta(minutes=1), timezone)
    counts = {"C": 0, "M": 0, "D": 0}
    try:
        for row in _audit_trail(intacct, run, since, ("ACCESSMODE",), remaining_ms):
            mode = str(row.get("ACCESSMODE") or "")
            counts[mode] = counts.get(mode, 0) + 1
    except FunctionError as exc:
        logger.warning("audit trail not readable; cannot bound drift", extra={"errorno": exc.errorno})
        return None
    return counts


def _export_deletes(
    store: Store, intacct: Intacct, run: ExportRun, timezone: str, remaining_ms: RemainingMs
) -> dict[str, Any]:
    """Tombstones from AUDITHISTORY (access mode D) since the window start, beside the data."""
    assert run.window is not None
    spec = run.spec
    tombstones = []
    fields = ("OBJECTKEY", "ACCESSTIME", "USERID")
    rows = _audit_trail(intacct, run, run.window["start_tenant_local"], fields, remaining_ms, "D")
    for r in rows:
        accessed = str(r.get("ACCESSTIME") or "")
        tombstones.append(
            {
                spec.key_field: r.get("OBJECTKEY"),
                "deleted_at": intacct_to_utc(accessed, timezone).isoformat() if accessed else None,
                "deleted_at_tenant_local": accessed or None,
                "deleted_by": r.get("USERID"),
                "audit_recordno": r.get("RECORDNO"),
            }
        )
    key = layout.deletes_key(spec.object, run.run_id)
    summary, body = encode_part(key, tombstones, spec.key_field)
    store.put_part(summary, body)
    return {"key": key, "records": len(tombstones), "sha256": summary.sha256}


def _max_modified(parts: list[PartSummary]) -> str | None:
    best = None
    for part in parts:
        sort = modified_sort_key(part.max_modified) if part.max_modified else None
        if sort is not None and (best is None or sort > best[0]):
            best = (sort, part.max_modified)
    return best[1] if best else None
