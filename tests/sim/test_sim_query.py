"""The query function: paging, ordering, options, formats and aggregates (PROTOCOL §3)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime

import pytest

from intacct_sim import Simulator
from tests.sim.sim_support import Gateway, cmp, data_attrs, error_of, query_xml, records_of

FIELDS = [
    "RECORDNO",
    "CUSTOMERID",
    "NAME",
    "DISPLAYCONTACT.EMAIL1",
    "TOTALDUE",
    "WHENMODIFIED",
    "MEGAENTITYID",
]


def _pick(record: dict[str, str], fields: list[str]) -> dict[str, str]:
    return {f: record[f] for f in fields}


def test_default_page_size_is_100_and_data_attributes_add_up(gw: Gateway, shared_sim: Simulator) -> None:
    result = gw.query("CUSTOMER", ["RECORDNO"], order=[("RECORDNO", "ascending")])
    attrs = data_attrs(result)
    total = len(shared_sim.records("CUSTOMER"))
    assert attrs == {
        "listtype": "CUSTOMER",
        "totalcount": str(total),
        "offset": "0",
        "count": "100",
        "numremaining": str(total - 100),
    }
    assert len(records_of(result)) == 100


def test_offset_paging_to_completion_returns_exactly_the_records(gw: Gateway, shared_sim: Simulator) -> None:
    expected = [_pick(r, FIELDS) for r in shared_sim.records("CUSTOMER")]
    got: list[dict[str, str]] = []
    offset = 0
    while True:
        result = gw.query("CUSTOMER", FIELDS, order=[("RECORDNO", "ascending")], pagesize=70, offset=offset)
        attrs = data_attrs(result)
        assert attrs["offset"] == str(offset)
        page = records_of(result)
        assert attrs["count"] == str(len(page))
        got.extend(page)
        offset += 70
        if attrs["numremaining"] == "0":
            break
        assert int(attrs["numremaining"]) == int(attrs["totalcount"]) - offset
    assert got == expected


def test_keyset_paging_by_recordno_returns_exactly_the_records(gw: Gateway, shared_sim: Simulator) -> None:
    fields = [f for f in FIELDS if f != "CUSTOMERID"]
    got: list[dict[str, str]] = []
    last = "0"
    while True:
        result = gw.query(
            "VENDOR",
            fields,
            filter_xml=cmp("greaterthan", "RECORDNO", last),
            order=[("RECORDNO", "ascending")],
            pagesize=64,
        )
        page = records_of(result)
        got.extend(page)
        if data_attrs(result)["numremaining"] == "0":
            break
        last = page[-1]["RECORDNO"]
    assert got == [_pick(r, fields) for r in shared_sim.records("VENDOR")]


def _keyset(gw: Gateway, time_field: str, base: str) -> list[str]:
    """Keyset walk over (time_field, RECORDNO) within ``base`` (Estuary's realtime/creations queries)."""
    seen: list[str] = []
    cursor: tuple[str, str] | None = None
    while True:
        if cursor is None:
            filter_xml = base
        else:
            stamp, key = cursor
            filter_xml = (
                "<and>"
                + base
                + "<or>"
                + cmp("greaterthan", time_field, stamp)
                + "<and>"
                + cmp("equalto", time_field, stamp)
                + cmp("greaterthan", "RECORDNO", key)
                + "</and></or></and>"
            )
        result = gw.query(
            "CUSTOMER",
            ["RECORDNO", time_field],
            filter_xml=filter_xml,
            order=[(time_field, "ascending"), ("RECORDNO", "ascending")],
            pagesize=25,
        )
        assert result.findtext("status") == "success", result.findtext(".//description2")
        page = records_of(result)
        seen.extend(r["RECORDNO"] for r in page)
        if data_attrs(result)["numremaining"] == "0":
            return seen
        cursor = (page[-1][time_field], page[-1]["RECORDNO"])


def test_keyset_paging_on_whenmodified_with_recordno_tie_break(gw: Gateway, shared_sim: Simulator) -> None:
    """Records share WHENMODIFIED seconds (a bulk update), so the cursor needs (WHENMODIFIED, RECORDNO);
    records never modified have no WHENMODIFIED and are read by WHENCREATED (Estuary's creations query)."""
    rows = shared_sim.records("CUSTOMER")
    stamps = [r["WHENMODIFIED"] for r in rows if r["WHENMODIFIED"]]
    assert len(stamps) - len(set(stamps)) >= 20  # the generated bulk update
    never = [r["RECORDNO"] for r in rows if not r["WHENMODIFIED"]]
    assert never, "some records were never modified (never_modified_percent)"
    modified = _keyset(gw, "WHENMODIFIED", "<isnotnull><field>WHENMODIFIED</field></isnotnull>")
    created = _keyset(gw, "WHENCREATED", "<isnull><field>WHENMODIFIED</field></isnull>")
    assert sorted(created, key=int) == never
    seen = modified + created
    assert sorted(seen, key=int) == [r["RECORDNO"] for r in rows]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    "order",
    [
        [("TOTALDUE", "descending")],
        [("MEGAENTITYID", "ascending"), ("WHENMODIFIED", "descending")],
        [("NAME", "ascending"), ("RECORDNO", "descending")],
        [("CREDITLIMIT", "ascending")],
    ],
)
def test_orderby_multiple_fields_and_directions(
    gw: Gateway, shared_sim: Simulator, order: list[tuple[str, str]]
) -> None:
    result = gw.query("CUSTOMER", ["RECORDNO"], order=order, pagesize=2000)
    got = [r["RECORDNO"] for r in records_of(result)]

    def key_of(field: str, value: str) -> tuple[object, ...]:
        if value == "":
            return (1,)  # NULLs last ascending (first descending, as the key is negated)
        if field in ("TOTALDUE", "CREDITLIMIT", "RECORDNO"):
            return (0, float(value))
        if field == "WHENMODIFIED":
            return (0, datetime.strptime(value, "%m/%d/%Y %H:%M:%S"))
        return (0, value)

    rows = shared_sim.records("CUSTOMER")
    for field, direction in reversed(order):  # stable sorts from the last key to the first
        rows.sort(key=lambda r, f=field: key_of(f, r[f]), reverse=direction == "descending")
    expected = [r["RECORDNO"] for r in rows]
    assert got == expected


def test_page_size_limits(gw: Gateway) -> None:
    assert data_attrs(gw.query("CUSTOMER", ["RECORDNO"], pagesize=2000))["count"] == "300"
    for bad in ("2001", "0", "-5", "ten"):
        result = gw.result(
            query_xml("CUSTOMER", ["RECORDNO"]).replace("</query>", f"<pagesize>{bad}</pagesize></query>")
        )
        assert result.findtext("status") == "failure", bad
        assert "pagesize" in error_of(result)["description2"]
    negative_offset = gw.query("CUSTOMER", ["RECORDNO"], offset=-1)
    assert negative_offset.findtext("status") == "failure"


def test_offset_beyond_the_end_returns_an_empty_page(gw: Gateway) -> None:
    result = gw.query("CUSTOMER", ["RECORDNO"], offset=10_000)
    assert data_attrs(result) == {
        "listtype": "CUSTOMER",
        "totalcount": "300",
        "offset": "10000",
        "count": "0",
        "numremaining": "0",
    }


def test_empty_result_is_an_empty_data_element(gw: Gateway) -> None:
    result = gw.query("GLACCOUNT", ["RECORDNO"], filter_xml=cmp("equalto", "RECORDNO", "-1"))
    data = result.find("data")
    assert data is not None and len(data) == 0
    assert data.attrib == {
        "listtype": "GLACCOUNT",
        "totalcount": "0",
        "offset": "0",
        "count": "0",
        "numremaining": "0",
    }


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        (query_xml("CUSTOMER", ["*"]), "not supported"),
        (query_xml("CUSTOMER", ["RECORDNO"], filter_xml="<frob><field>NAME</field></frob>"), "frob"),
        (query_xml("CUSTOMER", ["RECORDNO"], filter_xml=cmp("equalto", "RECORDNO")), "value"),
        (query_xml("CUSTOMER", ["RECORDNO"], filter_xml=cmp("between", "RECORDNO", "1")), "value"),
        (query_xml("CUSTOMER", ["RECORDNO"], filter_xml=cmp("lessthan", "RECORDNO", "abc")), "abc"),
        (query_xml("CUSTOMER", ["RECORDNO"], options="<returnformat>yaml</returnformat>"), "yaml"),
        ("<query><select><field>RECORDNO</field></select></query>", "object"),
        ("<query><object>CUSTOMER</object></query>", "select"),
        (query_xml("CUSTOMER", ["RECORDNO"], filter_xml=cmp("equalto", "RECORDNO", "1") * 2), "exactly one"),
    ],
)
def test_function_level_query_errors(gw: Gateway, inner: str, message: str) -> None:
    result = gw.result(inner)
    assert result.findtext("status") == "failure"
    assert result.findtext("function") == "query"
    error = error_of(result)
    assert error["errorno"] == "Query Failed"
    assert message in error["description2"]


@pytest.mark.parametrize(
    ("inner", "names"),
    [
        (query_xml("CUSTOMER", ["NOSUCHFIELD"]), "NOSUCHFIELD"),
        (query_xml("CUSTOMER", ["RECORDNO", "NOPE1", "NAME", "nope2"]), "NOPE1, nope2"),
        (query_xml("CUSTOMER", ["RECORDNO"], filter_xml=cmp("equalto", "BOGUS", "1")), "BOGUS"),
        (query_xml("CUSTOMER", ["RECORDNO"], order=[("BOGUS2", "ascending")]), "BOGUS2"),
    ],
)
def test_unknown_fields_fail_with_dl02000001_naming_them(gw: Gateway, inner: str, names: str) -> None:
    """A field the object does not have: DL02000001 (a production importer's docs), the names listed
    after the object as the recorded PROJECT failure and the peers' parsers expect."""
    error = error_of(gw.result(inner))
    assert error["errorno"] == "DL02000001"
    assert f"\n\tcustomer: [{names}] [Support ID: " in error["description2"]


def test_dotted_fields_come_back_flat_and_empty_values_as_empty_elements(
    gw: Gateway, shared_sim: Simulator
) -> None:
    fields = ["RECORDNO", "DISPLAYCONTACT.EMAIL2", "DISPLAYCONTACT.MAILADDRESS.CITY", "CREDITLIMIT"]
    result = gw.query("CUSTOMER", fields, pagesize=2000)
    records = result.findall("./data/CUSTOMER")
    assert [child.tag for child in records[0]] == fields
    empties = [
        r
        for r in records
        if r.find("DISPLAYCONTACT.EMAIL2") is not None and not r.findtext("DISPLAYCONTACT.EMAIL2")
    ]
    assert empties, "expected some empty EMAIL2 values"
    assert records_of(result) == [_pick(r, fields) for r in shared_sim.records("CUSTOMER")]


def test_field_names_are_echoed_as_given(gw: Gateway) -> None:
    result = gw.query("customer", ["recordNo", "displaycontact.email1"], pagesize=1)
    assert data_attrs(result)["listtype"] == "CUSTOMER"
    record = result.find("./data/CUSTOMER")
    assert record is not None and [c.tag for c in record] == ["recordNo", "displaycontact.email1"]


def test_caseinsensitive_option(gw: Gateway, shared_sim: Simulator) -> None:
    flt = cmp("equalto", "STATUS", "ACTIVE")
    sensitive = gw.query("CUSTOMER", ["RECORDNO"], filter_xml=flt)
    insensitive = gw.query(
        "CUSTOMER",
        ["RECORDNO"],
        filter_xml=flt,
        options="<caseinsensitive>true</caseinsensitive>",
        pagesize=2000,
    )
    active = [r["RECORDNO"] for r in shared_sim.records("CUSTOMER") if r["STATUS"] == "active"]
    assert data_attrs(sensitive)["totalcount"] == "0"
    assert [r["RECORDNO"] for r in records_of(insensitive)] == active


def test_showprivate_is_accepted(gw: Gateway) -> None:
    result = gw.query("CUSTOMER", ["RECORDNO"], options="<showprivate>true</showprivate>", pagesize=1)
    assert result.findtext("status") == "success"


def test_json_format_is_a_bare_array_of_string_objects(gw: Gateway, shared_sim: Simulator) -> None:
    response = gw.raw(
        query_xml(
            "CUSTOMER",
            FIELDS,
            order=[("RECORDNO", "ascending")],
            pagesize=50,
            offset=10,
            options="<returnformat>json</returnformat>",
        )
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.content.decode("utf-8"))
    assert isinstance(body, list) and len(body) == 50
    assert body == [_pick(r, FIELDS) for r in shared_sim.records("CUSTOMER")[10:60]]
    assert all(isinstance(v, str) for record in body for v in record.values())


def test_csv_format_has_a_header_and_rows(gw: Gateway, shared_sim: Simulator) -> None:
    response = gw.raw(
        query_xml("CUSTOMER", FIELDS, pagesize=2000, options="<returnformat>csv</returnformat>")
    )
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))
    assert rows[0] == FIELDS
    assert [dict(zip(FIELDS, r, strict=True)) for r in rows[1:]] == [
        _pick(r, FIELDS) for r in shared_sim.records("CUSTOMER")
    ]


def test_csv_without_records_is_an_empty_body_and_json_an_empty_array(gw: Gateway) -> None:
    flt = cmp("equalto", "RECORDNO", "-1")
    csv_body = gw.raw(
        query_xml("CUSTOMER", ["RECORDNO"], filter_xml=flt, options="<returnformat>csv</returnformat>")
    )
    json_body = gw.raw(
        query_xml("CUSTOMER", ["RECORDNO"], filter_xml=flt, options="<returnformat>json</returnformat>")
    )
    assert csv_body.content == b""
    assert json.loads(json_body.content) == []


def test_json_request_that_fails_answers_with_the_xml_error_document(gw: Gateway) -> None:
    response = gw.raw(query_xml("NOPE", ["RECORDNO"], options="<returnformat>json</returnformat>"))
    assert response.headers["Content-Type"].startswith("text/xml")
    assert b"Object definition NOPE not found" in response.content


def test_aggregates_without_group_by(gw: Gateway, shared_sim: Simulator) -> None:
    inner = (
        "<query><object>CUSTOMER</object><select><count>RECORDNO</count><sum>TOTALDUE</sum><min>TOTALDUE</min>"
        "<max>WHENCREATED</max><avg>CREDITLIMIT</avg><count>CREDITLIMIT</count></select>"
        "<options><showprivate>true</showprivate></options></query>"
    )
    result = gw.result(inner)
    (record,) = records_of(result)
    rows = shared_sim.records("CUSTOMER")
    dues = [float(r["TOTALDUE"]) for r in rows]
    limits = [float(r["CREDITLIMIT"]) for r in rows if r["CREDITLIMIT"]]
    assert record["COUNT.RECORDNO"] == str(len(rows))
    assert float(record["SUM.TOTALDUE"]) == pytest.approx(sum(dues), abs=0.01)
    assert float(record["MIN.TOTALDUE"]) == min(dues)
    assert record["MAX.WHENCREATED"] == rows[-1]["WHENCREATED"]
    assert float(record["AVG.CREDITLIMIT"]) == pytest.approx(sum(limits) / len(limits))
    assert record["COUNT.CREDITLIMIT"] == str(len(limits))
    assert data_attrs(result)["totalcount"] == "1"


def test_aggregates_group_by_the_plain_fields(gw: Gateway, shared_sim: Simulator) -> None:
    inner = (
        "<query><object>VENDOR</object><select><field>MEGAENTITYID</field><count>RECORDNO</count></select>"
        "<orderby><order><field>MEGAENTITYID</field><ascending/></order></orderby>"
        "<options><showprivate>true</showprivate></options></query>"
    )
    got = {r["MEGAENTITYID"]: int(r["COUNT.RECORDNO"]) for r in records_of(gw.result(inner))}
    expected: dict[str, int] = {}
    for r in shared_sim.records("VENDOR"):
        expected[r["MEGAENTITYID"]] = expected.get(r["MEGAENTITYID"], 0) + 1
    assert got == expected


def test_sum_of_a_text_field_fails(gw: Gateway) -> None:
    result = gw.result("<query><object>VENDOR</object><select><sum>NAME</sum></select></query>")
    assert result.findtext("status") == "failure"


def test_query_results_are_cached_but_follow_data_changes(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=50)
    gw = Gateway(sim)
    first = data_attrs(gw.query("CUSTOMER", ["RECORDNO"]))["totalcount"]
    again = data_attrs(gw.query("CUSTOMER", ["RECORDNO"]))["totalcount"]
    sim.mutate("CUSTOMER", inserts=3)
    after = data_attrs(gw.query("CUSTOMER", ["RECORDNO"]))["totalcount"]
    assert first == again == "50"
    assert after == "53"
