"""How an export is split into segments that run in parallel without offset drift.

The first page (offset 0, ordered by the key) gives totalcount. With P pages and tenant concurrency C,
the key space is cut into S = min(C, P // 2) segments of at least two pages each: segment k's first
page is read by offset (one round, in parallel) and its first key becomes the boundary b_k. Each
segment then reads keys in (last key of its first page, b_{k+1}) by keyset paging. Offsets only choose
where boundaries fall; completeness comes from the key ranges, which cover every key exactly once
whatever is inserted or deleted meanwhile. Without drift this costs exactly ceil(N / page size) calls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from intacct_sync.export.layout import part_position
from intacct_sync.export.parts import PartSummary, key_order
from intacct_sync.export.payloads import Cursor
from intacct_sync.export.spec import ExportSpec
from intacct_sync.intacct import Query, answered_name, filter_from_dict

# Keep the Step Functions history well under its 25,000-event cap: each page Task costs ~7 events.
MAX_PAGE_TASKS = 2000
# What an execution's history is given (AWS quota: 25,000 events) and what its parts cost in events,
# with room for retries: each Task and its Choice take 7 (3 more a retry), the fixed states about 60,
# each segment about 15 (its offset read in the fan-out Map, its iteration of the segments Map).
HISTORY_EVENT_BUDGET = 20_000
EVENTS_FIXED, EVENTS_PER_SEGMENT, EVENTS_PER_TASK = 60, 15, 10
# Pages one segment Task fetches at most. Within a Task the next page is requested while the previous
# one is encoded and landed (pages.py), and every Task costs a Lambda invocation and state transitions;
# a segment's pages are sequential whatever the Task size, so this does not reduce parallelism.
PAGES_PER_TASK = 25
# A page is bounded by its bytes as well as its records: the page handler holds two pages at once (one
# landing, the next in flight), so its memory follows a page's bytes, and a selection of very many or
# very long names makes a 2000-record page too big for its MemorySize (benchmarks/RESULTS.md, "Very
# wide objects"). A record's XML is estimated from the selected names: each field's element twice with
# its brackets, and VALUE_BYTES for its value. Every recorded object's full field list fits 2000 records.
PAGE_BYTES_BUDGET = 28_000_000
VALUE_BYTES = 10


def count_query(spec: ExportSpec) -> Query:
    """One ``query`` of a single record that answers how many records match the spec (its ``totalcount``):
    one transaction, whatever the count."""
    return Query(
        object=spec.object,
        fields=(spec.key_field,),
        filter=filter_from_dict(spec.filter) if spec.filter else None,
        page_size=1,
        show_private=spec.queries_private,
    )


def page_count(total: int, page_size: int) -> int:
    return math.ceil(total / page_size) if total > 0 else 0


def segment_count(total: int, page_size: int, concurrency: int) -> int:
    """How many segments: every segment but one gets at least two pages, so none wastes a call.

    An export keyed by a TEXT field (GLDETAIL's RECORDNO) is given a concurrency of one (``steps.fetch``):
    segment boundaries would be compared here, in code-point order, and how Intacct collates TEXT is not
    documented; one key range relies only on Intacct's own ``greaterthan`` and ``orderby`` agreeing, as
    Estuary's source-sage-intacct relies on them paging AUDITHISTORY by its TEXT ``ID``."""
    pages = page_count(total, page_size)
    return max(1, min(concurrency, pages // 2))


def segment_start_pages(total: int, page_size: int, concurrency: int) -> list[int]:
    """The first page index of each segment (segment 0 starts at page 0)."""
    pages = page_count(total, page_size)
    segments = segment_count(total, page_size, concurrency)
    return [(k * pages) // segments for k in range(segments)]


def record_bytes(fields: Sequence[str]) -> int:
    """A record's estimated XML bytes: ``<NAME>value</NAME>`` for every field, VALUE_BYTES a value."""
    return sum(2 * len(answered_name(field)) + 5 + VALUE_BYTES for field in fields)


def fitted_page_size(page_size: int, fields: Sequence[str]) -> int:
    """``page_size``, or as many records as fit PAGE_BYTES_BUDGET when fewer (a very wide selection)."""
    return max(1, min(page_size, PAGE_BYTES_BUDGET // max(1, record_bytes(fields))))


def pages_per_task(total: int, page_size: int) -> int:
    """Pages one Lambda invocation fetches: PAGES_PER_TASK, more when needed so that no export takes
    more than MAX_PAGE_TASKS tasks."""
    return max(PAGES_PER_TASK, math.ceil(page_count(total, page_size) / MAX_PAGE_TASKS))


@dataclass(frozen=True)
class SegmentHead:
    """A segment's first page as fetched: its part and key range."""

    segment: int
    part_key: str | None
    count: int
    first_key: str
    last_key: str
    num_remaining: int | None = None  # records after this page in the whole (unbounded) query


@dataclass(frozen=True)
class SegmentPlan:
    """Where a segment continues: keys strictly after `after_key` and strictly before `upper_key`."""

    segment: int
    after_key: str
    upper_key: str | None
    done: bool
    # Records expected in the range from the offset reads (a hint for the return format, see pages.py).
    expected_remaining: int | None = None


@dataclass(frozen=True)
class Repair:
    """A first page that overlaps the next segment (records moved between the offset reads)."""

    part_key: str
    keep_below: str | None  # keep only keys < this; None = delete the part entirely


def plan_segments(
    heads: Sequence[SegmentHead], text_key: bool = False
) -> tuple[list[SegmentPlan], list[Repair]]:
    """Turn segment first pages (segment 0 first) into non-overlapping keyset ranges (keys compared as
    ``parts.key_order`` does, ``text_key`` for a TEXT key).

    Empty first pages (the source shrank) and first pages that start at or before the previous
    segment's start are dropped and their parts deleted; overlapping tails are trimmed.
    """

    def order(value: str) -> tuple[int, int, str]:
        return key_order(value, text_key)

    kept: list[SegmentHead] = []
    repairs: list[Repair] = []
    for head in heads:
        if head.count == 0:
            continue
        if kept and order(head.first_key) <= order(kept[-1].first_key):
            if head.part_key:
                repairs.append(Repair(head.part_key, None))
            continue
        kept.append(head)
    plans: list[SegmentPlan] = []
    for i, head in enumerate(kept):
        upper = kept[i + 1].first_key if i + 1 < len(kept) else None
        overlaps = upper is not None and order(head.last_key) >= order(upper)
        if overlaps and head.part_key:
            repairs.append(Repair(head.part_key, upper))
        # An overlapping first page already holds every key up to the next boundary, and a last
        # segment whose first page reached the end of the data has nothing left to read.
        at_end = upper is None and head.num_remaining == 0
        done = overlaps or at_end
        expected = None if done else _expected_in_range(head, kept[i + 1] if i + 1 < len(kept) else None)
        plans.append(SegmentPlan(head.segment, head.last_key, upper, done, expected))
    return plans, repairs


def _expected_in_range(head: SegmentHead, following: SegmentHead | None) -> int | None:
    """Records between a segment's first page and the next segment's first key, as the offset reads saw
    them: what followed this head, less what followed the next head's start."""
    if head.num_remaining is None:
        return None
    if following is None:
        expected = head.num_remaining
    elif following.num_remaining is None:
        return None
    else:
        expected = head.num_remaining - following.num_remaining - following.count
    return expected if expected > 0 else None


@dataclass(frozen=True)
class RunPlan:
    """Where each unfinished segment continues, and the first pages to repair before it does."""

    cursors: dict[int, Cursor]  # unfinished segments only
    finished: tuple[int, ...]
    repairs: tuple[Repair, ...]


def task_budget(segments: int, budget: int = HISTORY_EVENT_BUDGET) -> int:
    """Page Tasks each of ``segments`` segments may run in one execution before its history could pass
    ``budget`` events (at least 1). Whatever the page latency, an execution stays under the cap: a
    segment out of Tasks pauses, and the run continues in a new execution (resumed from what landed)."""
    spare = budget - EVENTS_FIXED - EVENTS_PER_SEGMENT * segments
    return max(1, spare // (EVENTS_PER_TASK * max(1, segments)))


def plan_run(
    parts: Sequence[PartSummary],
    per_task: int,
    history_budget: int = HISTORY_EVENT_BUDGET,
    text_key: bool = False,
) -> RunPlan:
    """Plan a run from the parts it has landed: the first page of each segment (read by offset, or a
    landed run's first part) gives the segment's key range (``plan_segments``); each segment then
    continues after its last landed page. For a new run only first pages have landed; a resumed run
    continues the same way after whatever it had landed, so nothing landed is fetched again."""
    groups: dict[int, list[PartSummary]] = {}
    for part in parts:
        if part.records:
            groups.setdefault(part_position(part.key)[0], []).append(part)
    for group in groups.values():
        group.sort(key=lambda p: part_position(p.key)[1])
    heads = [
        SegmentHead(segment, g[0].key, g[0].records, g[0].first_key, g[0].last_key, g[0].num_remaining)
        for segment, g in sorted(groups.items())
    ]
    plans, repairs = plan_segments(heads, text_key)

    def order(value: str) -> tuple[int, int, str]:
        return key_order(value, text_key)

    budget = task_budget(len(plans), history_budget)
    cursors: dict[int, Cursor] = {}
    finished = []
    for p in plans:
        group = groups[p.segment]
        last = group[-1]
        if p.done or (last.segment_done and len(group) > 1) or (last.segment_done and p.upper_key is None):
            finished.append(p.segment)
            continue
        cursors[p.segment] = Cursor(
            segment=p.segment,
            seq=part_position(last.key)[1] + 1,
            after_key=max((q.last_key for q in group), key=order, default=p.after_key),
            upper_key=p.upper_key,
            offset=0,
            max_pages=per_task,
            expected_remaining=p.expected_remaining if len(group) == 1 else None,
            task_budget=budget,
        )
    return RunPlan(cursors, tuple(finished), tuple(repairs))
