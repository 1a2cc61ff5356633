"""Fetching pages: query Intacct, land each page as a part, hand back only keys and counts.

Within one invocation a fetching thread sends the next page's query as soon as the current page's last
key is known, while the invocation's own thread encodes and lands the pages it hands over; a task still
has at most one Intacct call in flight, and at most two pages in memory. Keyset pages that cannot be
the last of their key range ask for Intacct's JSON return format, which parses several times faster
than XML; any page that may be the last one is read as XML, whose ``numremaining`` says where the range
ends, so no call is spent to find it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from intacct_sync.export.layout import part_key
from intacct_sync.export.parts import PartSummary, encode_part
from intacct_sync.export.payloads import Cursor
from intacct_sync.export.spec import ExportSpec
from intacct_sync.export.typed import FieldTypes, RecordTyper
from intacct_sync.export.window import TenantTime, combine_filters
from intacct_sync.intacct import (
    OrderBy,
    Query,
    QueryPage,
    Record,
    Timeouts,
    answered_by_position,
    filter_from_dict,
    last_json_text_value,
)
from intacct_sync.observability import logger

# Time a step needs after its last Intacct call: land the page, write the ledger, return its payload.
FINISH_SECONDS = 10.0


def page_reserve_ms(timeouts: Timeouts) -> int:
    """The time left under which no new page starts in an invocation (a slow page can take minutes at
    Intacct; the rest continues in the next Task): the longest one attempt of one page can take with the
    client's ``timeouts`` (connect, then read), plus ``FINISH_SECONDS`` to land it."""
    return int((timeouts.connect + timeouts.read + FINISH_SECONDS) * 1000)


# The reserve with the client's default timeouts (the page Tasks pass their client's: tenant.py).
DEFAULT_RESERVE_MS = page_reserve_ms(Timeouts())


@dataclass(frozen=True)
class PageTask:
    """One Lambda invocation's worth of page fetching: the run's query (object, fields, filter, key) and
    the cursor where it starts.

    Pages come from ``query`` ordered by the key field. A segment reads keys in (after_key, upper_key)
    by keyset; a segment's first page may instead be read by offset (to find where it starts). Only the
    cursor travels between states (``payloads.Cursor``); the rest comes from the run document.
    """

    run_id: str
    object: str
    fields: tuple[str, ...]
    filter: dict[str, Any] | None
    key_field: str
    page_size: int
    segment: int = 0
    seq: int = 0
    after_key: str | None = None
    upper_key: str | None = None
    offset: int = 0
    max_pages: int = 1
    entity: str | None = None
    modified_field: str = "WHENMODIFIED"
    # Records Intacct last reported after after_key within this task's key range. A hint only: it picks
    # the cheaper JSON return format for pages that cannot be the last one; completeness never rests on it.
    expected_remaining: int | None = None
    created_field: str = ""
    show_private: bool = False
    time: TenantTime = field(default_factory=TenantTime)
    # The fields' lookup DATATYPEs: pages are written typed (``typed``); without them, as Intacct's text.
    field_types: FieldTypes = field(default_factory=FieldTypes)

    @classmethod
    def of(
        cls,
        run_id: str,
        spec: ExportSpec,
        cursor: Cursor,
        time: TenantTime,
        field_types: FieldTypes | None = None,
    ) -> PageTask:
        """The task of a run (its effective spec, dates and field types) at a cursor. Top-level tasks
        show private (entity-owned) records unless the spec says otherwise (docs/intacct/PROTOCOL.md §9)."""
        return cls(
            run_id=run_id,
            object=spec.object,
            fields=spec.fields,
            filter=spec.filter,
            key_field=spec.key_field,
            page_size=spec.page_size,
            entity=spec.entity,
            modified_field=spec.modified_field,
            created_field=spec.created_field,
            show_private=spec.queries_private,
            time=time,
            field_types=field_types or FieldTypes(),
            segment=cursor.segment,
            seq=cursor.seq,
            after_key=cursor.after_key,
            upper_key=cursor.upper_key,
            offset=cursor.offset,
            max_pages=cursor.max_pages,
            expected_remaining=cursor.expected_remaining,
        )

    def cursor(self) -> Cursor:
        """Where this task starts, as carried between states."""
        return Cursor(
            segment=self.segment,
            seq=self.seq,
            after_key=self.after_key,
            upper_key=self.upper_key,
            offset=self.offset,
            max_pages=self.max_pages,
            expected_remaining=self.expected_remaining,
        )


class PartSink(Protocol):
    def put_part(self, summary: PartSummary, body: bytes) -> None: ...


class ProgressSink(Protocol):
    """Told of every page landed (a Task's BatchedLedger writes it in batches)."""

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
        show_private=task.show_private,
        return_format=return_format(task),
    )


def return_format(task: PageTask) -> Literal["xml", "json"]:
    """JSON for a keyset page known not to be the last one of its range, else XML.

    With ``expected_remaining`` records left and a full page of them expected, the page is not the last
    one. When exactly one full page is expected, only XML's ``numremaining`` can tell that it ends the
    range (a full JSON page could be followed by more); a shorter expected page ends it in either format.
    Fields Intacct answers under another name (``DEPT#`` as ``DEPT``) are always read as XML: which value
    is whose then rests on the order of the answer, recorded for XML elements (docs/intacct/real-objects/
    README.md) and never for JSON keys (no JSON answer was recorded).
    """
    if answered_by_position(task.fields):
        return "xml"
    hint = task.expected_remaining
    if task.after_key is not None and hint is not None and 0 < hint != task.page_size:
        return "json"
    return "xml"


def _next_hint(current: PageTask, count: int, num_remaining: int | None) -> int | None:
    """What a page of ``count`` records says about the records left after it in the same key range
    (None: unknown).

    Only keyset pages count: an offset page's numremaining spans the whole query, and its range is
    narrowed afterwards when segments are planned.
    """
    if current.after_key is None:
        return None
    if num_remaining is not None:
        return num_remaining
    if current.expected_remaining is not None and count >= current.page_size:
        left = current.expected_remaining - count
        return left if left > 0 else None  # more came than expected: the data changed, ask XML
    return None


def _continuation(
    current: PageTask, count: int, last_key: str, num_remaining: int | None
) -> tuple[bool, PageTask]:
    """Whether a page of ``count`` records ending at ``last_key`` ends its range, and the task after it."""
    # num_remaining is None only with a JSON page; then a short page is the end.
    done = num_remaining == 0 if num_remaining is not None else count < current.page_size
    following = replace(
        current,
        seq=current.seq + 1 if count else current.seq,
        offset=0,
        after_key=last_key or current.after_key,
        expected_remaining=None if done else _next_hint(current, count, num_remaining),
    )
    return done, following


def _guess_continuation(current: PageTask, body: bytes) -> PageTask | None:
    """The task after a JSON page, read from its raw body before it is parsed: None unless the body
    shows a full page (the key field once per record) whose last key needs no unescaping. The guess is
    only acted on once the parsed page confirms it (see fetch_pages)."""
    if current.offset or current.after_key is None:
        return None
    found = last_json_text_value(body, current.key_field)
    if found is None or found[0] != current.page_size:
        return None
    done, following = _continuation(current, found[0], found[1], None)
    return None if done else following


class RunQuery(Protocol):
    """Runs one ``query`` (charged, with a session); ``peek`` sees a JSON page's raw body first."""

    def __call__(self, query: Query, peek: Callable[[bytes], None] | None = None) -> QueryPage: ...


@dataclass
class _Fetched:
    """A page as the fetching thread hands it over, with the task that continues after it."""

    task: PageTask
    page: QueryPage
    done: bool
    following: PageTask
    arrived: datetime = field(default_factory=lambda: datetime.now(UTC))  # _sdc_extracted_at


@dataclass
class _Failed:
    task: PageTask
    error: Exception


_END = object()


def fetch_pages(
    task: PageTask,
    run_query: RunQuery,
    parts: PartSink,
    progress: ProgressSink,
    remaining_ms: Callable[[], int] = lambda: 900_000,
    reserve_ms: int = DEFAULT_RESERVE_MS,
) -> FetchResult:
    """Fetch up to task.max_pages pages (fewer when time runs short), writing one part per page.

    No page starts with less than ``reserve_ms`` of ``remaining_ms()`` left. A task with an offset reads
    that one page by offset (a segment's first page); afterwards paging is
    by key. `done` means the query reported nothing after the last page read. When a later page of
    the invocation fails, the pages landed so far are kept and the result continues after them (the
    next invocation asks again, and raises if it fails too), so a retry never fetches a page twice.

    The next page's query leaves as soon as a JSON page's body has arrived, its last key read from the
    raw text (``_guess_continuation``), while the page is parsed; it is used only if the parsed page
    gives the same continuation, which it does for every well-formed page, so the calls are exactly
    those a strictly sequential fetch would make. Calls overlap only between one body's arrival and
    the next request, never two requests at once.
    """
    return PageFetcher(task, run_query, remaining_ms, reserve_ms).run(parts, progress)


class PageFetcher:
    """One Task's pages: a fetching thread chains the calls (sending the next one ahead on a JSON page's
    raw last key) and hands pages over; the caller's thread lands them (``run``)."""

    def __init__(
        self,
        task: PageTask,
        run_query: RunQuery,
        remaining_ms: Callable[[], int],
        reserve_ms: int = DEFAULT_RESERVE_MS,
    ) -> None:
        self.task = task
        self._run_query = run_query
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_ms
        self._by_offset = task.offset > 0
        self._handed: queue.Queue[Any] = queue.Queue()
        # Pages fetched or in flight and not yet landed: two, as without sending ahead (a wide page is
        # tens of MB while parsed). A query goes ahead when the page before has landed, which at any
        # real latency it has long before the next page arrives.
        self._unlanded = threading.Semaphore(2)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ahead: list[tuple[PageTask, Future[QueryPage]]] = []  # calls sent on a guess, oldest first
        self._newest: PageTask | None = None  # the task of the call sent last: only its body sends ahead
        self._fetched = 0  # pages the chain has handed over
        self._callers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="query-ahead")
        # Typed pages (the landing thread's own: its date caches live for the Task).
        self._typer = (
            RecordTyper(task.fields, task.field_types, task.time, task.run_id) if task.field_types else None
        )

    # -------------------------------------------------------------------- the fetching thread

    def _call(self, current: PageTask) -> QueryPage:
        return self._run_query(page_query(current), lambda body: self._send_ahead(current, body))

    def _send_ahead(self, current: PageTask, body: bytes) -> None:
        if self._by_offset or self._stop.is_set():
            return
        guess = _guess_continuation(current, body)
        if guess is None:
            return
        with self._lock:
            asked = self._fetched + 1 + len(self._ahead)  # handed over, this one, those already ahead
            if self._newest is not current or asked >= self.task.max_pages or self._short_of_time():
                return
            if not self._unlanded.acquire(blocking=False):
                return
            self._newest = guess
            self._ahead.append((guess, self._callers.submit(self._call, guess)))

    def _short_of_time(self) -> bool:
        return self._remaining_ms() < self._reserve_ms

    def _drop_ahead(self) -> None:
        """Wait out calls sent on a guess that is no longer wanted, freeing their room."""
        with self._lock:
            dropped = list(self._ahead)
            self._ahead.clear()
            self._newest = None  # a dropped call's body must not send further guesses
        for _, future in dropped:
            with contextlib.suppress(Exception):  # an unwanted page's failure is not this Task's
                future.result()
            self._unlanded.release()

    def _sent_already(self, following: PageTask) -> bool:
        with self._lock:
            return bool(self._ahead) and self._ahead[0][0] == following

    def _fetch_chain(self) -> None:
        current = self.task
        try:
            while True:
                with self._lock:
                    ahead = self._ahead
                    guessed = ahead.pop(0)[1] if ahead and ahead[0][0] == current else None
                if guessed is not None:
                    page = guessed.result()
                else:
                    self._drop_ahead()
                    self._unlanded.acquire()
                    if self._stop.is_set():
                        break
                    with self._lock:
                        self._newest = current
                    page = self._call(current)
                with self._lock:  # _send_ahead counts it
                    self._fetched += 1
                last = str(page.records[-1].get(current.key_field) or "") if page.records else ""
                done, following = _continuation(current, len(page.records), last, page.num_remaining)
                self._handed.put(_Fetched(current, page, done, following))
                if done or self._by_offset:
                    break
                # A call already sent for the next page is always taken: its transaction is spent.
                if not self._sent_already(following) and (
                    self._fetched >= self.task.max_pages or self._short_of_time()
                ):
                    break
                current = following
        except Exception as exc:
            self._handed.put(_Failed(current, exc))
        finally:
            self._stop.set()
            self._drop_ahead()
            self._handed.put(_END)

    # ---------------------------------------------------------------------- the landing thread

    def run(self, parts: PartSink, progress: ProgressSink) -> FetchResult:
        """Fetch and land the pages; return what was done and the task that continues."""
        task = self.task
        pages = records = 0
        total: int | None = None
        remaining: int | None = None
        first_key = last_key = ""
        current, done = task, False
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch-pages") as pool:
                pool.submit(self._fetch_chain)
                try:
                    while (item := self._handed.get()) is not _END:
                        if isinstance(item, _Failed):
                            if pages == 0:
                                raise item.error
                            logger.warning(
                                "page failed after earlier pages landed; the next invocation continues",
                                extra={
                                    "segment": item.task.segment,
                                    "seq": item.task.seq,
                                    "error": type(item.error).__name__,
                                },
                            )
                            current, done = item.task, False
                            continue
                        page = item.page
                        if total is None:
                            total = page.total_count
                        remaining = page.num_remaining
                        current, done = item.following, item.done
                        if not page.records:
                            self._unlanded.release()
                            continue
                        summary = self._land(item, parts)
                        self._unlanded.release()  # landed: room for the next page before progress is told
                        first_key = first_key or summary.first_key
                        last_key = summary.last_key
                        pages += 1
                        records += summary.records
                        progress.record_pages(task.run_id, 1, summary.records)
                finally:
                    self._stop.set()
                    self._unlanded.release()  # a fetching thread waiting for room sees the stop
        finally:
            self._callers.shutdown(wait=True)
        return FetchResult(current, done, pages, records, total, remaining, first_key, last_key)

    def _land(self, item: _Fetched, parts: PartSink) -> PartSummary:
        task, page = self.task, item.page
        key = part_key(task.object, task.run_id, task.segment, item.task.seq)
        summary, body = encode_part(
            key,
            page.records,
            task.key_field,
            task.time.sort_key,
            task.modified_field,
            page.lines,
            task.created_field,
            typer=self._typer,
            extracted_at=item.arrived,
        )
        summary = replace(summary, segment_done=item.done, num_remaining=page.num_remaining)
        parts.put_part(summary, body)
        return summary


def keyset_records(task: PageTask, run_query: RunQuery) -> Iterator[Record]:
    """Every record the task's query matches, read page by page by key (XML pages, so numremaining says
    where it ends). For small reads (the audit trail, a recount) where one Task suffices."""
    while True:
        page = run_query(page_query(task))
        yield from page.records
        if not page.records or page.num_remaining == 0:
            return
        task = replace(task, after_key=str(page.records[-1].get(task.key_field)), offset=0)
