"""Multi-entity visibility: a top-level session sees entity-owned ("private") records only with
<showprivate>true</showprivate> (official docs; every query of the hotglue/Meltano taps and of the recorded
traffic sends it; fylein PR #65); entity sessions see their entity's records."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from intacct_sim import Simulator
from intacct_sim.cli import build_parser, config_from_args
from tests.sim.sim_support import Gateway, data_attrs, query_xml, records_of, top_level

SHOW = "<showprivate>true</showprivate>"


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(records=240, seed=31)


def _query(
    gw: Gateway, obj: str = "CUSTOMER", options: str = "", **kwargs: object
) -> tuple[list[str], dict[str, str]]:
    result = gw.query(
        obj, ["RECORDNO"], options=options, showprivate=False, order=[("RECORDNO", "ascending")], **kwargs
    )
    assert result.findtext("status") == "success", result.findtext(".//description2")
    return [r["RECORDNO"] for r in records_of(result)], data_attrs(result)


def test_top_level_query_hides_private_records_without_showprivate(sim: Simulator) -> None:
    gw = Gateway(sim)
    everyone = [r["RECORDNO"] for r in sim.records("CUSTOMER")]
    top = [r["RECORDNO"] for r in top_level(sim.records("CUSTOMER"))]
    assert 0 < len(top) < len(everyone)
    hidden, attrs = _query(gw, pagesize=50)
    assert hidden == top[:50]
    assert attrs["totalcount"] == str(len(top))
    assert attrs["numremaining"] == str(len(top) - 50)
    shown, attrs = _query(gw, options=SHOW, pagesize=2000)
    assert shown == everyone and attrs["totalcount"] == str(len(everyone))
    explicit_false, _ = _query(gw, options="<showprivate>false</showprivate>", pagesize=2000)
    assert explicit_false == top


def test_the_count_probe_of_the_taps(sim: Simulator) -> None:
    """hotglue's probe: select RECORDNO, pagesize 1, showprivate true (recorded on every stream)."""
    gw = Gateway(sim)
    _, with_option = _query(gw, options=SHOW, pagesize=1)
    _, without = _query(gw, pagesize=1)
    assert int(with_option["totalcount"]) == len(sim.records("CUSTOMER"))
    assert int(without["totalcount"]) == len(top_level(sim.records("CUSTOMER")))
    counted = records_of(
        gw.result("<query><object>CUSTOMER</object><select><count>RECORDNO</count></select></query>")
    )
    assert counted == [{"COUNT.RECORDNO": without["totalcount"]}]


def test_read_by_query_has_no_option_and_sees_the_top_level_only(sim: Simulator) -> None:
    gw = Gateway(sim)
    top = [r["RECORDNO"] for r in top_level(sim.records("VENDOR"))]
    first = gw.result(
        "<readByQuery><object>VENDOR</object><query></query><fields>RECORDNO</fields><pagesize>30</pagesize>"
        "</readByQuery>"
    )
    attrs = data_attrs(first)
    assert attrs["totalcount"] == str(len(top))
    keys = [r["RECORDNO"] for r in records_of(first)]
    more = gw.result(f"<readMore><resultId>{attrs['resultId']}</resultId></readMore>")
    keys += [r["RECORDNO"] for r in records_of(more)]
    assert keys == top[:60]
    refused = gw.result(
        "<readByQuery><object>VENDOR</object><query></query><showprivate>true</showprivate></readByQuery>"
    )
    assert refused.findtext("status") == "failure"  # not an element of readByQuery (XSD)


def test_read_by_name_follows_the_same_rule(sim: Simulator) -> None:
    gw = Gateway(sim)
    private = next(r for r in sim.records("CUSTOMER") if r["MEGAENTITYID"] == "UK")
    inner = (
        f"<readByName><object>CUSTOMER</object><keys>{private['CUSTOMERID']}</keys>"
        "<fields>RECORDNO</fields></readByName>"
    )
    assert data_attrs(gw.result(inner))["count"] == "0"
    gw.login(locationid="UK")
    assert records_of(gw.result(inner)) == [{"RECORDNO": private["RECORDNO"]}]


def test_entity_sessions_see_their_entity_and_the_shared_top_level(sim: Simulator) -> None:
    gw = Gateway(sim)
    gw.login(locationid="DE")
    rows = sim.records("CUSTOMER")
    expected = [
        r["RECORDNO"]
        for r in rows
        if r["MEGAENTITYID"] == "DE"
        or (not r["MEGAENTITYID"] and r["OBJECTRESTRICTION"] not in ("RootOnly", "Restricted"))
    ]
    assert _query(gw, pagesize=2000)[0] == expected
    assert _query(gw, options=SHOW, pagesize=2000)[0] == expected  # other entities stay private
    read = gw.result(
        "<readByQuery><object>CUSTOMER</object><query></query><fields>RECORDNO</fields><pagesize>1000</pagesize>"
        "</readByQuery>"
    )
    assert [r["RECORDNO"] for r in records_of(read)] == expected


def test_lines_follow_their_headers_owner(sim: Simulator) -> None:
    """Lines have no MEGAENTITY fields (recorded lists): who sees them follows the header (harsher case)."""
    gw = Gateway(sim)
    headers = {r["RECORDNO"]: r["MEGAENTITYID"] for r in sim.records("ARINVOICE")}
    assert "" in headers.values() and set(headers.values()) - {""}
    lines = sim.records("ARINVOICEITEM")
    top_lines = [r["RECORDNO"] for r in lines if headers[r["RECORDKEY"]] == ""]
    assert _query(gw, "ARINVOICEITEM", pagesize=2000)[0] == top_lines
    assert _query(gw, "ARINVOICEITEM", options=SHOW, pagesize=2000)[0] == [r["RECORDNO"] for r in lines]
    gw.login(locationid="UK")
    uk_lines = [r["RECORDNO"] for r in lines if headers[r["RECORDKEY"]] in ("UK", "")]
    assert _query(gw, "ARINVOICEITEM", pagesize=2000)[0] == uk_lines
    changed = sim.mutate("ARINVOICEITEM", inserts=3)
    new_lines = {
        r["RECORDNO"]: r for r in sim.records("ARINVOICEITEM") if int(r["RECORDNO"]) in changed["inserted"]
    }
    visible_now = set(_query(gw, "ARINVOICEITEM", pagesize=2000)[0])
    for key, line in new_lines.items():
        assert (key in visible_now) == (headers[line["RECORDKEY"]] in ("UK", ""))


def test_objects_without_entities_are_unaffected(sim: Simulator) -> None:
    gw = Gateway(sim)
    assert _query(gw, "AUDITHISTORY", pagesize=1)[1]["totalcount"] == str(len(sim.records("AUDITHISTORY")))
    assert _query(gw, "DEPARTMENT", pagesize=1)[1]["totalcount"] == str(len(sim.records("DEPARTMENT")))


def test_hiding_can_be_turned_off_at_run_time(sim: Simulator) -> None:
    gw = Gateway(sim)
    answer = requests.post(
        sim.base_url + "/__sim__/config", json={"private_needs_showprivate": False}, timeout=10
    )
    assert answer.json()["private_needs_showprivate"] is False
    assert _query(gw, pagesize=1)[1]["totalcount"] == str(len(sim.records("CUSTOMER")))
    sim.configure(private_needs_showprivate=True)
    assert _query(gw, pagesize=1)[1]["totalcount"] == str(len(top_level(sim.records("CUSTOMER"))))


def test_share_of_top_level_records_and_flags(make_sim: Callable[..., Simulator]) -> None:
    owned = make_sim(records=100, top_level_percent=0)
    assert all(r["MEGAENTITYID"] for r in owned.records("CUSTOMER"))
    assert _query(Gateway(owned), pagesize=1)[1]["totalcount"] == "0"
    args = build_parser().parse_args(["--top-level-percent", "10", "--private-needs-showprivate", "false"])
    config = config_from_args(args)
    assert (config.top_level_percent, config.private_needs_showprivate) == (10, False)
    assert query_xml("X", ["Y"]).count("showprivate") == 2  # the test client sends it by default
