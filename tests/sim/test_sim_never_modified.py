"""Records created and never modified have an empty WHENMODIFIED (Estuary's connector reads them with
``WHENMODIFIED isnull`` and ``WHENCREATED`` in the window), and filters treat it as SQL NULL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from intacct_sim import Simulator, SimulatorConfig
from intacct_sim.cli import build_parser, config_from_args
from tests.sim.sim_support import Gateway, cmp, data_attrs, query_xml, records_of

ISNULL = "<isnull><field>WHENMODIFIED</field></isnull>"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    from intacct_sim import start_simulator

    started = start_simulator(SimulatorConfig(records=2000, seed=21, port=0))
    yield started
    started.stop()


def _keys(gw: Gateway, filter_xml: str, obj: str = "CUSTOMER") -> list[str]:
    result = gw.query(
        obj, ["RECORDNO"], filter_xml=filter_xml, order=[("RECORDNO", "ascending")], pagesize=2000
    )
    assert result.findtext("status") == "success", result.findtext(".//description2")
    return [r["RECORDNO"] for r in records_of(result)]


def test_a_small_share_is_never_modified(sim: Simulator) -> None:
    rows = sim.records("CUSTOMER")
    never = [r for r in rows if r["WHENMODIFIED"] == ""]
    assert 0.01 * len(rows) <= len(never) <= 0.035 * len(rows)  # default 2 %
    assert all(r["WHENCREATED"] for r in never)
    assert all(r["MODIFIEDBY"] == r["CREATEDBY"] for r in never)


def test_empty_values_on_the_wire(sim: Simulator) -> None:
    gw = Gateway(sim)
    key = next(r["RECORDNO"] for r in sim.records("CUSTOMER") if not r["WHENMODIFIED"])
    flt = cmp("equalto", "RECORDNO", key)
    xml = gw.raw(query_xml("CUSTOMER", ["RECORDNO", "WHENMODIFIED"], filter_xml=flt)).content
    assert b"<WHENMODIFIED></WHENMODIFIED>" in xml
    body = gw.raw(
        query_xml(
            "CUSTOMER",
            ["RECORDNO", "WHENMODIFIED"],
            filter_xml=flt,
            options="<returnformat>json</returnformat>",
        )
    )
    assert json.loads(body.content) == [{"RECORDNO": key, "WHENMODIFIED": ""}]


def test_sql_null_semantics_in_filters(sim: Simulator) -> None:
    gw = Gateway(sim)
    rows = sim.records("CUSTOMER")
    never = [r["RECORDNO"] for r in rows if not r["WHENMODIFIED"]]
    stamped = [r["RECORDNO"] for r in rows if r["WHENMODIFIED"]]
    assert _keys(gw, ISNULL) == never
    assert _keys(gw, "<isnotnull><field>WHENMODIFIED</field></isnotnull>") == stamped
    everything = cmp("greaterthanorequalto", "WHENMODIFIED", "01/01/1990 00:00:00")
    assert _keys(gw, everything) == stamped  # a comparison never matches NULL
    assert _keys(gw, cmp("notequalto", "WHENMODIFIED", "01/01/1990 00:00:00")) == stamped
    assert _keys(gw, f"<or>{ISNULL}{everything}</or>") == [r["RECORDNO"] for r in rows]
    result = gw.result(
        "<readByQuery><object>CUSTOMER</object><query>WHENMODIFIED IS NULL</query><fields>RECORDNO</fields>"
        "<pagesize>1000</pagesize></readByQuery>"
    )
    top = {r["RECORDNO"] for r in rows if not r["MEGAENTITYID"]}  # readByQuery: no showprivate option
    assert [r["RECORDNO"] for r in records_of(result)] == [k for k in never if k in top]


def test_estuarys_creations_query(sim: Simulator) -> None:
    """and(isnull WHENMODIFIED, WHENCREATED > cursor) ordered by WHENCREATED, as Estuary sends it."""
    gw = Gateway(sim)

    def when(text: str) -> datetime:
        return datetime.strptime(text, "%m/%d/%Y %H:%M:%S")

    rows = [r for r in sim.records("CUSTOMER") if not r["WHENMODIFIED"]]
    cursor = sorted((r["WHENCREATED"] for r in rows), key=when)[len(rows) // 2]
    flt = f"<and>{ISNULL}{cmp('greaterthan', 'WHENCREATED', cursor)}</and>"
    result = gw.query(
        "CUSTOMER",
        ["RECORDNO", "WHENCREATED"],
        filter_xml=flt,
        order=[("WHENCREATED", "ascending")],
        pagesize=2000,
    )
    got = records_of(result)
    assert got and [when(r["WHENCREATED"]) for r in got] == sorted(when(r["WHENCREATED"]) for r in got)
    assert {r["RECORDNO"] for r in got} == {
        r["RECORDNO"] for r in rows if when(r["WHENCREATED"]) > when(cursor)
    }


def test_lines_follow_their_header(sim: Simulator) -> None:
    headers = {r["RECORDNO"]: r["WHENMODIFIED"] for r in sim.records("GLBATCH")}
    assert "" in headers.values()
    for line in sim.records("GLENTRY"):
        assert (line["WHENMODIFIED"] == "") == (headers[line["BATCHNO"]] == "")


def test_generated_history_has_no_modification_of_them(sim: Simulator) -> None:
    never = {r["RECORDNO"] for r in sim.records("CUSTOMER") if not r["WHENMODIFIED"]}
    audit = [a for a in sim.records("AUDITHISTORY") if a["OBJECTTYPE"] == "customer"]
    assert not [a for a in audit if a["ACCESSMODE"] == "M" and a["OBJECTKEY"] in never]


def test_a_run_time_update_sets_whenmodified(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=400, never_modified_percent=10)
    never = [r["RECORDNO"] for r in sim.records("CUSTOMER") if not r["WHENMODIFIED"]]
    assert len(never) >= 10
    sim.upsert("CUSTOMER", {"RECORDNO": never[0], "NAME": "Touched"})
    row = next(r for r in sim.records("CUSTOMER") if r["RECORDNO"] == never[0])
    assert row["WHENMODIFIED"] and row["NAME"] == "Touched"
    gw = Gateway(sim)
    assert never[0] not in _keys(gw, ISNULL)


def test_setting_off_flag_and_validation(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=300, never_modified_percent=0)
    assert all(r["WHENMODIFIED"] for r in sim.records("CUSTOMER"))
    assert data_attrs(Gateway(sim).query("VENDOR", ["RECORDNO"], filter_xml=ISNULL))["totalcount"] == "0"
    args = build_parser().parse_args(["--never-modified-percent", "5"])
    assert config_from_args(args).never_modified_percent == 5
    with pytest.raises(ValueError):
        SimulatorConfig(never_modified_percent=120)
