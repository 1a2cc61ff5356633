"""The request sequences of production peers, verbatim in shape, against the default simulator: every
step a real connector takes must get an answer its own parsing accepts."""

from __future__ import annotations

import json
import re
from datetime import datetime

from intacct_sim import Simulator
from intacct_sim.schema import PROJECT_REFUSED
from tests.sim.sim_support import Gateway, data_attrs, error_of, query_xml, records_of

# Estuary source-sage-intacct: sage.py DATATYPE_MAP and FORBIDDEN_FIELDS
ESTUARY_TYPES = {
    "TEXT",
    "INTEGER",
    "BOOLEAN",
    "DATE",
    "TIMESTAMP",
    "ENUM",
    "DECIMAL",
    "CURRENCY",
    "PERCENT",
    "SEQUENCE",
}
FORBIDDEN = {"PROJECT": set(PROJECT_REFUSED)}  # the same 10 fields


SINCE = "<greaterthan><field>WHENMODIFIED</field><value>01/01/2020 00:00:00</value></greaterthan>"


def test_estuarys_start_up_and_capture_steps(shared_sim: Simulator) -> None:
    gw = Gateway(shared_sim)
    gw.login()
    user = gw.result(
        "<readByName><object>USERINFO</object><keys>sim-user</keys><fields>RECORDNO</fields></readByName>"
    )
    recordno = int(records_of(user)[0]["RECORDNO"])
    formatting = gw.result(f"<readUserFormatting><key>{recordno}</key></readUserFormatting>")
    prefs = {c.tag: c.text for c in formatting.find("./data/userformatting")}  # type: ignore[union-attr]
    assert (prefs["locale"], prefs["clock"], prefs["dateformat"]) == (
        "en_US",
        "24",
        "/mdY",
    )  # what it accepts
    tz = datetime.strptime(prefs["gmtoffset"] or "", "%z").tzinfo
    for obj in ("CUSTOMER", "PROJECT", "ITEM", "AUDITHISTORY"):  # permission probes: select RECORDNO
        probe = gw.result(
            f"<query><object>{obj}</object><select><field>RECORDNO</field></select><pagesize>1</pagesize></query>"
        )
        assert probe.findtext("status") == "success", obj
    for obj in ("CUSTOMER", "PROJECT", "ITEM"):
        lookup = gw.result(f"<lookup><object>{obj}</object></lookup>")
        fields = [(f.findtext("ID") or "", f.findtext("DATATYPE") or "") for f in lookup.iter("Field")]
        assert {t for _, t in fields} <= ESTUARY_TYPES
        names = [n for n, _ in fields if n not in FORBIDDEN.get(obj, set())]
        response = gw.raw(
            query_xml(
                obj,
                names,
                filter_xml=SINCE,
                order=[("WHENMODIFIED", "ascending")],
                pagesize=2000,
                showprivate=False,
                options="<returnformat>json</returnformat>",
            )
        )
        assert response.headers["Content-Type"] == "application/json", obj  # compared literally
        records = json.loads(response.content)
        for record in records[:50]:
            stamp = record["WHENMODIFIED"]
            assert datetime.strptime(stamp, "%m/%d/%Y %H:%M:%S").replace(tzinfo=tz)
            for name, kind in fields:
                if kind == "TIMESTAMP" and record.get(name):  # Estuary: '%m/%d/%Y %H:%M:%S' or '%m/%d/%Y'
                    value = record[name]
                    assert re.fullmatch(r"\d\d/\d\d/\d{4}( \d\d:\d\d:\d\d)?", value), (obj, name, value)
                if kind == "BOOLEAN" and record.get(name):
                    assert record[name] in ("true", "false")


def test_hotglues_count_probe_data_query_and_field_retry(shared_sim: Simulator) -> None:
    gw = Gateway(shared_sim)
    window = (
        "<and><greaterthanorequalto><field>WHENMODIFIED</field><value>01/01/2000 00:00:01</value>"
        "</greaterthanorequalto><lessthanorequalto><field>WHENMODIFIED</field>"
        "<value>08/25/2030 19:00:00</value></lessthanorequalto></and>"
    )
    probe = gw.result(
        "<query><object>PROJECT</object><select><field>RECORDNO</field></select><pagesize>1</pagesize>"
        f"<options><showprivate>true</showprivate></options><filter>{window}</filter></query>"
    )
    total = int(data_attrs(probe)["totalcount"])
    fields = [f.name for f in shared_sim.dataset.table("PROJECT").spec.fields]
    inner = (
        "<query><object>PROJECT</object><select>"
        + "".join(f"<field>{f}</field>" for f in fields)
        + "</select>"
        f"<options><showprivate>true</showprivate></options><pagesize>1000</pagesize><offset>0</offset>"
        f"<filter>{window}</filter></query>"
    )
    failed = gw.result(inner)
    description2 = error_of(failed)["description2"]
    # fylein's parse (allocation_entry.py, PR #85), then the retry without the named fields:
    match = re.search(r"\n\tproject: \[(.*?)\]", description2)
    assert match
    for name in match.group(1).split(", "):
        fields.remove(name)
    retry = gw.result(
        inner.split("<select>")[0]
        + "<select>"
        + "".join(f"<field>{f}</field>" for f in fields)
        + "</select>"
        + inner.split("</select>")[1]
    )
    assert retry.findtext("status") == "success"
    assert len(retry.findall("./data/PROJECT")) == total
