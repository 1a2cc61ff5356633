"""AUDITHISTORY as production connectors meet it: rows keyed by a TEXT ID, OBJECTKEY in the object's own
form, no usable RECORDNO, Estuary's deletion queries, and the permission denial Estuary probes for."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
import requests

from intacct_sim import Simulator, SimulatorConfig, start_simulator
from intacct_sim.cli import build_parser, config_from_args
from tests.sim.sim_support import Gateway, cmp, data_attrs, error_of, records_of

DELETIONS = (
    "<and><equalto><field>OBJECTTYPE</field><value>{obj}</value></equalto>"
    "<equalto><field>ACCESSMODE</field><value>D</value></equalto>{extra}</and>"
)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    started = start_simulator(SimulatorConfig(records=3000, seed=13, port=0))
    yield started
    started.stop()


def _json(
    gw: Gateway, fields: list[str], filter_xml: str, order: list[tuple[str, str]]
) -> list[dict[str, str]]:
    from tests.sim.sim_support import query_xml

    body = gw.raw(
        query_xml(
            "AUDITHISTORY",
            fields,
            filter_xml=filter_xml,
            order=order,
            pagesize=2000,
            options="<returnformat>json</returnformat>",
        )
    ).content
    rows: list[dict[str, str]] = json.loads(body)
    return rows


def test_rows_are_keyed_by_a_text_id(sim: Simulator, gw_factory: Callable[[Simulator], Gateway]) -> None:
    gw = gw_factory(sim)
    fields = {
        f.findtext("ID"): f.findtext("DATATYPE")
        for f in gw.result("<lookup><object>AUDITHISTORY</object></lookup>").iter("Field")
    }
    assert fields["ID"] == "TEXT" and fields["OBJECTKEY"] == "TEXT" and fields["ACCESSTIME"] == "TIMESTAMP"
    rows = sim.records("AUDITHISTORY")
    ids = [r["ID"] for r in rows]
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)
    assert len({len(i) for i in ids}) >= 3  # grows by digits: '999' < '1000' as numbers, not as text
    by_id = [
        r["ID"]
        for r in records_of(gw.query("AUDITHISTORY", ["ID"], order=[("ID", "ascending")], pagesize=2000))
    ]
    assert by_id == sorted(ids)[:2000]  # the server orders a TEXT key as text


def test_estuarys_deletion_walk_finds_every_delete_once(
    sim: Simulator, gw_factory: Callable[[Simulator], Gateway]
) -> None:
    """get_deletions_since_request, then get_deletions_at_request for ties (``ID > last`` by ID)."""
    gw = gw_factory(sim)
    expected = {
        r["ID"]
        for r in sim.records("AUDITHISTORY")
        if r["OBJECTTYPE"] == "customer" and r["ACCESSMODE"] == "D"
    }
    assert expected
    seen: list[str] = []
    cursor = "01/01/2000 00:00:00"
    for _ in range(50):
        page = _json(
            gw,
            ["OBJECTKEY", "ACCESSTIME", "ID"],
            DELETIONS.format(obj="customer", extra=cmp("greaterthan", "ACCESSTIME", cursor)),
            [("ACCESSTIME", "ascending")],
        )
        if not page:
            break
        last = page[-1]["ACCESSTIME"]
        seen += [r["ID"] for r in page if r["ACCESSTIME"] != last]
        after = ""
        while True:
            extra = cmp("equalto", "ACCESSTIME", last) + (cmp("greaterthan", "ID", after) if after else "")
            tie = _json(
                gw,
                ["OBJECTKEY", "ACCESSTIME", "ID"],
                DELETIONS.format(obj="customer", extra=extra),
                [("ID", "ascending")],
            )
            if not tie:
                break
            seen += [r["ID"] for r in tie]
            after = tie[-1]["ID"]
        cursor = last
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))


def test_objectkey_is_the_objects_name_field_or_recordno_rec(sim: Simulator) -> None:
    rows = sim.records("AUDITHISTORY")
    keys: dict[str, set[str]] = {}
    for r in rows:
        keys.setdefault(r["OBJECTTYPE"], set()).add(r["OBJECTKEY"])
    assert all(re.fullmatch(r"C-\d{7}", k) for k in keys["customer"])  # CUSTOMERID (estuary #5217)
    assert all(re.fullmatch(r"V-\d{7}", k) for k in keys["vendor"])  # VENDORID
    assert all(re.fullmatch(r"\d+--REC", k) for k in keys["arinvoice"])  # no name field: '<RECORDNO>--REC'
    assert all(re.fullmatch(r"\d+", k) for k in keys["glaccount"])  # ACCOUNTNO: digits, yet not a RECORDNO
    live = {r["CUSTOMERID"] for r in sim.records("CUSTOMER")}
    created = {r["OBJECTKEY"] for r in rows if r["OBJECTTYPE"] == "customer" and r["ACCESSMODE"] == "C"}
    assert created <= live


def test_rec_form_and_bare_keys(make_sim: Callable[..., Simulator]) -> None:
    rec = make_sim(records=300, audit_objectkey="rec")
    assert all(re.fullmatch(r"\d+--REC", r["OBJECTKEY"]) for r in rec.records("AUDITHISTORY"))
    key = rec.records("VENDOR")[3]["RECORDNO"]
    rec.delete("VENDOR", key)
    assert rec.records("AUDITHISTORY")[-1]["OBJECTKEY"] == f"{key}--REC"
    bare = make_sim(records=300, audit_objectkey="rec", audit_bare_key_percent=50)
    forms = {"bare" if r["OBJECTKEY"].isdigit() else "rec" for r in bare.records("AUDITHISTORY")}
    assert forms == {"bare", "rec"}


def test_recordno_is_selectable_but_empty(sim: Simulator, gw_factory: Callable[[Simulator], Gateway]) -> None:
    """Estuary's permission probe selects RECORDNO with pagesize 1 and expects success."""
    gw = gw_factory(sim)
    probe = gw.result(
        "<query><object>AUDITHISTORY</object><select><field>RECORDNO</field></select><pagesize>1</pagesize></query>"
    )
    assert probe.findtext("status") == "success"
    assert records_of(probe) == [{"RECORDNO": ""}]
    assert (
        data_attrs(
            gw.query("AUDITHISTORY", ["ID"], filter_xml="<isnotnull><field>RECORDNO</field></isnotnull>")
        )["totalcount"]
        == "0"
    )


def test_recordno_absent_or_present(make_sim: Callable[..., Simulator]) -> None:
    absent = make_sim(records=50, audit_recordno="absent")
    gw = Gateway(absent)
    listed = [
        f.findtext("ID") for f in gw.result("<lookup><object>AUDITHISTORY</object></lookup>").iter("Field")
    ]
    assert "RECORDNO" not in listed
    error = error_of(gw.query("AUDITHISTORY", ["RECORDNO", "ID"]))
    assert error["errorno"] == "DL02000001" and "\n\taudithistory: [RECORDNO] " in error["description2"]
    present = make_sim(records=50, audit_recordno="present")
    rows = present.records("AUDITHISTORY")
    assert all(r["RECORDNO"] == r["ID"] for r in rows)


def test_permission_denied_audithistory_as_estuary_meets_it(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=50, denied_objects=["audithistory"])
    gw = Gateway(sim)
    result = gw.result(
        "<query><object>AUDITHISTORY</object><select><field>RECORDNO</field></select><pagesize>1</pagesize></query>"
    )
    assert result.findtext("status") == "failure"
    error = error_of(result)
    assert error["errorno"] == ""  # "AUDITHISTORY denials arrive without an errorno" (Estuary models.py)
    assert "do not have permission to view audit history" in error["description2"].lower()
    assert gw.query("CUSTOMER", ["RECORDNO"], pagesize=1).findtext("status") == "success"
    sim.configure(audit_denial_errorno="PL04000005")
    assert error_of(gw.query("AUDITHISTORY", ["ID"]))["errorno"] == "PL04000005"
    lookup = gw.result("<lookup><object>AUDITHISTORY</object></lookup>")
    assert lookup.findtext("status") == "success"  # lookup bypasses permissions (Estuary's note)


def test_permission_denied_other_objects_is_pl04000005(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=50)
    gw = Gateway(sim)
    requests.post(sim.base_url + "/__sim__/config", json={"denied_objects": ["ARINVOICE"]}, timeout=10)
    error = error_of(gw.result("<readByQuery><object>ARINVOICE</object><query></query></readByQuery>"))
    assert error["errorno"] == "PL04000005"
    assert error["description2"].startswith(
        "You do not have permission for API operation READ_BY_QUERY on objects of type arinvoice "
        "[Support ID: "
    )
    assert error_of(gw.query("ARINVOICE", ["RECORDNO"]))["errorno"] == "PL04000005"
    sim.configure(denied_objects=[])
    assert gw.query("ARINVOICE", ["RECORDNO"]).findtext("status") == "success"


def test_settings_from_the_command_line() -> None:
    args = build_parser().parse_args(
        [
            "--audit-objectkey",
            "rec",
            "--audit-recordno",
            "absent",
            "--denied-objects",
            "AUDITHISTORY,apbill",
            "--audit-bare-key-percent",
            "3",
            "--audit-denial-errorno",
            "PL04000005",
        ]
    )
    config = config_from_args(args)
    assert (config.audit_objectkey, config.audit_recordno, config.audit_bare_key_percent) == (
        "rec",
        "absent",
        3,
    )
    assert (config.denied_objects, config.audit_denial_errorno) == (["AUDITHISTORY", "APBILL"], "PL04000005")
    with pytest.raises(ValueError):
        SimulatorConfig(audit_objectkey="id")
