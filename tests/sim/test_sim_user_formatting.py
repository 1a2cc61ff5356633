"""The API user's date/time preferences: readByName USERINFO, readUserFormatting, and every TIMESTAMP and
DATE value written in the user's dateformat and clock (docs/intacct/PROTOCOL.md §9; official "Users" page)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from intacct_sim import Simulator
from intacct_sim.cli import build_parser, config_from_args
from tests.sim.sim_support import (
    Gateway,
    data_attrs,
    envelope,
    error_of,
    function,
    login_xml,
    parse,
    query_xml,
    records_of,
    results,
)

STANDARD = "%m/%d/%Y %H:%M:%S"
TIME_FIELDS = ["WHENCREATED", "WHENMODIFIED"]


def strftime_pattern(dateformat: str, clock: int) -> str:
    """An independent rendering of a dateformat preference as a strftime pattern."""
    codes = {"m": "%m", "d": "%d", "Y": "%Y", "y": "%y"}
    date = dateformat[0].join(codes[c] for c in dateformat[1:])
    return f"{date} {'%H:%M:%S' if clock == 24 else '%I:%M:%S %p'}"


def convert(value: str, dateformat: str, clock: int) -> str:
    if not value:
        return ""
    return datetime.strptime(value, STANDARD).strftime(strftime_pattern(dateformat, clock))


def test_read_by_name_userinfo_gives_the_users_recordno(gw: Gateway) -> None:
    """Estuary's start-up call, verbatim."""
    result = gw.result(
        "<readByName><object>USERINFO</object><keys>sim-user</keys><fields>RECORDNO</fields></readByName>"
    )
    assert result.findtext("status") == "success"
    assert result.findtext("function") == "readByName"
    assert data_attrs(result) == {"listtype": "USERINFO", "count": "1"}
    assert records_of(result) == [{"RECORDNO": "3"}]
    unknown = gw.result("<readByName><object>USERINFO</object><keys>nobody</keys></readByName>")
    assert data_attrs(unknown)["count"] == "0" and records_of(unknown) == []


def test_read_user_formatting_shape_and_defaults(gw: Gateway) -> None:
    by_key = gw.result("<readUserFormatting><key>3</key></readUserFormatting>")
    by_login = gw.result("<readUserFormatting><userId>sim-user</userId></readUserFormatting>")
    for result in (by_key, by_login):
        assert result.findtext("status") == "success"
        formatting = result.find("./data/userformatting")
        assert formatting is not None
        assert [child.tag for child in formatting] == [
            "recordno",
            "locale",
            "dateformat",
            "gmtoffset",
            "clock",
        ]
        values = {child.tag: child.text for child in formatting}
        assert values["recordno"] == "3"
        assert (values["locale"], values["dateformat"], values["clock"]) == ("en_US", "/mdY", "24")
        offset = datetime.now(ZoneInfo("America/Los_Angeles")).utcoffset()
        assert offset is not None
        hours = int(offset.total_seconds()) // 3600
        assert values["gmtoffset"] == f"-{abs(hours):02d}:00"
        # Estuary parses the offset with %z, which accepts this form.
        assert datetime.strptime(values["gmtoffset"] or "", "%z").utcoffset() == offset
    missing = gw.result("<readUserFormatting><key>999</key></readUserFormatting>")
    assert missing.findtext("status") == "failure"
    assert error_of(missing)["errorno"] == "DL02000001"


def test_gmtoffset_follows_the_tenant_zone_and_style(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5, timezone="Asia/Kolkata", gmtoffset_style="compact")
    result = Gateway(sim).result("<readUserFormatting><key>3</key></readUserFormatting>")
    assert result.findtext("./data/userformatting/gmtoffset") == "+0530"


def test_userinfo_is_queryable(gw: Gateway) -> None:
    result = gw.query(
        "USERINFO",
        ["RECORDNO", "LOGINID", "WHENCREATED", "WHENMODIFIED", "STATUS"],
        order=[("RECORDNO", "ascending")],
    )
    rows = records_of(result)
    assert [r["RECORDNO"] for r in rows] == ["1", "3", "7", "12", "28"]
    assert rows[1]["LOGINID"] == "sim-user"
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", r["WHENCREATED"]) for r in rows)


def test_renamed_user_is_found_by_its_new_login(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5)
    sim.configure(user_id="etl-bot")
    inner = function("<readByName><object>USERINFO</object><keys>etl-bot</keys></readByName>")
    doc = parse(Gateway(sim).post(envelope(inner, auth=login_xml(userid="etl-bot"))))
    assert records_of(results(doc)[0])[0]["RECORDNO"] == "3"


@pytest.mark.parametrize(("dateformat", "clock"), [(".dmy", 12), ("-Ymd", 24), (" dmY", 12), ("/mdY", 12)])
def test_every_time_value_follows_the_user_preference(
    make_sim: Callable[..., Simulator], dateformat: str, clock: int
) -> None:
    sim = make_sim(records=60, private_needs_showprivate=False)  # readByQuery sees every record too
    gw = Gateway(sim)
    fields = ["RECORDNO", *TIME_FIELDS]
    standard = records_of(gw.query("CUSTOMER", fields, pagesize=2000))
    audit_standard = records_of(gw.query("AUDITHISTORY", ["ACCESSTIME"], pagesize=2000))
    sim.configure(date_format=dateformat, clock=clock)
    expected = [
        {"RECORDNO": r["RECORDNO"], **{f: convert(r[f], dateformat, clock) for f in TIME_FIELDS}}
        for r in standard
    ]
    assert records_of(gw.query("CUSTOMER", fields, pagesize=2000)) == expected
    body = gw.raw(query_xml("CUSTOMER", fields, pagesize=2000, options="<returnformat>json</returnformat>"))
    assert json.loads(body.content) == expected
    text = gw.raw(query_xml("CUSTOMER", fields, pagesize=2000, options="<returnformat>csv</returnformat>"))
    assert list(csv.DictReader(io.StringIO(text.content.decode(), newline=""))) == expected
    first = gw.result(
        "<readByQuery><object>CUSTOMER</object><query></query><fields>RECORDNO,WHENCREATED,WHENMODIFIED</fields>"
        "<pagesize>25</pagesize></readByQuery>"
    )
    more = gw.result(f"<readMore><resultId>{data_attrs(first)['resultId']}</resultId></readMore>")
    assert records_of(first) + records_of(more) == expected[:50]
    audit = records_of(gw.query("AUDITHISTORY", ["ACCESSTIME"], pagesize=2000))
    assert audit == [{"ACCESSTIME": convert(r["ACCESSTIME"], dateformat, clock)} for r in audit_standard]
    assert sim.records("CUSTOMER")[0]["WHENCREATED"] == expected[0]["WHENCREATED"]
    formatting = gw.result("<readUserFormatting><key>3</key></readUserFormatting>")
    assert formatting.findtext("./data/userformatting/dateformat") == dateformat
    assert formatting.findtext("./data/userformatting/clock") == str(clock)


@pytest.mark.parametrize("dateformat", [".dmy", "-Ymd", " dmY"])
def test_date_fields_follow_the_preference(make_sim: Callable[..., Simulator], dateformat: str) -> None:
    sim = make_sim(records=60)
    fields = ["RECORDNO", "WHENCREATED", "WHENDUE", "AUWHENCREATED"]  # date-only, DATE, TIMESTAMP
    standard = records_of(Gateway(sim).query("ARINVOICE", fields, pagesize=2000))
    sim.configure(date_format=dateformat)
    changed = records_of(Gateway(sim).query("ARINVOICE", fields, pagesize=2000))
    date_pattern = strftime_pattern(dateformat, 24).rsplit(" ", 1)[0]

    def as_date(value: str) -> str:
        return datetime.strptime(value, "%m/%d/%Y").strftime(date_pattern) if value else ""

    assert changed == [
        {
            "RECORDNO": r["RECORDNO"],
            "WHENCREATED": as_date(r["WHENCREATED"]),
            "WHENDUE": as_date(r["WHENDUE"]),
            "AUWHENCREATED": convert(r["AUWHENCREATED"], dateformat, 24),
        }
        for r in standard
    ]


def test_twelve_hour_clock_is_written_with_am_pm(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5, clock=12)
    key = sim.upsert("CUSTOMER", {"WHENMODIFIED": "02/19/2024 08:18:00 AM"})
    late = sim.upsert("CUSTOMER", {"WHENMODIFIED": "02/19/2024 12:05:09 PM"})
    rows = {r["RECORDNO"]: r for r in sim.records("CUSTOMER")}
    assert rows[str(key)]["WHENMODIFIED"] == "02/19/2024 08:18:00 AM"
    assert rows[str(late)]["WHENMODIFIED"] == "02/19/2024 12:05:09 PM"


def test_aggregates_of_time_fields_follow_the_preference(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=30, date_format="-Ymd")
    result = Gateway(sim).result(
        "<query><object>CUSTOMER</object><select><max>WHENCREATED</max></select></query>"
    )
    (record,) = records_of(result)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record["MAX.WHENCREATED"])


def test_preferences_are_validated_over_http(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5)
    url = sim.base_url + "/__sim__/config"
    assert requests.post(url, json={"date_format": "mdY"}, timeout=10).status_code == 400
    assert requests.post(url, json={"date_format": "/mYd"}, timeout=10).status_code == 400
    assert requests.post(url, json={"clock": 13}, timeout=10).status_code == 400
    answer = requests.post(
        url, json={"date_format": ".dmY", "clock": 12, "locale": "en_GB"}, timeout=10
    ).json()
    assert (answer["date_format"], answer["clock"], answer["locale"]) == (".dmY", 12, "en_GB")
    result = Gateway(sim).result("<readUserFormatting><key>3</key></readUserFormatting>")
    assert result.findtext("./data/userformatting/locale") == "en_GB"


def test_cli_flags_for_the_preferences() -> None:
    args = build_parser().parse_args(["--date-format=-Ymd", "--clock", "12", "--locale", "fr_FR"])
    config = config_from_args(args)
    assert (config.date_format, config.clock, config.locale) == ("-Ymd", 12, "fr_FR")
    with pytest.raises(ValueError):
        config_from_args(build_parser().parse_args(["--date-format", "Ymd"]))
