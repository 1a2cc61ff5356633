"""Fields lookup lists but query refuses (recorded PROJECT failure; hotglue PR #7, fylein PR #85, Estuary's
FORBIDDEN_FIELDS), fields every record silently lacks (recorded ITEM), and unknown fields."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import requests

from intacct_sim import Simulator
from intacct_sim.cli import build_parser, config_from_args
from intacct_sim.schema import ITEM_SILENTLY_OMITTED, OBJECTS, PROJECT_REFUSED
from tests.sim.sim_support import Gateway, envelope, error_of, function, parse, query_xml

PROJECT_FIRST_ATTEMPT = [f.name for f in OBJECTS["PROJECT"].fields]  # the 139 of the recorded request
PROJECT_RETRY = [f for f in PROJECT_FIRST_ATTEMPT if f not in PROJECT_REFUSED]  # the 129 of the retry


def test_the_recorded_project_failure(gw: Gateway) -> None:
    response = gw.post(
        envelope(function(query_xml("PROJECT", PROJECT_FIRST_ATTEMPT, pagesize=1000)), sessionid=gw.login())
    )
    assert response.status_code == 200
    doc = parse(response)
    assert doc.findtext("./control/status") == "success"
    result = doc.find("./operation/result")
    assert result is not None and result.findtext("status") == "failure" and result.find("data") is None
    error = error_of(result)
    assert error["errorno"] == "DL02000001" and len(error["errorno"]) == 10
    assert (error["description"], error["correction"]) == ("", "")
    assert len(error["description2"]) == 292  # the recorded (scrubbed, length-kept) description2
    # fylein/sageintacct-sdk-py allocation_entry.py (PR #85) parses the list like this:
    match = re.search(r"\n\tproject: \[(.*?)\]", error["description2"])
    assert match and match.group(1).split(", ") == list(PROJECT_REFUSED)
    # hotgluexyz/tap-intacct (PR #7) reads the names from character 70 on:
    assert error["description2"][70:].startswith("CFDA, FUNDEDNAME")


def test_the_retry_without_them_succeeds(gw: Gateway) -> None:
    result = gw.query("PROJECT", PROJECT_RETRY, pagesize=1000)
    assert result.findtext("status") == "success"
    records = result.findall("./data/PROJECT")
    assert records and [c.tag for c in records[0]] == PROJECT_RETRY


def test_lookup_lists_the_refused_fields(gw: Gateway) -> None:
    listed = [f.findtext("ID") for f in gw.result("<lookup><object>PROJECT</object></lookup>").iter("Field")]
    assert set(PROJECT_REFUSED) <= set(listed)


def test_refused_fields_fail_in_filters_orderby_and_read_by_query(gw: Gateway) -> None:
    flt = "<isnull><field>AGENCY</field></isnull>"
    for result in (
        gw.query("PROJECT", ["RECORDNO"], filter_xml=flt),
        gw.query("PROJECT", ["RECORDNO"], order=[("PAYER", "ascending")]),
        gw.result(
            "<readByQuery><object>PROJECT</object><query></query><fields>RECORDNO,CFDA</fields></readByQuery>"
        ),
    ):
        error = error_of(result)
        assert error["errorno"] == "DL02000001" and "\n\tproject: [" in error["description2"]
    star = gw.result("<readByQuery><object>PROJECT</object><query></query><fields>*</fields></readByQuery>")
    fields = {c.tag for record in star.findall("./data/project") for c in record}
    assert fields and not fields & set(PROJECT_REFUSED)


def test_item_silently_omits_seven_requested_fields(gw: Gateway, shared_sim: Simulator) -> None:
    fields = [f.name for f in OBJECTS["ITEM"].fields]
    assert len(fields) == 165
    result = gw.query("ITEM", fields, pagesize=5)
    assert result.findtext("status") == "success"
    record = result.find("./data/ITEM")
    assert record is not None
    tags = [c.tag for c in record]
    assert len(tags) == 158 and not set(tags) & set(ITEM_SILENTLY_OMITTED)
    assert tags[tags.index("BASEPRICE") + 1] == "AUTOPRINTLABEL"  # as recorded
    body = gw.raw(query_xml("ITEM", fields, pagesize=5, options="<returnformat>json</returnformat>")).content
    assert not set(json.loads(body)[0]) & set(ITEM_SILENTLY_OMITTED)
    only = gw.query("ITEM", ["RECORDNO", "REORDER_POINT"], pagesize=2)
    assert [[c.tag for c in r] for r in only.findall("./data/ITEM")] == [["RECORDNO"], ["RECORDNO"]]


def test_user_defined_dimensions_have_no_recordno(gw: Gateway) -> None:
    error = error_of(gw.query("DIMENSION", ["id", "RECORDNO"]))
    assert error["errorno"] == "DL02000001"
    assert "\n\tdimension: [RECORDNO] [Support ID: " in error["description2"]


def test_refused_and_omitted_fields_for_any_object(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=30)
    gw = Gateway(sim)
    answer = requests.post(
        sim.base_url + "/__sim__/config",
        json={
            "refused_fields": {"customer": ["TERMNAME", "CUSTREPID"]},
            "omitted_fields": {"VENDOR": ["VENDTYPE"]},
        },
        timeout=10,
    ).json()
    assert answer["refused_fields"] == {"CUSTOMER": ["TERMNAME", "CUSTREPID"]}
    error = error_of(gw.query("CUSTOMER", ["RECORDNO", "CUSTREPID", "NAME", "TERMNAME", "NOPE"]))
    assert "\n\tcustomer: [CUSTREPID, TERMNAME, NOPE] " in error["description2"]
    vendor = gw.query("VENDOR", ["RECORDNO", "VENDTYPE"], pagesize=1).find("./data/VENDOR")
    assert vendor is not None and [c.tag for c in vendor] == ["RECORDNO"]
    project = gw.query("PROJECT", PROJECT_FIRST_ATTEMPT, pagesize=1)  # the defaults were replaced
    assert project.findtext("status") == "success"
    bad = requests.post(sim.base_url + "/__sim__/config", json={"refused_fields": ["X"]}, timeout=10)
    assert bad.status_code == 400


def test_cli_flags() -> None:
    args = build_parser().parse_args(
        ["--refused-fields", '{"VENDOR": ["NAME1099"]}', "--omitted-fields", "{}"]
    )
    config = config_from_args(args)
    assert (config.refused_fields, config.omitted_fields) == ({"VENDOR": ["NAME1099"]}, {})
    default = config_from_args(build_parser().parse_args([]))
    assert default.refused_fields == {"PROJECT": list(PROJECT_REFUSED)}
    assert default.omitted_fields == {"ITEM": list(ITEM_SILENTLY_OMITTED)}
