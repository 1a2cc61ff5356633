"""Page fetching: one call per page, JSON pages only where XML's numremaining is not needed, the next
page requested while the current one lands, and a failed later page never costs landed pages again."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from intacct_sync.export.pages import PageTask, fetch_pages, return_format
from intacct_sync.export.parts import PartSummary, decode_part
from intacct_sync.intacct import GatewayError, Query, QueryPage


@dataclass
class FakeIntacct:
    """RECORDNO-keyed records answering `query` with keyset bounds and offsets, like the gateway."""

    keys: list[int]
    calls: list[Query] = field(default_factory=list)
    fail_on_call: int | None = None
    before_call: Any = None  # hook(call_number) to change the data between calls
    body_lies_on_call: int | None = None  # that call's raw JSON body names another last key
    parse_seconds: float = 0.0  # time between a JSON body's arrival and its records
    latency_seconds: float = 0.0  # time a call is in flight
    in_flight: int = 0
    peak_in_flight: int = 0
    sent_while_parsing: int = 0  # calls sent while an earlier JSON page was still being parsed
    parsing: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, query: Query, peek: Any = None) -> QueryPage:
        with self._lock:
            self.calls.append(query)
            number = len(self.calls)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.sent_while_parsing += self.parsing > 0
        try:
            time.sleep(self.latency_seconds)
            if self.before_call:
                self.before_call(number)
            if number == self.fail_on_call:
                raise GatewayError("HTTP-502", "bad gateway", http_status=502, function="query")
            matching = [k for k in sorted(self.keys) if _matches(k, query)]
            page = matching[query.offset : query.offset + query.page_size]
            records = [{"RECORDNO": str(k), "NAME": f"n{k}", "WHENMODIFIED": None} for k in page]
        finally:
            with self._lock:
                self.in_flight -= 1  # the response has arrived; what follows is the caller's parsing
        if query.return_format == "json":
            if peek is not None:
                lie = number == self.body_lies_on_call and records
                shown = [*records[:-1], {**records[-1], "RECORDNO": "999999"}] if lie else records
                with self._lock:
                    self.parsing += 1
                try:
                    peek(json.dumps(shown).encode())
                    time.sleep(self.parse_seconds)
                finally:
                    with self._lock:
                        self.parsing -= 1
            return QueryPage(records, len(records), None, None, query.offset)
        remaining = len(matching) - query.offset - len(page)
        return QueryPage(records, len(records), len(matching), remaining, query.offset)

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

    def record_pages(self, run_id: str, pages: int, records: int) -> None:
        self.progress.append((pages, records))

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


def test_the_next_query_leaves_while_a_json_page_is_parsed_and_costs_nothing_extra():
    # Given 30 records in pages of 3 whose parsing takes a while
    intacct, sink = FakeIntacct(list(range(1, 31)), parse_seconds=0.02, latency_seconds=0.05), Sink()
    # When they are fetched in one task
    result = fetch_pages(task(), intacct, sink, sink)
    # Then the queries after JSON pages left before those pages were parsed...
    assert intacct.sent_while_parsing >= 5
    # ...yet the calls are exactly a sequential fetch's: ceil(30 / 3), none repeated, one at a time
    assert len(intacct.calls) == 10
    assert len({(q.filter.to_dict() if q.filter else None, q.offset).__repr__() for q in intacct.calls}) == 10
    assert intacct.peak_in_flight == 1
    assert result.done is True and result.pages == 10
    assert sink.keys() == list(range(1, 31))


def test_a_body_whose_raw_last_key_is_wrong_costs_one_call_and_loses_nothing():
    # Given a JSON page whose raw text names a last key its parsed records do not have
    intacct, sink = (
        FakeIntacct(list(range(1, 31)), body_lies_on_call=3, parse_seconds=0.01, latency_seconds=0.05),
        Sink(),
    )
    result = fetch_pages(task(), intacct, sink, sink)
    # Then the query sent on that guess is dropped and the right one sent: one extra call, same data
    assert sink.keys() == list(range(1, 31))
    assert result.done is True
    assert len(intacct.calls) == 11
    assert any(q.filter and "999999" in repr(q.filter.to_dict()) for q in intacct.calls)


def test_queries_sent_ahead_never_exceed_the_task_page_limit():
    intacct, sink = FakeIntacct(list(range(1, 31)), parse_seconds=0.02, latency_seconds=0.05), Sink()
    result = fetch_pages(task(max_pages=4), intacct, sink, sink)
    assert len(intacct.calls) == 4
    assert (result.pages, result.done, result.next_task.after_key) == (4, False, "12")
    rest = fetch_pages(replace(result.next_task, max_pages=20), intacct, sink, sink)
    assert rest.done is True
    assert len(intacct.calls) == 10
    assert sink.keys() == list(range(1, 31))


def test_a_failure_of_a_query_sent_ahead_keeps_the_landed_pages():
    intacct, sink = (
        FakeIntacct(list(range(1, 31)), fail_on_call=4, parse_seconds=0.01, latency_seconds=0.05),
        Sink(),
    )
    result = fetch_pages(task(), intacct, sink, sink)
    assert (result.done, result.pages, result.next_task.after_key) == (False, 3, "9")
    again = fetch_pages(result.next_task, intacct, sink, sink)
    assert again.done is True
    assert sink.keys() == list(range(1, 31))
    assert len(intacct.calls) == 11  # the failed call, asked again
