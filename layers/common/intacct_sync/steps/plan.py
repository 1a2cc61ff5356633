"""Plan segments: turn the landed first pages (or, when resuming, everything a run landed) into
non-overlapping keyset ranges, repair first pages that overlap, and store where each segment continues."""

from __future__ import annotations

from dataclasses import replace

from intacct_sync.export import layout
from intacct_sync.export.parts import decode_part, encode_part, key_order
from intacct_sync.export.payloads import RunRef, SegmentsPlanned
from intacct_sync.export.plan import HISTORY_EVENT_BUDGET, Repair, pages_per_task, plan_run
from intacct_sync.export.run import ExportRun
from intacct_sync.export.summaries import landed_parts
from intacct_sync.observability import logger
from intacct_sync.steps.ports import State, Store
from intacct_sync.steps.runs import load_run

# Failures a Step Functions Retry of this step may fix (the ASL's Retry names exactly these, plus Lambda's
# own service errors). Failures the Intacct client gave up on after its own budget are not among them:
# retries never multiply across layers.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = ()


def plan(
    store: Store, state: State, ref: RunRef, history_budget: int = HISTORY_EVENT_BUDGET
) -> SegmentsPlanned:
    """Plan the run's segments (``export.plan.plan_run``) and store their cursors (``layout.plan_key``);
    return the segments that still have pages to fetch."""
    run = load_run(store, ref.run_id)
    total = max(0, state.run_progress(ref.run_id)["total_count"])
    parts = landed_parts(store, run.spec.object, ref.run_id)
    planned = plan_run(parts, pages_per_task(total, run.spec.page_size), history_budget, run.text_key)
    apply_repairs(store, planned.repairs, run)
    store.put_json(
        layout.plan_key(ref.run_id),
        {"run_id": ref.run_id, "segments": {str(k): c.to_payload() for k, c in planned.cursors.items()}},
    )
    return SegmentsPlanned(segments=sorted(planned.cursors))


def apply_repairs(store: Store, repairs: tuple[Repair, ...], run: ExportRun) -> None:
    """Delete first pages that duplicate another segment; trim the tails that overlap the next one."""
    key_field, text = run.spec.key_field, run.text_key
    for repair in repairs:
        if repair.keep_below is None:
            store.delete(repair.part_key)
            continue
        # A typed part's records hold UTC instants, not Intacct's text: its summary keeps the original's
        # latest change (the trimmed records are in the next segment's page, so the run's is the same).
        original = store.head_part(repair.part_key) if run.field_types else None
        records = [
            r
            for r in decode_part(store.get_bytes(repair.part_key))
            if key_order(str(r.get(key_field) or ""), text) < key_order(repair.keep_below, text)
        ]
        summary, body = encode_part(
            repair.part_key,
            records,
            key_field,
            run.time.sort_key,
            run.spec.modified_field,
            created_field=run.spec.created_field,
        )
        if original is not None:
            summary = replace(summary, max_modified=original.max_modified, widened=original.widened)
        store.put_part(replace(summary, segment_done=True), body)
        logger.warning("trimmed overlapping first page", extra={"part": repair.part_key})
