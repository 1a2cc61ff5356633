"""Segment planning: ranges cover every key once, and cost exactly one call per page without drift."""

from pathlib import Path

import pytest

from intacct_sync.export.plan import (
    MAX_PAGE_TASKS,
    PAGE_BYTES_BUDGET,
    PAGES_PER_TASK,
    Repair,
    SegmentHead,
    fitted_page_size,
    page_count,
    pages_per_task,
    plan_segments,
    segment_count,
    segment_start_pages,
)

REAL = Path(__file__).resolve().parents[3] / "docs" / "intacct" / "real-objects"


@pytest.mark.parametrize(
    ("total", "concurrency", "expected"),
    [(0, 4, 1), (2000, 4, 1), (4000, 4, 1), (6000, 2, 1), (8000, 2, 2), (1_000_000, 4, 4), (10_000, 8, 2)],
)
def test_every_segment_but_the_last_has_at_least_two_pages(total, concurrency, expected):
    # Given a total and a tenant concurrency / When segments are counted
    count = segment_count(total, 2000, concurrency)
    # Then there are never more segments than pages // 2 (no segment wastes a call)
    assert count == expected


def test_segment_starts_split_pages_evenly():
    assert segment_start_pages(1_000_000, 2000, 4) == [0, 125, 250, 375]
    assert segment_start_pages(9000, 2000, 2) == [0, 2]  # 5 pages: 2 + 3
    assert page_count(9000, 2000) == 5


def test_pages_per_task_keeps_history_bounded():
    assert pages_per_task(1_000_000, 2000) == PAGES_PER_TASK
    total = (MAX_PAGE_TASKS * PAGES_PER_TASK * 3 + 1) * 2000
    assert pages_per_task(total, 2000) == PAGES_PER_TASK * 3 + 1
    assert page_count(total, 2000) / pages_per_task(total, 2000) <= MAX_PAGE_TASKS


def head(segment, first, last, count=2000, remaining=None, part=None):
    return SegmentHead(segment, part or f"part-{segment}", count, str(first), str(last), remaining)


def test_every_recorded_object_keeps_full_pages():
    # Given every real field list recorded from a tenant (VENDOR's 269 the widest estimated)
    lists = {path.stem: path.read_text().split() for path in REAL.glob("*.fields")}
    assert len(lists) > 20 and len(lists["PODOCUMENT"]) == 284
    # Then selecting all of them keeps 2000-record pages
    assert {name: fitted_page_size(2000, fields) for name, fields in lists.items()} == dict.fromkeys(
        lists, 2000
    )


def test_a_very_wide_selection_gets_pages_within_the_byte_budget():
    # Given 224 fields and 1,000 custom ones of 40 characters (204 MB of XML a 2000-record page)
    fields = [f"STANDARD_FIELD_{i:03d}" for i in range(224)]
    fields += [f"CUSTOMER_CF_TEXT_{'X' * 19}{i:04d}" for i in range(1000)]
    # Then a page holds as many records as fit the budget, and never fewer than one
    size = fitted_page_size(2000, fields)
    assert size == 263 and size * (1000 * (2 * 40 + 15) + 224 * (2 * 18 + 15)) <= PAGE_BYTES_BUDGET
    assert fitted_page_size(100, fields) == 100  # a smaller page asked for stays
    assert fitted_page_size(2000, [f"F{i}_{'X' * 60}" for i in range(100_000)]) == 1


def test_plan_without_drift_chains_boundaries():
    # Given three segment first pages in key order
    heads = [head(0, 1, 2000), head(1, 5001, 7000), head(2, 9001, 11000, remaining=500)]
    # When planned
    plans, repairs = plan_segments(heads)
    # Then each segment reads after its first page up to the next boundary, the last one unbounded
    assert [(p.after_key, p.upper_key, p.done) for p in plans] == [
        ("2000", "5001", False),
        ("7000", "9001", False),
        ("11000", None, False),
    ]
    assert repairs == []


def test_text_keys_are_planned_in_text_order():
    # Given first pages of a TEXT key in Intacct's text order ("10".."19" before "2".."30")
    heads = [head(0, "10", "19"), head(1, "2", "30")]
    # Then planned as text, both segments stand; as numbers the second would be dropped as a repeat
    plans, repairs = plan_segments(heads, text_key=True)
    assert [(p.after_key, p.upper_key) for p in plans] == [("19", "2"), ("30", None)] and repairs == []
    assert [p.segment for p in plan_segments(heads)[0]] == [0]


def test_last_segment_at_end_of_data_is_done():
    plans, _ = plan_segments([head(0, 1, 2000), head(1, 3001, 3500, count=500, remaining=0)])
    assert plans[-1].done is True
    assert plans[0].done is False


def test_overlapping_first_page_is_trimmed_and_marked_done():
    # Given inserts between the offset reads made segment 0's first page run past segment 1's start
    plans, repairs = plan_segments([head(0, 1, 2100), head(1, 2050, 4100)])
    # Then segment 0's part keeps keys below 2050 and needs no further reads
    assert repairs == [Repair("part-0", "2050")]
    assert plans[0].done is True and plans[0].upper_key == "2050"


def test_empty_or_backwards_boundaries_are_dropped_and_their_parts_deleted():
    plans, repairs = plan_segments(
        [
            head(0, 10, 2000),
            head(1, 5, 900, part="p1"),
            head(2, 0, 0, count=0, part=None),
            head(3, 6000, 8000),
        ]
    )
    assert [p.segment for p in plans] == [0, 3]
    assert Repair("p1", None) in repairs
    assert plans[0].upper_key == "6000"


def test_keys_compare_numerically():
    # "10000" < "9000" as text, but RECORDNO compares as numbers
    plans, repairs = plan_segments([head(0, 1, 9000), head(1, 10000, 12000)])
    assert repairs == [] and plans[0].upper_key == "10000" and not plans[0].done


def test_plan_expects_the_records_between_offset_reads():
    # Given 10 pages in 3 segments starting at pages 0, 3 and 6 (nothing changed between the reads)
    heads = [
        head(0, 1, 2000, remaining=18_000),
        head(1, 6001, 8000, remaining=12_000),
        head(2, 12001, 14000, remaining=6000),
    ]
    # When planned
    plans, _ = plan_segments(heads)
    # Then each segment expects the pages up to the next start, the last one what followed its head
    assert [p.expected_remaining for p in plans] == [4000, 4000, 6000]


def test_plan_without_remaining_counts_expects_nothing():
    plans, _ = plan_segments([head(0, 1, 2000), head(1, 6001, 8000, remaining=2000)])
    assert [p.expected_remaining for p in plans] == [None, 2000]
