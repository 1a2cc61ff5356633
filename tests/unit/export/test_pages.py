"""Page fetching: one call per page, JSON pages only where XML's numremaining is not needed, the next
page requested while the current one lands, and a failed later page never costs landed pages again."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from intacct_sync.export.pages import fetch_pages, return_format
from intacct_sync.export.parts import PartSummary, decode_part
from intacct_sync.export.spec import PageTask
from intacct_sync.intacct import GatewayError, Query, QueryPage


@dataclass
class FakeIntacct:
    """RECORDNO-keyed records answering `query` with keyset bounds and offsets, like the gateway."""

    keys: list[int]
    calls: list[Query] = field(default_factory=list)
    fail_on_call: int | None = None
    before_call: Any = None  # hook(call_number) to change the data between calls
    in_flight: int = 0
    peak_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, query: Query) -> QueryPage:
        with self._lock:
            self.calls.append(query)
            number = len(self.calls)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.before_call:
                self.before_call(number)
            if number == self.fail_on_call:
                raise GatewayError("HTTP-502", "bad gateway", http_status=502, function="query")
            matching = [k for k in sorted(self.keys) if _matches(k, query)]
            page = matching[query.offset : query.offset + query.page_size]
            records = [{"RECORDNO": str(k), "NAME": f"n{k}", "WHENMODIFIED": None} for k in page]
            if query.return_format == "json":
                return QueryPage(records, len(records), None, None, query.offset)
            remaining = len(matching) - query.offset - len(page)
            return QueryPage(records, len(records), len(matching), remaining, query.offset)
        finally:
            with self._lock:
                self.in_flight -= 1

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
    assert sink.progress == [(len(formats), records)]  # one progress write per invocation
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
    assert sink.progress == [(2, 6)]
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
