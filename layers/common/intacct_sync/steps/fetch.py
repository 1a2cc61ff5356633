"""Fetch pages: the three page Tasks of an export, all run by FetchPageFunction.

- ``first_page``: segment 0's first page (offset 0, ordered by the key). Its ``totalcount`` sizes the
  export: the key space is cut into segments (``plan.segment_start_pages``) and the offsets where the
  other segments start are returned for the offset-read Map. This is the export's fan-out.
- ``segment_start``: one segment's first page, read by offset, only to learn where its keys start.
- ``segment_pages``: a segment's pages by keyset, ``max_pages`` a Task; the cursor for the next Task
  is returned until the segment is finished.

Every page lands as a part (``layout.part_key``); each Task also writes one summary object listing its
parts, so finalising need not HEAD them. Payloads carry the run id and cursors only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export import layout
from intacct_sync.export.budget import check_budget
from intacct_sync.export.pages import FetchResult, PageTask, fetch_pages
from intacct_sync.export.payloads import (
    Cursor,
    FirstPageFetched,
    Payload,
    RunRef,
    SegmentPagesFetched,
    SegmentPagesTask,
    SegmentStart,
    SegmentStartFetched,
    SegmentStartTask,
)
from intacct_sync.export.plan import page_count, segment_start_pages
from intacct_sync.export.run import ExportRun
from intacct_sync.export.summaries import LandedParts
from intacct_sync.intacct import RETRYABLE_BY_THE_WORKFLOW, FunctionError, refused_fields
from intacct_sync.observability import logger, metrics
from intacct_sync.settings import Settings
from intacct_sync.steps.ports import Intacct, RemainingMs, State, Store
from intacct_sync.steps.runs import load_run, save_run

# Failures a Step Functions Retry of this step may fix (the ASL's Retry names exactly these, plus Lambda's
# own service errors): those of any Intacct call, once the client has spent its own budget.
TRANSIENT_ERRORS = RETRYABLE_BY_THE_WORKFLOW


def handle(
    settings: Settings, store: Store, state: State, intacct: Intacct, event: Any, remaining_ms: RemainingMs
) -> Payload:
    """Run the page Task named by ``event["step"]``."""
    step = event.get("step") if isinstance(event, dict) else None
    if step == "first_page":
        return first_page(settings, store, state, intacct, RunRef.from_payload(event), remaining_ms)
    if step == "segment_start":
        return segment_start(store, intacct, SegmentStartTask.from_payload(event), remaining_ms)
    if step == "segment_pages":
        return segment_pages(store, intacct, SegmentPagesTask.from_payload(event), remaining_ms)
    raise InvalidExportRequest(
        f"unknown page step {step!r}; expected first_page, segment_start or segment_pages"
    )


def first_page(
    settings: Settings, store: Store, state: State, intacct: Intacct, ref: RunRef, remaining_ms: RemainingMs
) -> FirstPageFetched:
    """Fetch segment 0's first page, record Intacct's total, check the budget for the rest, and say where
    the other segments start (at most the tenant's concurrency, each at least two pages)."""
    run = load_run(store, ref.run_id)
    task = PageTask.of(ref.run_id, run.spec, Cursor(segment=0), run.time, run.types)
    try:
        result = _fetch(store, intacct, task, remaining_ms)
    except FunctionError as exc:
        refused = refused_fields(exc, run.spec.object)
        if not refused:
            raise
        run = _without_refused(store, run, refused)
        task = PageTask.of(ref.run_id, run.spec, Cursor(segment=0), run.time, run.types)
        result = _fetch(store, intacct, task, remaining_ms)  # once: a second refusal fails the run
    total = result.total_count or 0
    state.record_total(ref.run_id, total)
    if result.done:
        return FirstPageFetched(done=True, total_count=total, segment_starts=[])
    check_budget(
        settings.monthly_transaction_budget,
        state.month_transactions(),
        page_count(total, task.page_size) - 1,
        f"the rest of this export ({total} records)",
    )
    # A text key is read as one key range (plan.segment_count); so is one whose first page shows text
    # keys when lookup could not say.
    shown_text = any(k and not k.strip().isdigit() for k in (result.first_key, result.last_key))
    one_range = run.text_key or shown_text
    starts = segment_start_pages(total, task.page_size, 1 if one_range else settings.tenant_concurrency)
    return FirstPageFetched(
        done=False,
        total_count=total,
        segment_starts=[
            SegmentStart(segment=k, offset=start * task.page_size) for k, start in enumerate(starts) if k > 0
        ],
    )


def _without_refused(store: Store, run: ExportRun, refused: tuple[str, ...]) -> ExportRun:
    """The run without fields Intacct refuses (``lookup`` lists them, ``query`` does not take them):
    dropped from the run and the cached field list, and listed in both, when the fields came from
    ``lookup`` or the catalogue; a request that named them itself fails, naming them."""
    spec = run.spec
    named = [f for f in spec.fields if f.upper() in {r.upper() for r in refused}]
    essential = {spec.key_field, spec.modified_field} & set(named)
    if run.details.get("fields_from") == "request" or essential or not named:
        # Not among the fields selected: the filter names them (the request's or the catalogue's).
        what_to_do = "remove them from the export's fields" if named else "the export's filter names them"
        raise InvalidExportRequest(
            f"Intacct refuses these fields of {spec.object} for this company: {', '.join(refused)[:500]}; "
            f"{what_to_do}"
        )
    kept = tuple(f for f in spec.fields if f not in named)
    logger.warning("fields refused by Intacct were dropped", extra={"object": spec.object, "fields": named})
    changed = replace(
        run,
        spec=replace(spec, fields=kept),
        details={
            **run.details,
            "refused_fields": sorted(set(run.details.get("refused_fields", [])) | set(named)),
        },
    )
    save_run(store, changed)
    cache_key = layout.field_cache_key(spec.object, spec.entity)
    cached = store.get_json(cache_key)
    if cached and cached.get("fields"):
        cached["fields"] = [f for f in cached["fields"] if f not in named]
        cached["refused"] = sorted(set(cached.get("refused", [])) | set(named))
        store.put_json(cache_key, cached)
    return changed


def segment_start(
    store: Store, intacct: Intacct, item: SegmentStartTask, remaining_ms: RemainingMs
) -> SegmentStartFetched:
    """Fetch one segment's first page by offset; planning reads its keys from the part's summary."""
    run = load_run(store, item.run_id)
    cursor = Cursor(segment=item.segment, offset=item.offset, max_pages=1)
    task = PageTask.of(item.run_id, run.spec, cursor, run.time, run.types)
    result = _fetch(store, intacct, task, remaining_ms)
    return SegmentStartFetched(segment=item.segment, records=result.records)


def segment_pages(
    store: Store, intacct: Intacct, item: SegmentPagesTask, remaining_ms: RemainingMs
) -> SegmentPagesFetched:
    """Fetch a segment's next pages by keyset; a segment's first Task takes its cursor from the plan."""
    run = load_run(store, item.run_id)
    if item.cursor is not None:
        cursor = item.cursor
    else:
        planned = (store.get_json(layout.plan_key(item.run_id)) or {}).get("segments", {})
        if str(item.segment) not in planned:
            raise InvalidExportRequest(f"segment {item.segment} of run {item.run_id!r} was not planned")
        cursor = Cursor.from_payload(planned[str(item.segment)])
    if cursor.segment != item.segment:
        raise InvalidExportRequest(f"the cursor is for segment {cursor.segment}, not {item.segment}")
    task = PageTask.of(item.run_id, run.spec, cursor, run.time, run.types)
    result = _fetch(store, intacct, task, remaining_ms)
    following = replace(result.next_task.cursor(), tasks=cursor.tasks + 1, task_budget=cursor.task_budget)
    return SegmentPagesFetched(
        run_id=item.run_id,
        segment=item.segment,
        finished=result.done,
        cursor=following,
        pages=result.pages,
        records=result.records,
        paused=not result.done and 0 < following.task_budget <= following.tasks,
    )


def _fetch(store: Store, intacct: Intacct, task: PageTask, remaining_ms: RemainingMs) -> FetchResult:
    """Fetch the task's pages under one tenant slot, land them, and write the Task's summary object."""
    landed = LandedParts(store)  # lands the parts, and remembers them for the Task's summary object
    with intacct.page_calls(task.run_id, task.entity, remaining_ms) as calls:
        result = fetch_pages(
            task,
            lambda query, peek=None: calls.query(query, peek),
            landed,
            calls.progress,
            calls.remaining_ms,
            calls.reserve_ms,
        )
    # Named by the Task's first part, so a retried Task replaces its own.
    if landed.landed:
        segment, first_seq = layout.part_position(landed.landed[0].summary.key)
        store.put_summaries(
            layout.summaries_key(task.object, task.run_id, segment, first_seq), landed.document()
        )
    metrics.add_metric(name="PagesFetched", unit="Count", value=result.pages)
    metrics.add_metric(name="RecordsExported", unit="Count", value=result.records)
    return result
