"""Intacct's dates as the API user's preferences write them, and incremental windows across a non-UTC
tenant time zone, DST edges included."""

from datetime import UTC, date, datetime, timedelta

import pytest

from intacct_sync.export.window import (
    TenantTime,
    combine_filters,
    watermark_scope,
    window_filter,
    window_start,
)
from intacct_sync.intacct import STANDARD, DateFormat, UnreadableFormattingError, UserFormatting

LA = TenantTime(zone="America/Los_Angeles")


def test_tenant_local_text_converts_to_utc():
    assert LA.to_utc("07/24/2026 15:19:46") == datetime(2026, 7, 24, 22, 19, 46, tzinfo=UTC)
    assert LA.to_utc("01/24/2026 15:19:46") == datetime(2026, 1, 24, 23, 19, 46, tzinfo=UTC)
    assert LA.to_utc("01/24/2026") == datetime(2026, 1, 24, 8, 0, tzinfo=UTC)  # a date: its midnight


def test_repeated_fall_back_hour_takes_the_earlier_instant():
    # 01:30 happens twice on 2026-11-01 in Los Angeles; the earlier (PDT) reading keeps a watermark early
    assert LA.to_utc("11/01/2026 01:30:00") == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)


def test_utc_to_tenant_text_across_spring_forward():
    # 10:30 UTC on 2026-03-08 is 03:30 PDT (02:00-03:00 local does not exist)
    assert LA.filter_timestamp(datetime(2026, 3, 8, 10, 30, tzinfo=UTC)) == "03/08/2026 03:30:00"
    assert LA.filter_timestamp(datetime(2026, 3, 8, 9, 59, 59, tzinfo=UTC)) == "03/08/2026 01:59:59"


@pytest.mark.parametrize(
    ("dateformat", "clock", "text", "day"),
    [
        ("/dmY", 24, "03/11/2024 09:00:00", datetime(2024, 11, 3, 9)),  # 3 November, not 11 March
        ("/dmY", 24, "11/06/2024 09:00:00", datetime(2024, 6, 11, 9)),
        ("-Ymd", 24, "2024-11-03 09:00:00", datetime(2024, 11, 3, 9)),
        (".dmY", 24, "03.11.2024", datetime(2024, 11, 3)),
        (" mdY", 24, "11 03 2024 23:59:59", datetime(2024, 11, 3, 23, 59, 59)),
        ("/mdY", 12, "02/19/2024 08:18:00 AM", datetime(2024, 2, 19, 8, 18)),
        ("/mdY", 12, "02/19/2024 12:05:00 AM", datetime(2024, 2, 19, 0, 5)),
        ("/mdY", 12, "02/19/2024 12:05:00 PM", datetime(2024, 2, 19, 12, 5)),
        ("/mdY", 12, "02/19/2024 11:59:59 PM", datetime(2024, 2, 19, 23, 59, 59)),
    ],
)
def test_dates_are_read_in_the_users_preferences(dateformat, clock, text, day):
    written = DateFormat.of(dateformat, clock)
    assert written.parse(text) == day
    again = written.format_timestamp(day) if ":" in text else written.format_date(day.date())
    assert again == text


def test_watermark_order_follows_the_date_not_the_text():
    # d/m/Y: 03/11 (3 Nov) is later than 11/06 (11 Jun), although it sorts first as text
    dmy = DateFormat.of("/dmY", 24)
    assert dmy.sort_key("03/11/2024 09:00:00") > dmy.sort_key("11/06/2024 09:00:00")
    assert STANDARD.sort_key("01/01/2026 00:00:00") > STANDARD.sort_key("12/31/2025 23:59:59")
    assert STANDARD.sort_key("not a date") is None
    assert STANDARD.sort_key("02/19/2024 08:18:00 AM") is None  # a 12-hour time is not the standard form


@pytest.mark.parametrize(
    ("dateformat", "clock"), [("/mdy", 24), (".dmy", 12), ("/mdY", 13), ("mdY", 24), ("", 24)]
)
def test_preferences_that_cannot_be_read_are_refused_naming_the_preference(dateformat, clock):
    with pytest.raises(UnreadableFormattingError, match="My Preferences: Date format"):
        DateFormat.of(dateformat, clock)


def test_the_users_offset_is_the_zone_unless_one_is_configured():
    prefs = UserFormatting(locale="en_GB", dateformat="/dmY", gmtoffset="-0800", clock=24)
    assert TenantTime.of(prefs, "standard", "").zone == "-08:00"
    assert TenantTime.of(prefs, "standard", "").to_utc("11/06/2024 09:00:00") == datetime(
        2024, 6, 11, 17, tzinfo=UTC
    )
    assert TenantTime.of(prefs, "standard", "Europe/London").zone == "Europe/London"
    colon = UserFormatting(locale="en_US", dateformat="/mdY", gmtoffset="+05:30", clock=24)
    assert TenantTime.of(colon, None, "").zone == "+05:30"


def test_filters_take_the_standard_form_unless_the_session_found_they_take_the_users():
    prefs = UserFormatting(locale="en_GB", dateformat="/dmY", gmtoffset="+00:00", clock=12)
    instant = datetime(2024, 11, 3, 21, 0, tzinfo=UTC)
    assert TenantTime.of(prefs, "standard", "").filter_timestamp(instant) == "11/03/2024 21:00:00"
    assert TenantTime.of(prefs, "user", "").filter_timestamp(instant) == "03/11/2024 09:00:00 PM"
    assert TenantTime.of(prefs, "user", "").filter_date(instant) == "03/11/2024"


def test_tenant_time_round_trips_through_the_run_document():
    time = TenantTime(DateFormat.of("-Ymd", 12), STANDARD, "Europe/Berlin")
    assert TenantTime.from_dict(time.to_dict()) == time
    assert TenantTime.from_dict(None) == TenantTime()


def test_window_takes_modified_records_and_those_never_modified_created_since_its_day():
    watermark = datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
    start = window_start(watermark, timedelta(hours=2))
    assert window_filter("WHENMODIFIED", "WHENCREATED", start, LA) == {
        "or": [
            {"field": "WHENMODIFIED", "op": "greaterthanorequalto", "value": "03/08/2026 01:00:00"},
            {
                "and": [
                    {"field": "WHENMODIFIED", "op": "isnull"},
                    {"field": "WHENCREATED", "op": "greaterthanorequalto", "value": "03/08/2026"},
                ]
            },
        ]
    }
    assert window_filter("WHENMODIFIED", "", start, LA) == {
        "field": "WHENMODIFIED",
        "op": "greaterthanorequalto",
        "value": "03/08/2026 01:00:00",
    }


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        LA.filter_timestamp(datetime(2026, 1, 1))


def test_dates_format_with_leading_zeros():
    assert DateFormat.of("-Ymd", 24).format_date(date(2024, 1, 2)) == "2024-01-02"


def test_combine_filters():
    a = {"field": "A", "op": "equalto", "value": "1"}
    assert combine_filters(None, None) is None
    assert combine_filters(a, None) == a
    assert combine_filters(a, a) == {"and": [a, a]}


@pytest.mark.parametrize("dateformat", ["/mdY", " dmY", ".Ymd", "-dmY"])
@pytest.mark.parametrize("clock", [12, 24])
def test_a_date_format_survives_its_code_whatever_its_separator(dateformat, clock):
    # A run document keeps the user's format as its code: a space separator must come back as a space
    time = DateFormat.of(dateformat, clock)
    assert DateFormat.from_code(time.code) == time
    moment = datetime(2024, 3, 11, 13, 5, 9)
    assert time.parse(time.format_timestamp(moment)) == moment


def test_a_request_filter_has_a_watermark_of_its_own_whatever_its_keys_order():
    active = {"field": "STATUS", "op": "equalto", "value": "active"}
    assert watermark_scope(None) == watermark_scope({}) == ""
    scope = watermark_scope(active)
    assert scope.startswith("filter-") and len(scope) == len("filter-") + 16
    assert watermark_scope(dict(reversed(list(active.items())))) == scope
    assert watermark_scope({**active, "value": "inactive"}) != scope
