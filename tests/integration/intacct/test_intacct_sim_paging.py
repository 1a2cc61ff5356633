"""Paging to completion, filters, escaping and the JSON format, checked against the simulator's data."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest

from intacct_sim import Simulator
from intacct_sync.intacct import (
    ApiSession,
    FunctionError,
    IntacctClient,
    OrderBy,
    Query,
    and_,
    between,
    eq,
    gt,
    in_,
    like,
)
from tests.integration.intacct.conftest import FAST_RETRY, SIM_SENDER, SIM_USER, normalise

FIELDS = ("RECORDNO", "CUSTOMERID", "NAME", "STATUS", "WHENMODIFIED", "DISPLAYCONTACT.EMAIL1", "TOTALDUE")


def expected(sim: Simulator, fields: tuple[str, ...] = FIELDS) -> list[dict[str, str | None]]:
    return [normalise(r, fields) for r in sim.records("CUSTOMER")]


def test_offset_paging_returns_exactly_the_record_set(
    client: IntacctClient, sim: Simulator, session: ApiSession
) -> None:
    records: list[dict[str, str | None]] = []
    offset, pages = 0, 0
    while True:
        query = Query(
            "CUSTOMER",
            FIELDS,
            order_by=(OrderBy("RECORDNO"),),
            page_size=120,
            offset=offset,
            show_private=True,
        )
        page = client.query(session, query)
        pages += 1
        assert page.total_count == 500
        assert page.offset == offset
        assert page.count == len(page.records)
        assert page.num_remaining == 500 - offset - page.count
        records.extend(page.records)
        if page.num_remaining == 0:
            break
        offset += page.count
    assert pages == 5
    assert records == expected(sim)
    assert client.transactions == {"query": 5}
    assert sim.stats()["transactions_by_function"] == {"query": 5}


def test_keyset_paging_with_json_returns_exactly_the_record_set(
    client: IntacctClient, sim: Simulator, session: ApiSession
) -> None:
    records: list[dict[str, str | None]] = []
    last = 0
    while True:
        query = Query(
            "CUSTOMER",
            FIELDS,
            filter=gt("RECORDNO", last),
            order_by=(OrderBy("RECORDNO"),),
            page_size=200,
            return_format="json",
            show_private=True,
        )
        page = client.query(session, query)
        assert page.total_count is None and page.num_remaining is None
        assert page.count == len(page.records)
        records.extend(page.records)
        if page.count < query.page_size:
            break
        last = int(page.records[-1]["RECORDNO"] or 0)
    assert records == expected(sim)
    assert client.transactions == {"query": 3}


def test_json_and_xml_pages_carry_the_same_records(
    client: IntacctClient, sim: Simulator, session: ApiSession
) -> None:
    base = Query(
        "CUSTOMER", FIELDS, order_by=(OrderBy("RECORDNO"),), page_size=50, offset=25, show_private=True
    )
    as_xml = client.query(session, base)
    as_json = client.query(session, dataclasses.replace(base, return_format="json"))
    assert as_json.records == as_xml.records
    assert (as_json.count, as_json.offset) == (as_xml.count, as_xml.offset)
    assert as_xml.total_count == 500 and as_json.total_count is None


@pytest.mark.parametrize(
    ("make_filter", "keep"),
    [
        (lambda: eq("STATUS", "inactive"), lambda r: r["STATUS"] == "inactive"),
        (lambda: gt("TOTALDUE", Decimal("1000")), lambda r: r["TOTALDUE"] and Decimal(r["TOTALDUE"]) > 1000),
        (lambda: between("RECORDNO", 100, 140), lambda r: 100 <= int(r["RECORDNO"]) <= 140),
        (lambda: in_("RECORDNO", [28, 29, 30, 999999]), lambda r: r["RECORDNO"] in ("28", "29", "30")),
        (lambda: like("NAME", "%Zürich%"), lambda r: "Zürich" in r["NAME"]),
        (
            lambda: and_(eq("STATUS", "active"), gt("RECORDNO", 400)),
            lambda r: r["STATUS"] == "active" and int(r["RECORDNO"]) > 400,
        ),
    ],
    ids=["eq", "gt-decimal", "between", "in", "like-unicode", "and"],
)
def test_filters_select_the_same_records_as_python(
    client: IntacctClient,
    sim: Simulator,
    session: ApiSession,
    make_filter,
    keep,  # type: ignore[no-untyped-def]
) -> None:
    query = Query(
        "CUSTOMER",
        FIELDS,
        filter=make_filter(),
        order_by=(OrderBy("RECORDNO"),),
        page_size=2000,
        show_private=True,
    )
    page = client.query(session, query)
    wanted = [normalise(r, FIELDS) for r in sim.records("CUSTOMER") if keep(r)]
    assert wanted, "the filter should match something in the simulated data"
    assert page.records == wanted
    assert page.total_count == len(wanted)


HOSTILE_NAMES = [
    "</NAME><injected/>&amp; Co",
    'O\'Brien & "Sons" <Ltd>',
    "Z\u00fcrich R\u00fcck \u2013 \u6771\u4eac \u2013 \U0001f389",
    "]]> <![CDATA[x]]>",
    "  spaced  ",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_values_round_trip_through_the_simulator(
    make_sim: Callable[..., Simulator], name: str
) -> None:
    fresh_sim = make_sim(records=500, seed=1)
    # Given a customer whose name is hostile XML
    recordno = fresh_sim.upsert("CUSTOMER", {"NAME": name})
    client = IntacctClient(SIM_SENDER, gateway_url=fresh_sim.url, retry=FAST_RETRY)
    session = client.get_api_session(SIM_USER)
    # When it is searched for by that exact value
    page = client.query(
        session, Query("CUSTOMER", ("RECORDNO", "NAME"), filter=eq("NAME", name), show_private=True)
    )
    # Then exactly that record comes back, with the exact value
    assert page.records == [{"RECORDNO": str(recordno), "NAME": name}]


def test_simulator_records_with_markup_come_back_unchanged(
    client: IntacctClient, sim: Simulator, session: ApiSession
) -> None:
    fields = (
        "RECORDNO",
        "NAME",
        "COMMENTS",
        "DISPLAYCONTACT.MAILADDRESS.ADDRESS1",
        "DISPLAYCONTACT.MAILADDRESS.ADDRESS2",
    )
    page = client.query(
        session, Query("CUSTOMER", fields, order_by=(OrderBy("RECORDNO"),), page_size=2000, show_private=True)
    )
    assert page.records == expected(sim, fields)
    assert any("<" in (r["DISPLAYCONTACT.MAILADDRESS.ADDRESS2"] or "") for r in page.records)
    assert any("'" in (r["COMMENTS"] or "") for r in page.records)


def test_unknown_object_and_field_are_function_errors(
    client: IntacctClient, sim: Simulator, session: ApiSession
) -> None:
    with pytest.raises(FunctionError) as bad_object:
        client.query(session, Query("NOSUCHOBJECT", ("RECORDNO",)))
    with pytest.raises(FunctionError) as bad_field:
        client.query(session, Query("CUSTOMER", ("RECORDNO", "NOSUCHFIELD")))
    assert bad_object.value.function == "query" and bad_field.value.function == "query"
    assert "NOSUCHOBJECT" in str(bad_object.value)
    assert "NOSUCHFIELD" in str(bad_field.value)
    assert client.transactions == {"query": 2}  # failures are billed too
    assert sim.stats()["transactions_by_function"] == {"query": 2}


def test_hash_fields_come_back_under_their_own_names_in_xml_and_json(
    client: IntacctClient, sim: Simulator, session: ApiSession
) -> None:
    # Given CREDITCARD fields Intacct answers without the '#', DEPT and DEPT# as two <DEPT> (or two
    # "DEPT" keys in JSON)
    fields = ("RECORDNO", "LIABACCT#", "DEPT", "DEPT#", "LOCATION", "LOCATION#", "WHENMODIFIED")
    base = Query("CREDITCARD", fields, order_by=(OrderBy("RECORDNO"),), page_size=100, show_private=True)
    # When they are queried in either format
    as_xml = client.query(session, base)
    as_json = client.query(session, dataclasses.replace(base, return_format="json"))
    # Then each value is under the name that was asked for, as the simulator holds it
    source = [normalise(r, fields) for r in sim.records("CREDITCARD")]
    assert as_xml.records == as_json.records == source
    assert any(r["LOCATION"] and r["LOCATION#"] and r["LOCATION"] != r["LOCATION#"] for r in source)
