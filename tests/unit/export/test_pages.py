"""Page fetching: one call per page, JSON pages only where XML's numremaining is not needed, the next
page requested while the current one lands, and a failed later page never costs landed pages again."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from intacct_sync.export.pages import (
    DEFAULT_RESERVE_MS,
    PageTask,
    fetch_pages,
    page_reserve_ms,
    return_format,
)
from intacct_sync.export.parts import PartSummary, decode_part
from intacct_sync.intacct import GatewayError, Query, QueryPage, Timeouts

FAKES: list[FakeIntacct] = []


@pytest.fixture(autouse=True)
def no_fetcher_stalled():
    """A fake left waiting for the fetcher (which swallows a page's failure) fails the test."""
    FAKES.clear()
    yield
    assert not any(fake.stalled for fake in FAKES), "the fetcher never reached a point the fake waited for"


@dataclass
class FakeIntacct:
    """RECORDNO-keyed records answering `query` with keyset bounds and offsets, like the gateway.

    Interleavings are forced with events, never with sleeps: before a JSON body is shown (when the
    fetcher decides whether to send the next query ahead) the fake waits until every page handed over
    so far has landed (``landed``: pages the sink was told of); with ``hold_parse`` it then keeps the
    page "being parsed" until the next query has arrived."""

    keys: list[int]
    landed: Any = None  # () -> pages landed so far; None: no waiting
    calls: list[Query] = field(default_factory=list)
    fail_on_call: int | None = None
    before_call: Any = None  # hook(call_number) to change the data between calls
    body_lies_on_call: int | None = None  # that call's raw JSON body names another last key
    dropped_calls: frozenset[int] = frozenset()  # calls the fetcher is expected to drop (wrong guesses)
    hold_parse: bool = False
    in_flight: int = 0
    peak_in_flight: int = 0
    sent_while_parsing: int = 0  # calls sent while an earlier JSON page was still being parsed
    parsing: int = 0
    stalled: bool = False
    answered: list[int] = field(default_factory=list)  # calls that returned records
    completed: set[int] = field(default_factory=set)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _all_landed_before(self, number: int) -> bool:
        """Every earlier call has returned, and every page they handed over has landed."""
        if not self.completed.issuperset(range(1, number)):
            return False
        handed = [n for n in self.answered if n < number and n not in self.dropped_calls]
        return bool(self.landed() >= len(handed))

    def __post_init__(self) -> None:
        FAKES.append(self)

    def poke(self) -> None:
        """Something the fake waits for may have changed (a page landed)."""
        with self._changed:
            self._changed.notify_all()

    def _wait(self, until: Any) -> None:
        """Wait for the fetcher to get somewhere; a fetcher that never does is recorded as ``stalled``
        (the fetching threads swallow a page's failure, so tests assert on it)."""
        with self._changed:
            if not self._changed.wait_for(until, timeout=10):
                self.stalled = True

    def __call__(self, query: Query, peek: Any = None) -> QueryPage:
        with self._changed:
            self.calls.append(query)
            number = len(self.calls)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.sent_while_parsing += self.parsing > 0
            self._changed.notify_all()
        try:
            if self.before_call:
                self.before_call(number)
            if number == self.fail_on_call:
                self._done(number, [])
                raise GatewayError("HTTP-502", "bad gateway", http_status=502, function="query")
            matching = [k for k in sorted(self.keys) if _matches(k, query)]
            page = matching[query.offset : query.offset + query.page_size]
            records = [{"RECORDNO": str(k), "NAME": f"n{k}", "WHENMODIFIED": None} for k in page]
        finally:
            with self._changed:
                self.in_flight -= 1  # the response has arrived; what follows is the caller's parsing
        if query.return_format == "json":
            if peek is not None:
                if self.landed is not None:
                    self._wait(lambda: self._all_landed_before(number))
                lie = number == self.body_lies_on_call and records
                shown = [*records[:-1], {**records[-1], "RECORDNO": "999999"}] if lie else records
                with self._changed:
                    self.parsing += 1
                try:
                    peek(json.dumps(shown).encode())
                    if self.hold_parse and len(records) == query.page_size:
                        self._wait(lambda: len(self.calls) > number)
                finally:
                    with self._changed:
                        self.parsing -= 1
            self._done(number, records)
            return QueryPage(records, len(records), None, None, query.offset)
        remaining = len(matching) - query.offset - len(page)
        self._done(number, records)
        return QueryPage(records, len(records), len(matching), remaining, query.offset)

    def _done(self, number: int, records: list[Any]) -> None:
        with self._changed:
            if records:
                self.answered.append(number)
            self.completed.add(number)
            self._changed.notify_all()

    @property
    def formats(self) -> list[str]:
        return [q.return_format for q in self.calls]


def _matches(key: int, query: Query) -> bool:
    if query.filter is None:
        return True
    spec = query.filter.to_dict()
    for condition in spec.get("and", [spec]):
        value = int(condition["value"])
        if condition["op"] == "greaterthan" and not key > value:
            return False
        if condition["op"] == "lessthan" and not key < value:
            return False
    return True


@dataclass
class Sink:
    parts: dict[str, tuple[PartSummary, bytes]] = field(default_factory=dict)
    progress: list[tuple[int, int]] = field(default_factory=list)

    def put_part(self, summary: PartSummary, body: bytes) -> None:
        self.parts[summary.key] = (summary, body)

    on_record: Any = None  # told after each page landed

    def record_pages(self, run_id: str, pages: int, records: int) -> None:
        self.progress.append((pages, records))
        if self.on_record is not None:
            self.on_record()

    def keys(self) -> list[int]:
        return [int(r["RECORDNO"]) for key in sorted(self.parts) for r in decode_part(self.parts[key][1])]


def task(**changes: Any) -> PageTask:
    base = PageTask(
        run_id="r-1",
        object="CUSTOMER",
        fields=("RECORDNO", "NAME", "WHENMODIFIED"),
        filter=None,
        key_field="RECORDNO",
        page_size=3,
        segment=0,
        seq=1,
        after_key="0",
        max_pages=20,
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("records", "formats"), [(10, ["xml", "json", "json", "json"]), (9, ["xml", "json", "xml"])]
)
def test_a_range_costs_one_call_per_page_and_xml_only_where_the_end_needs_it(records, formats):
    # Given a key range without an expected count
    intacct, sink = FakeIntacct(list(range(1, records + 1))), Sink()
    # When its pages are fetched in one task
    result = fetch_pages(task(), intacct, sink, sink)
    # Then every record lands once, with ceil(N / page size) calls: the first page XML (it tells how many
    # follow), JSON for the pages that cannot be the last, XML for a last page expected to be full
    assert sink.keys() == list(range(1, records + 1))
    assert intacct.formats == formats
    assert result.done is True and result.pages == len(formats)
    assert sink.progress == [(1, 3)] * (len(formats) - 1) + [(1, records - 3 * (len(formats) - 1))]
    assert intacct.peak_in_flight == 1  # the next page is requested after the previous one arrived


def test_a_task_continues_where_the_previous_one_stopped_with_its_hint():
    intacct, sink = FakeIntacct(list(range(1, 17))), Sink()
    first = fetch_pages(task(max_pages=2), intacct, sink, sink)
    assert (first.done, first.pages, first.next_task.after_key) == (False, 2, "6")
    assert first.next_task.expected_remaining == 10
    second = fetch_pages(replace(first.next_task, max_pages=20), intacct, sink, sink)
    assert second.done is True
    assert sink.keys() == list(range(1, 17))
    assert len(intacct.calls) == 6  # ceil(16 / 3): nothing read twice, no call to find the end
    assert intacct.formats[2:] == ["json", "json", "json", "json"]  # 10 left: 3+3+3+1, the last short


def test_an_offset_page_is_one_xml_page_and_gives_no_hint():
    intacct, sink = FakeIntacct(list(range(1, 31))), Sink()
    result = fetch_pages(task(after_key=None, seq=0, segment=2, offset=9), intacct, sink, sink)
    assert intacct.formats == ["xml"]
    assert (result.pages, result.first_key, result.num_remaining) == (1, "10", 18)
    assert result.next_task.expected_remaining is None  # the planned range differs from the query's


def test_a_planned_hint_makes_the_first_keyset_page_json():
    intacct, sink = FakeIntacct(list(range(1, 31))), Sink()
    fetch_pages(task(after_key="3", upper_key="13", expected_remaining=9), intacct, sink, sink)
    assert sink.keys() == list(range(4, 13))
    assert intacct.formats == ["json", "json", "xml"]


def test_more_records_than_expected_are_still_all_read():
    # Given a hint of 4 records, but records are inserted into the range after the first call
    intacct, sink = FakeIntacct([1, 2, 3, 4, 5, 6, 7]), Sink()

    def grow(call: int) -> None:
        if call == 2:
            intacct.keys += [8, 9, 10, 11]

    intacct.before_call = grow
    result = fetch_pages(task(after_key="0", expected_remaining=7), intacct, sink, sink)
    # Then a full JSON page where a short one was expected is followed up (as XML) until the range ends
    assert result.done is True
    assert sink.keys() == list(range(1, 12))
    assert intacct.formats == ["json", "json", "json", "xml"]


def test_a_failure_after_landed_pages_returns_them_and_continues_next_time():
    intacct, sink = FakeIntacct(list(range(1, 11)), fail_on_call=3), Sink()
    result = fetch_pages(task(), intacct, sink, sink)
    assert (result.done, result.pages, result.next_task.after_key, result.next_task.seq) == (False, 2, "6", 3)
    assert sink.progress == [(1, 3), (1, 3)]  # each landed page, as it lands
    again = fetch_pages(result.next_task, intacct, sink, sink)
    assert again.done is True
    assert sink.keys() == list(range(1, 11))


def test_a_failure_on_the_first_page_is_raised():
    intacct, sink = FakeIntacct(list(range(1, 11)), fail_on_call=1), Sink()
    with pytest.raises(GatewayError):
        fetch_pages(task(), intacct, sink, sink)
    assert sink.progress == []


@pytest.mark.parametrize(
    ("after_key", "hint", "expected"),
    [(None, 5000, "xml"), ("1", None, "xml"), ("1", 2000, "xml"), ("1", 2001, "json"), ("1", 1999, "json")],
)
def test_return_format(after_key, hint, expected):
    assert return_format(task(after_key=after_key, expected_remaining=hint, page_size=2000)) == expected


def test_fields_answered_under_other_names_are_always_read_as_xml():
    # JSON would repeat DEPT for DEPT and DEPT#, and the order of JSON keys was never recorded
    card = task(after_key="1", expected_remaining=5000, page_size=2000, fields=("RECORDNO", "DEPT", "DEPT#"))
    assert return_format(card) == "xml"


def test_the_next_query_leaves_while_a_json_page_is_parsed_and_costs_nothing_extra():
    # Given 30 records in pages of 3, each JSON page still being parsed when the next query could leave
    sink = Sink()
    intacct = FakeIntacct(list(range(1, 31)), landed=lambda: len(sink.progress), hold_parse=True)
    sink.on_record = intacct.poke
    # When they are fetched in one task
    result = fetch_pages(task(), intacct, sink, sink)
    # Then the query after every full JSON page (calls 2 to 9) left before that page was parsed...
    assert intacct.sent_while_parsing == 8
    # ...yet the calls are exactly a sequential fetch's: ceil(30 / 3), none repeated, one at a time
    assert len(intacct.calls) == 10
    assert len({(q.filter.to_dict() if q.filter else None, q.offset).__repr__() for q in intacct.calls}) == 10
    assert intacct.peak_in_flight == 1
    assert result.done is True and result.pages == 10
    assert sink.keys() == list(range(1, 31))


def test_a_body_whose_raw_last_key_is_wrong_costs_one_call_and_loses_nothing():
    # Given a JSON page whose raw text names a last key its parsed records do not have
    sink = Sink()
    intacct = FakeIntacct(
        list(range(1, 31)),
        landed=lambda: len(sink.progress),
        body_lies_on_call=3,
        dropped_calls=frozenset({4}),
    )
    sink.on_record = intacct.poke
    result = fetch_pages(task(), intacct, sink, sink)
    # Then the query sent on that guess is dropped and the right one sent: one extra call, same data
    assert sink.keys() == list(range(1, 31))
    assert result.done is True
    assert len(intacct.calls) == 11
    assert any(q.filter and "999999" in repr(q.filter.to_dict()) for q in intacct.calls)


def test_queries_sent_ahead_never_exceed_the_task_page_limit():
    sink = Sink()
    intacct = FakeIntacct(list(range(1, 31)), landed=lambda: len(sink.progress))
    sink.on_record = intacct.poke
    result = fetch_pages(task(max_pages=4), intacct, sink, sink)
    assert len(intacct.calls) == 4
    assert (result.pages, result.done, result.next_task.after_key) == (4, False, "12")
    rest = fetch_pages(replace(result.next_task, max_pages=20), intacct, sink, sink)
    assert rest.done is True
    assert len(intacct.calls) == 10
    assert sink.keys() == list(range(1, 31))


def test_a_failure_of_a_query_sent_ahead_keeps_the_landed_pages():
    sink = Sink()
    intacct = FakeIntacct(list(range(1, 31)), landed=lambda: len(sink.progress), fail_on_call=4)
    sink.on_record = intacct.poke
    result = fetch_pages(task(), intacct, sink, sink)
    assert (result.done, result.pages, result.next_task.after_key) == (False, 3, "9")
    again = fetch_pages(result.next_task, intacct, sink, sink)
    assert again.done is True
    assert sink.keys() == list(range(1, 31))
    assert len(intacct.calls) == 11  # the failed call, asked again


def test_no_page_starts_without_time_for_one_attempt_and_its_landing():
    # The one rule (the page Tasks give it their client's timeouts, tenant.py): connect + read + landing
    assert page_reserve_ms(Timeouts(connect=5.0, read=120.0)) == 135_000
    assert page_reserve_ms(Timeouts(connect=2.0, read=30.0)) == 42_000
    assert page_reserve_ms(Timeouts()) == DEFAULT_RESERVE_MS
