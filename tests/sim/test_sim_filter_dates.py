"""Date and timestamp filter values: read in the documented standard format or in the user's own format
(setting ``filter_date_format``), and refused with DL02000001 when they do not parse (docs/intacct/PROTOCOL.md
§9)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from xml.sax.saxutils import escape

import pytest

from intacct_sim import Simulator
from tests.sim.sim_support import Gateway, cmp, error_of, records_of, top_level

STANDARD = "%m/%d/%Y %H:%M:%S"


def pattern(dateformat: str, clock: int) -> str:
    codes = {"m": "%m", "d": "%d", "Y": "%Y", "y": "%y"}
    return dateformat[0].join(codes[c] for c in dateformat[1:]) + (
        " %H:%M:%S" if clock == 24 else " %I:%M:%S %p"
    )


def _pivot(customers: list[dict[str, str]], fmt: str) -> datetime:
    """A WHENMODIFIED value (parsed with ``fmt``) that splits the records in two."""
    stamps = sorted(datetime.strptime(r["WHENMODIFIED"], fmt) for r in customers if r["WHENMODIFIED"])
    return stamps[len(stamps) // 2]


def _selected(gw: Gateway, op: str, value: str) -> list[str] | dict[str, str]:
    result = gw.query(
        "CUSTOMER",
        ["RECORDNO"],
        filter_xml=cmp(op, "WHENMODIFIED", value),
        order=[("RECORDNO", "ascending")],
        pagesize=2000,
    )
    if result.findtext("status") != "success":
        return error_of(result)
    return [r["RECORDNO"] for r in records_of(result)]


def _read_by_query(gw: Gateway, query: str) -> list[str] | dict[str, str]:
    result = gw.result(
        f"<readByQuery><object>CUSTOMER</object><query>{escape(query)}</query><fields>RECORDNO</fields>"
        "<pagesize>1000</pagesize></readByQuery>"
    )
    if result.findtext("status") != "success":
        return error_of(result)
    return [r["RECORDNO"] for r in records_of(result)]


@pytest.mark.parametrize(("dateformat", "clock"), [("/dmY", 12), ("-Ymd", 24), (" mdy", 12)])
def test_standard_mode_reads_mm_dd_yyyy_whatever_the_user_format(
    make_sim: Callable[..., Simulator], dateformat: str, clock: int
) -> None:
    sim = make_sim(records=120, date_format=dateformat, clock=clock)
    gw = Gateway(sim)
    customers = sim.records("CUSTOMER")
    pivot = _pivot(customers, pattern(dateformat, clock))
    expected = [
        r["RECORDNO"]
        for r in customers
        if r["WHENMODIFIED"] and datetime.strptime(r["WHENMODIFIED"], pattern(dateformat, clock)) >= pivot
    ]
    assert 0 < len(expected) < len(customers)
    assert _selected(gw, "greaterthanorequalto", pivot.strftime(STANDARD)) == expected
    top = {r["RECORDNO"] for r in top_level(customers)}  # readByQuery has no showprivate option
    assert _read_by_query(gw, f"WHENMODIFIED >= '{pivot.strftime(STANDARD)}'") == [
        k for k in expected if k in top
    ]
    in_user_format = pivot.strftime(pattern(dateformat, clock))
    error = _selected(gw, "greaterthanorequalto", in_user_format)
    assert isinstance(error, dict), "a value in the user's format must not parse in standard mode"
    assert error["errorno"] == "DL02000001"
    assert in_user_format in error["description2"] and "WHENMODIFIED" in error["description2"]
    assert "[Support ID: " in error["description2"]
    assert isinstance(_read_by_query(gw, f"WHENMODIFIED >= '{in_user_format}'"), dict)


@pytest.mark.parametrize(("dateformat", "clock"), [("/dmY", 12), ("-Ymd", 24), (".dmY", 24)])
def test_user_mode_reads_the_users_own_format(
    make_sim: Callable[..., Simulator], dateformat: str, clock: int
) -> None:
    sim = make_sim(records=120, date_format=dateformat, clock=clock, filter_date_format="user")
    gw = Gateway(sim)
    customers = sim.records("CUSTOMER")
    fmt = pattern(dateformat, clock)
    pivot = _pivot(customers, fmt)
    stamped = [r for r in customers if r["WHENMODIFIED"]]  # an empty WHENMODIFIED matches nothing
    expected = [r["RECORDNO"] for r in stamped if datetime.strptime(r["WHENMODIFIED"], fmt) < pivot]
    assert _selected(gw, "lessthan", pivot.strftime(fmt)) == expected
    top = {r["RECORDNO"] for r in top_level(customers)}  # readByQuery has no showprivate option
    assert _read_by_query(gw, f"WHENMODIFIED < '{pivot.strftime(fmt)}'") == [k for k in expected if k in top]
    date_only = pivot.strftime(fmt.split(" ")[0])
    day = datetime.strptime(date_only, fmt.split(" ")[0])
    assert _selected(gw, "lessthan", date_only) == [
        r["RECORDNO"] for r in stamped if datetime.strptime(r["WHENMODIFIED"], fmt) < day
    ]
    error = _selected(gw, "lessthan", pivot.strftime(STANDARD))
    assert isinstance(error, dict) and error["errorno"] == "DL02000001"
    assert pivot.strftime(STANDARD) in error["description2"]


def test_twelve_hour_values_need_am_or_pm_in_user_mode(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=30, clock=12, filter_date_format="user")
    gw = Gateway(sim)
    assert isinstance(_selected(gw, "greaterthan", "02/19/2024 08:18:00"), dict)
    assert isinstance(_selected(gw, "greaterthan", "02/19/2024 13:18:00 PM"), dict)
    assert isinstance(_selected(gw, "greaterthan", "02/19/2024 08:18:00 PM"), list)


def test_iso_values_fail_in_standard_mode(gw: Gateway) -> None:
    """A production connector saw ISO-8601 WHENMODIFIED values rejected with DL02000001."""
    error = _selected(gw, "greaterthan", "2024-01-01T00:00:00")
    assert isinstance(error, dict)
    assert error["errorno"] == "DL02000001"
    assert error["description2"].startswith("There was an error processing the request.")


def test_filter_mode_changes_at_run_time(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=30, date_format="-Ymd")
    gw = Gateway(sim)
    assert isinstance(_selected(gw, "greaterthan", "2020-01-01"), dict)
    assert isinstance(_selected(gw, "greaterthan", "01/01/2020"), list)
    sim.configure(filter_date_format="user")
    assert isinstance(_selected(gw, "greaterthan", "2020-01-01"), list)
    assert isinstance(_selected(gw, "greaterthan", "01/01/2020"), dict)
    with pytest.raises(ValueError):
        sim.configure(filter_date_format="iso")
