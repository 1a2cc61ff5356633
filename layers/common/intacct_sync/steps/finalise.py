"""Finalise export: reconcile what landed with Intacct's count, export deletes, update the object's tables
and write the manifest. The execution's end (``steps.ended``) settles the run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from intacct_sync.errors import ReconciliationError
from intacct_sync.export import layout
from intacct_sync.export.audit import AUDIT_KEY, AUDIT_OBJECT, REC_SUFFIX, TOMBSTONE_FIELDS, tombstone
from intacct_sync.export.current import view_names
from intacct_sync.export.manifest import Reconciliation, build_manifest, reconcile
from intacct_sync.export.pages import PageTask, keyset_records
from intacct_sync.export.parts import PartSummary, encode_part
from intacct_sync.export.payloads import ExportFinalised, FinaliseTask
from intacct_sync.export.plan import count_query
from intacct_sync.export.run import ExportRun
from intacct_sync.export.spec import ExportSpec
from intacct_sync.export.summaries import landed_parts
from intacct_sync.export.typed import tombstone_rows
from intacct_sync.export.window import TenantTime, watermark_scope
from intacct_sync.intacct import (
    RETRYABLE_BY_THE_WORKFLOW,
    FunctionError,
)
from intacct_sync.observability import logger, metrics
from intacct_sync.settings import Settings
from intacct_sync.steps import tables
from intacct_sync.steps.ports import Catalog, Intacct, RemainingMs, State, Store
from intacct_sync.steps.runs import load_run, now

# Failures a Step Functions Retry of this step may fix (the ASL's Retry names exactly these, plus Lambda's
# own service errors): those of any Intacct call, once the client has spent its own budget.
TRANSIENT_ERRORS = RETRYABLE_BY_THE_WORKFLOW
# OBJECTKEYs a warning about unmappable deletions shows (the manifest keeps them too).
UNMAPPED_EXAMPLES = 3


def finalise(
    settings: Settings,
    store: Store,
    state: State,
    intacct: Intacct,
    task: FinaliseTask,
    remaining_ms: RemainingMs,
    catalog: Catalog | None = None,
) -> ExportFinalised:
    """Reconcile the run, export deletes and write the manifest (naming the execution that wrote it).
    Raises ReconciliationError, after writing a failed manifest, when the records written do not match
    Intacct's count. A reconciled run's fields and types are merged into its object's tables
    (``catalog``: Glue; ``steps.tables.publish_tables``). The watermark, the announcement and the run's
    place in the current views follow when the execution has ended (``steps.ended``)."""
    run = load_run(store, task.run_id)
    run_id, spec, window, time = task.run_id, run.spec, run.window, run.time
    parts = landed_parts(store, spec.object, run_id)
    recorded_total = state.run_progress(run_id)["total_count"]
    total = recorded_total if recorded_total >= 0 else None
    rec = reconcile(parts, total, text_key=run.text_key)
    warnings: list[str] = []
    if not rec.ok and not rec.overlapping_parts:
        rec = _account_for_changes(settings, intacct, run, parts, total, remaining_ms, warnings)
    deletes = None
    if spec.mode == "incremental" and window and window.get("start_tenant_local"):
        try:
            deletes = _export_deletes(store, intacct, run, settings.page_size, remaining_ms)
        except FunctionError as exc:
            warnings.append(f"deletes were not exported: AUDITHISTORY is not readable ({exc})")
        if deletes and deletes["unmapped"]:
            warnings.append(_unmapped_warning(spec, deletes["unmapped"], deletes["unmapped_examples"]))
    if rec.ok:
        warnings += tables.publish_tables(store, catalog, run, parts)
    status = "succeeded" if rec.ok else "failed"
    error = None if rec.ok else {"error": "ReconciliationError", "cause": rec.problem()}
    watermark_text = _max_modified(parts, time)
    new_watermark = time.to_utc(watermark_text).isoformat() if watermark_text else None
    window_out = dict(window or {}, watermark_after=new_watermark if rec.ok else None)
    if run.filtered:  # the watermark this run advances is its filter's own, not the object's
        window_out["watermark_scope"] = watermark_scope(run.request_filter)
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
    manifest["execution"] = task.execution
    if run.filtered:
        manifest["request_filter"] = run.request_filter
    manifest["dates"] = time.to_dict()
    if run.details:
        manifest["details"] = run.details
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
        raise ReconciliationError(rec.problem())
    # The watermark, the last total, the current views and the Completed event wait for the execution to
    # end (steps/ended): nothing is announced, advanced or shown while the execution could still fail.
    logger.info("export finalised", extra=detail.to_payload())
    return detail


def _account_for_changes(
    settings: Settings,
    intacct: Intacct,
    run: ExportRun,
    parts: list[PartSummary],
    total: int | None,
    remaining_ms: RemainingMs,
    warnings: list[str],
) -> Reconciliation:
    """When the records written differ from Intacct's count at the start: count again (one transaction)
    and, if the count moved, bound what the changes during the run allow (from AUDITHISTORY). Key
    ranges export every record present throughout the run exactly once; records created or deleted (or,
    with a filter, modified) meanwhile may or may not be in it. Notes go to ``warnings``."""
    spec = run.spec
    now_total = _recount(intacct, run.run_id, spec, remaining_ms)
    recounted = reconcile(parts, now_total, text_key=run.text_key)
    if recounted.ok:
        warnings.append(
            f"the source changed during the export: {total} matching records at the start, "
            f"{now_total} at the end; every record present at the end was exported"
        )
        return recounted
    if total is None:
        return recounted
    changes = _changes_since(intacct, run, settings.page_size, remaining_ms)
    if changes is None:
        if now_total == total or settings.strict_reconciliation:
            return recounted
        # Nothing accounts for the changes; say so plainly rather than fail every busy night.
        warnings.append(
            f"the source changed during the export ({total} matching records at the start, {now_total} "
            f"at the end, {recounted.records_written} written) and AUDITHISTORY could not be read to "
            f"account for the changes, so the count is not verified; no key was written twice "
            f"(StrictReconciliation makes such runs fail)"
        )
        return Reconciliation(recounted.records_written, now_total, (), unverified=True)
    if not any(changes.values()):
        return recounted
    moved = changes["M"] if spec.filter else 0
    bounds = (total - changes["D"] - moved, total + changes["C"] + moved)
    bounded = reconcile(parts, now_total, bounds, run.text_key)
    if bounded.ok:
        warnings.append(
            f"the source changed during the export ({changes['C']} created, {changes['M']} modified, "
            f"{changes['D']} deleted): {bounded.records_written} records written, within the "
            f"{bounds[0]}..{bounds[1]} those changes allow, with no key exported twice"
        )
    return bounded


def _recount(intacct: Intacct, run_id: str, spec: ExportSpec, remaining_ms: RemainingMs) -> int | None:
    """Ask Intacct for the current number of matching records (one transaction, only on a mismatch)."""
    return intacct.query(run_id, spec.entity, count_query(spec), remaining_ms).total_count


def _audit_trail(
    intacct: Intacct,
    run: ExportRun,
    since_local: str,
    fields: tuple[str, ...],
    page_size: int,
    remaining_ms: RemainingMs,
    mode: str | None = None,
) -> Iterator[dict[str, Any]]:
    """AUDITHISTORY rows of the run's object since a tenant-local time (optionally one access mode), read
    by keyset pages on ID like any export, of the PageSize setting's size (its few fields never need a
    smaller page). Raises FunctionError when the audit trail is not readable."""
    conditions = [
        {"field": "OBJECTTYPE", "op": "equalto", "value": run.spec.object.lower()},
        {"field": "ACCESSTIME", "op": "greaterthanorequalto", "value": since_local},
    ]
    if mode:
        conditions.append({"field": "ACCESSMODE", "op": "equalto", "value": mode})
    task = PageTask(
        run_id=run.run_id,
        object=AUDIT_OBJECT,
        fields=(AUDIT_KEY, *fields),
        filter={"and": conditions},
        key_field=AUDIT_KEY,
        page_size=page_size,
        entity=run.spec.entity,
        show_private=run.spec.queries_private,
        time=run.time,
    )
    entity = run.spec.entity
    yield from keyset_records(
        task, lambda query, peek=None: intacct.query(run.run_id, entity, query, remaining_ms)
    )


def _changes_since(
    intacct: Intacct, run: ExportRun, page_size: int, remaining_ms: RemainingMs
) -> dict[str, int] | None:
    """Creates, modifications and deletes of the object recorded in AUDITHISTORY since the run started
    (usually one transaction); None when the audit trail is not readable."""
    if not run.started_at:
        return None
    # Start a minute early: audit timestamps have one-second granularity and clocks differ.
    since = run.time.filter_timestamp(datetime.fromisoformat(run.started_at) - timedelta(minutes=1))
    counts = {"C": 0, "M": 0, "D": 0}
    try:
        for row in _audit_trail(intacct, run, since, ("ACCESSMODE",), page_size, remaining_ms):
            mode = str(row.get("ACCESSMODE") or "")
            counts[mode] = counts.get(mode, 0) + 1
    except FunctionError as exc:
        logger.warning("audit trail not readable; cannot bound drift", extra={"errorno": exc.errorno})
        return None
    return counts


def _export_deletes(
    store: Store, intacct: Intacct, run: ExportRun, page_size: int, remaining_ms: RemainingMs
) -> dict[str, Any]:
    """Tombstones from AUDITHISTORY (access mode D) since the window start, beside the data: each names
    the deleted record by its key (an OBJECTKEY of "<RECORDNO>--REC", text RECORDNOs too) or by the
    object's id field (an OBJECTKEY that is its unique name; ``export.audit.tombstone_keys``); rows whose
    OBJECTKEY is neither are counted (with a few examples), never written."""
    assert run.window is not None
    spec = run.spec
    tombstones = []
    unmapped = 0
    examples: list[str] = []
    since = run.window["start_tenant_local"]
    for row in _audit_trail(intacct, run, since, TOMBSTONE_FIELDS, page_size, remaining_ms, "D"):
        found = tombstone(spec, run.time, row, run.text_key)
        if found is None:
            unmapped += 1
            if len(examples) < UNMAPPED_EXAMPLES:
                examples.append(str(row.get("OBJECTKEY") or ""))
        else:
            tombstones.append(found)
    if run.field_types:  # typed like the records they name, with the metadata columns
        tombstones = tombstone_rows(
            tombstones,
            run.types,
            (spec.key_field, spec.id_field or ""),
            run.time,
            run.run_id,
            datetime.now(UTC),
        )
    key = layout.deletes_key(spec.object, run.run_id)
    summary, body = encode_part(key, tombstones, spec.key_field)
    store.put_part(summary, body)
    return {
        "key": key,
        "records": len(tombstones),
        "sha256": summary.sha256,
        "unmapped": unmapped,
        "unmapped_examples": examples,
    }


def _unmapped_warning(spec: ExportSpec, count: int, examples: list[str]) -> str:
    """What a run says about deletions whose OBJECTKEY names no record it has: which, what that means for
    the current view, and the catalogue change that maps them when one can."""
    shown = ", ".join(repr(e[:60]) for e in examples)
    if spec.id_field and spec.id_field != spec.key_field:
        advice = "their OBJECTKEY is empty" + (
            ""
            if spec.key_field == "RECORDNO"
            else f", or a RECORDNO while {spec.object} is keyed by {spec.key_field}"
        )
    else:
        named = "a bare value of its key" if spec.id_field else f"<RECORDNO>{REC_SUFFIX}"
        advice = (
            f"they are not {named}; if they are values of one of {spec.object}'s fields (its unique "
            f"name, or {spec.key_field} when bare), set that field as id_field of {spec.object} in the "
            f"catalogue (ExportObjects)"
        )
    return (
        f"{count} deletions in AUDITHISTORY name no {spec.object} record by their OBJECTKEY "
        f"(e.g. {shown}), so they were not applied: those records stay in "
        f"{view_names(spec.object, spec.entity)[0]} until the next full run; {advice}"
    )


def _max_modified(parts: list[PartSummary], time: TenantTime) -> str | None:
    best = None
    for part in parts:
        sort = time.sort_key(part.max_modified) if part.max_modified else None
        if sort is not None and (best is None or sort > best[0]):
            best = (sort, part.max_modified)
    return best[1] if best else None
