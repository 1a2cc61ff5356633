"""Real objects: recorded field lists, lookup types, record sizes, value forms, '#' names, relationships,
date-only quirks, user-defined dimensions, getDimensions, lazy generation and mutations of every object
(real-objects/README.md and records/*.xml)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from intacct_sim import Simulator, SimulatorConfig, start_simulator
from intacct_sim.realobjects import PROFILES
from intacct_sim.schema import OBJECTS
from tests.sim.sim_support import Gateway, data_attrs, error_of, query_xml, records_of

REAL = Path(__file__).resolve().parents[2] / "docs" / "intacct" / "real-objects"
DATATYPES = {
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
STAMP = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$")
DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
# README table, bytes per record (the recorded, scrubbed sizes run slightly long).
SIZES = {"CUSTOMER": 10_100, "VENDOR": 12_500, "PODOCUMENT": 12_000, "ARINVOICE": 9_000, "GLDETAIL": 3_000}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    started = start_simulator(SimulatorConfig(records=400, seed=5, port=0))
    yield started
    started.stop()


@pytest.fixture
def gw(sim: Simulator) -> Gateway:
    gateway = Gateway(sim)
    gateway.login()
    return gateway


def _fields(obj: str) -> list[str]:
    return [line.strip() for line in (REAL / f"{obj}.fields").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("obj", sorted(PROFILES))
def test_field_lists_are_the_recorded_ones_in_order(obj: str) -> None:
    names = [f.name for f in OBJECTS[obj].fields]
    recorded = _fields(obj) if REAL.exists() else [p[0] for p in PROFILES[obj]]
    if obj == "PROJECT":  # lookup lists the 10 fields the first recorded query was refused
        recorded = _fields("PROJECT.first-attempt") if REAL.exists() else names
    assert names[: len(recorded)] == recorded
    assert names[len(recorded) :] == (["CUSTOMER_HEALTH"] if obj == "CUSTOMER" else [])


def test_widest_objects_have_the_recorded_field_counts() -> None:
    counts = {name: len(OBJECTS[name].fields) for name in ("CUSTOMER", "VENDOR", "PODOCUMENT", "DIMENSION")}
    assert counts == {"CUSTOMER": 224, "VENDOR": 269, "PODOCUMENT": 284, "DIMENSION": 7}  # +1 custom field


@pytest.mark.parametrize("obj", sorted(OBJECTS))
def test_lookup_answers_every_object_with_intacct_datatypes(gw: Gateway, obj: str) -> None:
    result = gw.result(f"<lookup><object>{obj}</object></lookup>")
    fields = result.findall("./data/Type/Fields/Field")
    assert [f.findtext("ID") for f in fields] == [f.name for f in OBJECTS[obj].fields]
    assert {f.findtext("DATATYPE") for f in fields} <= DATATYPES


def test_lookup_types_follow_the_recorded_values(gw: Gateway) -> None:
    def types(obj: str) -> dict[str, str]:
        result = gw.result(f"<lookup><object>{obj}</object></lookup>")
        return {f.findtext("ID") or "": f.findtext("DATATYPE") or "" for f in result.iter("Field")}

    invoice = types("ARINVOICE")
    assert invoice["TOTALDUE"] == "CURRENCY" and invoice["EXCHANGE_RATE"] == "DECIMAL"
    assert invoice["WHENDUE"] == "DATE" and invoice["AUWHENCREATED"] == "TIMESTAMP"
    # written date-only, yet TIMESTAMP in lookup (Estuary parses TIMESTAMP values with a date-only fallback)
    assert invoice["WHENCREATED"] == "TIMESTAMP"
    assert invoice["CONTACT.MAILADDRESS.ZIP"] == "TEXT"
    assert types("CUSTOMER")["DISPLAYCONTACT.VISIBLE"] == "BOOLEAN"
    assert types("GLDETAIL")["RECORDNO"] == "TEXT"
    assert types("DIMENSION")["id"] == "INTEGER"


@pytest.mark.parametrize(("obj", "target"), sorted(SIZES.items()))
def test_record_sizes_are_near_the_recorded_ones(gw: Gateway, obj: str, target: int) -> None:
    fields = [f.name for f in OBJECTS[obj].fields]
    response = gw.raw(query_xml(obj, fields, pagesize=300))
    count = response.content.count(f"<{obj}>".encode())
    assert count >= 30
    per_record = (len(response.content) - 800) / count
    assert 0.7 * target <= per_record <= 1.3 * target, per_record


def test_value_forms_as_recorded(gw: Gateway, sim: Simulator) -> None:
    rows = sim.records("ARINVOICE")
    assert {r["CUSTEMAILOPTIN"] for r in rows} <= {"true", "false", ""}
    assert {"true", "false"} <= {r["CONTACT.VISIBLE"] for r in rows}
    decimals = [r["TOTALDUE"] for r in rows if r["TOTALDUE"]]
    assert decimals and all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in decimals)
    rates = [r["EXCHANGE_RATE"] for r in rows if r["EXCHANGE_RATE"]]
    assert any(len(v.split(".")[-1]) > 2 for v in rates)  # many decimal digits, like '44.6417532562347'
    zips = [r["CONTACT.MAILADDRESS.ZIP"] for r in rows if r["CONTACT.MAILADDRESS.ZIP"]]
    assert all(re.fullmatch(r"\d{5}", z) for z in zips) and any(z.startswith("0") for z in zips)
    assert {r["STATUS"] for r in sim.records("CUSTOMER")} == {"active", "inactive"}
    body = gw.raw(query_xml("ARINVOICE", [f.name for f in OBJECTS["ARINVOICE"].fields], pagesize=20)).content
    assert b"/>" not in body.split(b"<data", 1)[1]  # empty values are always <X></X>
    assert re.search(rb"<DESCRIPTION2></DESCRIPTION2>", body)


def test_hash_names_come_back_without_the_hash_as_sibling_elements(gw: Gateway, sim: Simulator) -> None:
    fields = ["RECORDNO", "LIABACCT#", "DEPT", "DEPT#", "LOCATION", "LOCATION#"]
    result = gw.query("CREDITCARD", fields, order=[("RECORDNO", "ascending")])
    records = result.findall("./data/CREDITCARD")
    assert records
    expected_rows = sim.records("CREDITCARD")
    for record, row in zip(records, expected_rows, strict=True):
        assert [c.tag for c in record] == ["RECORDNO", "LIABACCT", "DEPT", "DEPT", "LOCATION", "LOCATION"]
        assert [c.text or "" for c in record] == [row[f] for f in fields]
        for name in ("LIABACCT#", "DEPT#", "LOCATION#"):  # recorded '#' values are digits (7710, 9806)
            assert row[name] == "" or row[name].isdigit(), (name, row[name])
    assert any(row["LOCATION#"] for row in expected_rows)
    body = gw.raw(
        query_xml(
            "CREDITCARD",
            fields,
            order=[("RECORDNO", "ascending")],
            options="<returnformat>json</returnformat>",
        )
    ).content
    pairs = json.loads(body, object_pairs_hook=lambda items: items)
    assert [k for k, _ in pairs[0]] == ["RECORDNO", "LIABACCT", "DEPT", "DEPT", "LOCATION", "LOCATION"]
    assert [v for _, v in pairs[0]] == [expected_rows[0][f] for f in fields]
    assert body.count(b'"DEPT":') == 2 * len(pairs)
    filtered = gw.query(
        "CREDITCARD", ["RECORDNO"], filter_xml="<isnotnull><field>LIABACCT#</field></isnotnull>"
    )
    assert filtered.findtext("status") == "success"


def test_lines_belong_to_their_headers(sim: Simulator) -> None:
    for header, line, field, low, high in (
        ("ARINVOICE", "ARINVOICEITEM", "RECORDKEY", 1, 10),
        ("APBILL", "APBILLITEM", "RECORDKEY", 1, 10),
        ("APADJUSTMENT", "APADJUSTMENTITEM", "RECORDKEY", 1, 5),
        ("APPYMT", "APPYMTDETAIL", "PAYMENTKEY", 1, 5),
        ("GLBATCH", "GLENTRY", "BATCHNO", 2, 6),
    ):
        headers = {r["RECORDNO"] for r in sim.records(header)}
        lines = sim.records(line)
        per_header = Counter(r[field] for r in lines)
        assert set(per_header) == headers, line
        assert low <= min(per_header.values()) and max(per_header.values()) <= high, line
        assert len(set(per_header.values())) > 1, line
        if "LINE_NO" in lines[0]:
            numbers: dict[str, list[int]] = {}
            for r in lines:
                numbers.setdefault(r[field], []).append(int(r["LINE_NO"]))
            assert all(v == list(range(1, len(v) + 1)) for v in numbers.values()), line
    bills = {r["RECORDNO"] for r in sim.records("APBILL")}
    assert {r["RECORDKEY"] for r in sim.records("APPYMTDETAIL")} <= bills


def test_gldetail_mirrors_the_gl_entries_with_text_keys(sim: Simulator, gw: Gateway) -> None:
    entries = {r["RECORDNO"]: r for r in sim.records("GLENTRY")}
    details = sim.records("GLDETAIL")
    assert len(details) == len(entries)
    for row in details:
        match = re.fullmatch(r"(\d+)-(\d+)-(\d+)--accrual", row["RECORDNO"])
        assert match, row["RECORDNO"]
        assert (match[1], match[2]) == (row["BATCHKEY"], row["GLENTRYKEY"])
        assert entries[row["GLENTRYKEY"]]["BATCHNO"] == row["BATCHKEY"]
        assert DATE.match(row["WHENCREATED"]) and STAMP.match(row["AUWHENCREATED"])
    ordered = records_of(gw.query("GLDETAIL", ["RECORDNO"], order=[("RECORDNO", "ascending")], pagesize=2000))
    keys = [r["RECORDNO"] for r in ordered]
    assert keys == sorted(keys)  # a TEXT key sorts as text


def test_date_only_quirks(sim: Simulator) -> None:
    for obj in ("ARINVOICE", "APBILL", "APPYMT", "ARPYMT", "APADJUSTMENT", "PODOCUMENT"):
        for row in sim.records(obj)[:30]:
            assert DATE.match(row["WHENCREATED"]), obj
            assert STAMP.match(row["AUWHENCREATED"]) and row["AUWHENCREATED"][:10] == row["WHENCREATED"], obj
            assert STAMP.match(row["WHENMODIFIED"]) or row["WHENMODIFIED"] == "", obj
    for row in sim.records("FIXEDASSET"):
        assert DATE.match(row["WHENCREATED"]) and (DATE.match(row["WHENMODIFIED"]) or not row["WHENMODIFIED"])
    for row in sim.records("ARINVOICEITEM")[:30]:
        assert STAMP.match(row["WHENCREATED"])


def test_user_defined_dimensions_use_id_and_camel_case(gw: Gateway, sim: Simulator) -> None:
    result = gw.query("DIMENSION", ["id", "name", "createdAt", "updatedAt", "RECORD_URL"])
    records = result.findall("./data/DIMENSION")
    assert records and [c.tag for c in records[0]] == ["id", "name", "createdAt", "updatedAt", "RECORD_URL"]
    assert all(STAMP.match(r.findtext("updatedAt") or "") for r in records)
    failed = gw.query("DIMENSION", ["RECORDNO"])
    assert failed.findtext("status") == "failure"
    assert "RECORDNO" in error_of(failed)["description2"]
    since = gw.query(
        "DIMENSION",
        ["id"],
        filter_xml="<greaterthanorequalto><field>updatedAt</field><value>01/01/2000 00:00:01</value>"
        "</greaterthanorequalto>",
    )
    assert data_attrs(since)["totalcount"] == str(len(sim.records("DIMENSION")))
    for empty in ("CUSTOM_EVENT", "DONOR", "ORDER_NUMBER"):
        assert data_attrs(gw.query(empty, ["id"], pagesize=1))["totalcount"] == "0"


def test_get_dimensions_as_recorded(gw: Gateway) -> None:
    result = gw.result("<getDimensions></getDimensions>")
    data = result.find("data")
    assert data is not None and data.attrib == {}
    dimensions = data.findall("./dimensions/dimension")
    assert len(dimensions) == 22
    assert [c.tag for c in dimensions[0]] == [
        "objectName",
        "objectLabel",
        "termLabel",
        "userDefinedDimension",
        "enabledInGL",
    ]
    user_defined = [
        d.findtext("objectName") for d in dimensions if d.findtext("userDefinedDimension") == "true"
    ]
    assert user_defined == ["DIMENSION", "CUSTOM_EVENT", "DONOR", "ORDER_NUMBER", "SALES_CHANNEL", "SECTOR"]
    assert dimensions[0].findtext("objectName") == "DEPARTMENT"


def test_record_counts_scale_from_records() -> None:
    with start_simulator(SimulatorConfig(records=1000, seed=2, port=0)) as sim:
        counts = {name: len(sim.records(name)) for name in ("CUSTOMER", "VENDOR", "GLACCOUNT", "ARINVOICE")}
        assert counts == {"CUSTOMER": 1000, "VENDOR": 1000, "GLACCOUNT": 50, "ARINVOICE": 500}
        lines = len(sim.records("ARINVOICEITEM"))
        assert 1000 < lines < 5000  # 1-10 lines per invoice


def test_objects_are_built_lazily_and_independently_of_access_order() -> None:
    with start_simulator(SimulatorConfig(records=1_000_000, seed=1, port=0)) as big:
        assert big.dataset._tables == {}  # nothing generated at start
        result = Gateway(big).query("DEPARTMENT", ["RECORDNO"], pagesize=1)
        assert data_attrs(result)["totalcount"] == "5000"
        assert set(big.dataset._tables) == {"DEPARTMENT"}
    with (
        start_simulator(SimulatorConfig(records=120, seed=9, port=0)) as a,
        start_simulator(SimulatorConfig(records=120, seed=9, port=0)) as b,
    ):
        a.records("GLENTRY")
        a.records("AUDITHISTORY")
        first = a.records("CUSTOMER")
        assert b.records("CUSTOMER") == first
        assert b.records("AUDITHISTORY") == a.records("AUDITHISTORY")
        assert b.records("GLENTRY") == a.records("GLENTRY")


@pytest.mark.parametrize(
    "obj", ["ARINVOICEITEM", "GLDETAIL", "DIMENSION", "PODOCUMENT", "EMPLOYEE", "GLENTRY"]
)
def test_mutations_and_audit_rows_for_every_kind_of_object(
    make_sim: Callable[..., Simulator], obj: str
) -> None:
    sim = make_sim(records=60)
    before = len(sim.records(obj))
    changed = sim.mutate(obj, inserts=2, updates=2, deletes=1)
    assert len(sim.records(obj)) == before + 1
    key_field = OBJECTS[obj].key_field
    keys = {r[key_field] for r in sim.records(obj)}
    assert {str(k) for k in changed["inserted"] + changed["updated"]} <= keys
    assert not {str(k) for k in changed["deleted"]} & keys
    audit = sim.records("AUDITHISTORY")[-5:]
    assert {a["OBJECTTYPE"] for a in audit} == {obj.lower()}
    assert Counter(a["ACCESSMODE"] for a in audit) == {"C": 2, "M": 2, "D": 1}
    if OBJECTS[obj].meta.header:
        headers = {r["RECORDNO"] for r in sim.records(OBJECTS[obj].meta.header)}
        header_field = OBJECTS[obj].meta.header_field
        inserted = [r for r in sim.records(obj) if r[key_field] in {str(k) for k in changed["inserted"]}]
        assert all(r[header_field] in headers for r in inserted)
