"""Incremental windows across a non-UTC tenant time zone, including DST edges."""

from datetime import UTC, datetime, timedelta

import pytest

from intacct_sync.export.window import (
    combine_filters,
    intacct_to_utc,
    modified_sort_key,
    utc_to_intacct,
    window_filter,
    window_start,
)

LA = "America/Los_Angeles"


def test_tenant_local_text_converts_to_utc():
    assert intacct_to_utc("07/24/2026 15:19:46", LA) == datetime(2026, 7, 24, 22, 19, 46, tzinfo=UTC)
    assert intacct_to_utc("01/24/2026 15:19:46", LA) == datetime(2026, 1, 24, 23, 19, 46, tzinfo=UTC)


def test_repeated_fall_back_hour_takes_the_earlier_instant():
    # 01:30 happens twice on 2026-11-01 in Los Angeles; the earlier (PDT) reading keeps a watermark early
    assert intacct_to_utc("11/01/2026 01:30:00", LA) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)


def test_utc_to_tenant_text_across_spring_forward():
    # 10:30 UTC on 2026-03-08 is 03:30 PDT (02:00-03:00 local does not exist)
    assert utc_to_intacct(datetime(2026, 3, 8, 10, 30, tzinfo=UTC), LA) == "03/08/2026 03:30:00"
    assert utc_to_intacct(datetime(2026, 3, 8, 9, 59, 59, tzinfo=UTC), LA) == "03/08/2026 01:59:59"


def test_window_starts_lookback_before_the_watermark():
    watermark = datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
    start = window_start(watermark, timedelta(hours=2))
    assert window_filter("WHENMODIFIED", start, LA) == {
        "field": "WHENMODIFIED",
        "op": "greaterthanorequalto",
        "value": "03/08/2026 01:00:00",
    }


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        utc_to_intacct(datetime(2026, 1, 1), LA)


def test_sort_key_orders_by_date_not_text():
    assert modified_sort_key("01/01/2026 00:00:00") > modified_sort_key("12/31/2025 23:59:59")
    assert modified_sort_key("not a date") is None


def test_combine_filters():
    a = {"field": "A", "op": "equalto", "value": "1"}
    assert combine_filters(None, None) is None
    assert combine_filters(a, None) == a
    assert combine_filters(a, a) == {"and": [a, a]}
