"""Fetching pages: query Intacct, land each page as a part, hand back only keys and counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from intacct_sync.export.layout import part_key
from intacct_sync.export.parts import PartSummary, encode_part
from intacct_sync.export.spec import PageTask
from intacct_sync.export.window import combine_filters, modified_sort_key
from intacct_sync.intacct import OrderBy, Query, QueryPage, filter_from_dict

# Stop taking new pages in one invocation when less time than this is left (a slow page can take
# minutes at Intacct; the rest continues in the next Task).
SAFETY_MS = 120_000


class PartSink(Protocol):
    def put_part(self, summary: PartSummary, body: bytes) -> None: ...


class ProgressSink(Protocol):
    def record_pages(self, run_id: str, pages: int, records: int) -> None: ...


@dataclass
class FetchResult:
    """What one invocation did, and the task that continues it."""

    next_task: PageTask
    done: bool
    pages: int
    records: int
    total_count: int | None
    num_remaining: int | None
    first_key: str
    last_key: str
    first_part: str | None

    def to_payload(self) -> dict[str, Any]:
        return {
            "task": self.next_task.to_payload(),
            "done": self.done,
            "pages": self.pages,
            "records": self.records,
            "total_count": self.total_count,
            "num_remaining": self.num_remaining,
            "first_key": self.first_key,
            "last_key": self.last_key,
            "first_part": self.first_part,
            "segment": self.next_task.segment,
        }


def page_query(task: PageTask) -> Query:
    """The `query` for the task's next page: its filter, bounded to the task's key range, key order."""
    bounds = []
    if task.after_key is not None:
        bounds.append({"field": task.key_field, "op": "greaterthan", "value": task.after_key})
    if task.upper_key is not None:
        bounds.append({"field": task.key_field, "op": "lessthan", "value": task.upper_key})
    combined = combine_filters(task.filter, *bounds)
    return Query(
        object=task.object,
        fields=task.fields,
        filter=filter_from_dict(combined) if combined else None,
        order_by=(OrderBy(task.key_field),),
        page_size=task.page_size,
        offset=task.offset,
    )


def fetch_pages(
    task: PageTask,
    run_query: Callable[[Query], QueryPage],
    parts: PartSink,
    progress: ProgressSink,
    remaining_ms: Callable[[], int] = lambda: 900_000,
) -> FetchResult:
    """Fetch up to task.max_pages pages (fewer when time runs short), writing one part per page.

    A task with an offset reads that one page by offset (a segment's first page); afterwards paging is
    by key. `done` means the query reported nothing after the last page read.
    """
    pages = records = 0
    total: int | None = None
    remaining: int | None = None
    first_key = last_key = ""
    first_part: str | None = None
    current = task
    done = False
    by_offset = task.offset > 0
    calls = 0
    while True:
        page = run_query(page_query(current))
        calls += 1
        if total is None:
            total = page.total_count
        remaining = page.num_remaining
        seq = current.seq
        # num_remaining is None only with a JSON page; then a short page is the end.
        done = (remaining == 0) if remaining is not None else len(page.records) < current.page_size
        if page.records:
            key = part_key(current.object, current.run_id, current.segment, seq)
            summary, body = encode_part(
                key, page.records, current.key_field, modified_sort_key, current.modified_field
            )
            if done:
                summary = replace(summary, segment_done=True)
            parts.put_part(summary, body)
            progress.record_pages(current.run_id, 1, summary.records)
            first_part = first_part or key
            first_key = first_key or summary.first_key
            last_key = summary.last_key
            pages += 1
            records += summary.records
            seq += 1
        current = replace(current, seq=seq, offset=0, after_key=last_key or current.after_key)
        if done or by_offset or calls >= task.max_pages or remaining_ms() < SAFETY_MS:
            break
    return FetchResult(current, done, pages, records, total, remaining, first_key, last_key, first_part)
