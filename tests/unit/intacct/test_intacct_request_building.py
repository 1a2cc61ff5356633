"""Requests are built with xmltodict: every value escaped, read back exactly by an XML parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intacct_sync.intacct import (
    CredentialsError,
    InvalidQueryError,
    OrderBy,
    Query,
    SenderCredentials,
    UserCredentials,
    and_,
    between,
    eq,
    ge,
    in_,
    is_null,
    or_,
)
from intacct_sync.intacct import request as envelope
from tests.unit.intacct.intacct_unit_support import SENDER, SESSION, USER

HOSTILE = [
    "</value><injected/>",
    "a & b",
    "&amp; already escaped",
    "\"double\" and 'single' quotes",
    "<![CDATA[x]]>",
    "]]>",
    "Z\u00fcrich \u2013 \u6771\u4eac \u2013 emoji \U0001f389",
    "  leading and trailing spaces  ",
    "tab\tand\nnewline",
    "%_like wildcards%",
    "",
]


def parse(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - our own request document


def query_request(query: Query) -> ET.Element:
    body = envelope.build_request(
        SENDER, envelope.session_auth(SESSION.session_id), "query", envelope.query_body(query)
    )
    return parse(body)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_arrive_exactly_and_inject_nothing(value: str) -> None:
    # Given a filter value that tries to break out of its element
    query = Query("CUSTOMER", ("RECORDNO",), filter=eq("NAME", value))
    # When the request is built and parsed back
    root = query_request(query)
    # Then the value is exactly the input, and the document has exactly the expected shape
    equalto = root.find("operation/content/function/query/filter/equalto")
    assert equalto is not None
    assert [child.tag for child in equalto] == ["field", "value"]
    assert (equalto.findtext("value") or "") == value
    assert root.find(".//injected") is None


def test_secrets_with_xml_characters_are_escaped() -> None:
    sender = SenderCredentials("sender<&>", "pw</password><x/>")
    user = UserCredentials("co&co", "user\"'", "p<w>&", entity_id="E<1>")
    root = parse(envelope.build_request(sender, envelope.login_auth(user), "getAPISession", None))
    assert root.findtext("control/senderid") == "sender<&>"
    assert root.findtext("control/password") == "pw</password><x/>"
    login = root.find("operation/authentication/login")
    assert login is not None
    assert [c.tag for c in login] == ["userid", "companyid", "password", "locationid"]
    assert login.findtext("password") == "p<w>&"
    assert login.findtext("companyid") == "co&co"
    assert login.findtext("locationid") == "E<1>"
    assert root.find(".//x") is None


def test_envelope_control_block_and_function() -> None:
    root = parse(
        envelope.build_request(
            SENDER, envelope.login_auth(USER), "getAPISession", None, function_control_id="f-1"
        )
    )
    assert root.tag == "request"
    control = root.find("control")
    assert control is not None
    assert [c.tag for c in control] == [
        "senderid",
        "password",
        "controlid",
        "uniqueid",
        "dtdversion",
        "includewhitespace",
    ]
    assert root.findtext("control/uniqueid") == "false"
    assert root.findtext("control/dtdversion") == "3.0"
    assert root.find("operation").get("transaction") == "false"  # type: ignore[union-attr]
    function = root.find("operation/content/function")
    assert function is not None and function.get("controlid") == "f-1"
    assert [c.tag for c in function] == ["getAPISession"]
    assert root.find("operation/authentication/login/locationid") is None  # no entity: no locationid


def test_session_call_authenticates_with_sessionid_only() -> None:
    root = query_request(Query("CUSTOMER", ("RECORDNO",)))
    auth = root.find("operation/authentication")
    assert auth is not None
    assert [c.tag for c in auth] == ["sessionid"]
    assert auth.findtext("sessionid") == SESSION.session_id


def test_query_body_has_every_part() -> None:
    query = Query(
        "CUSTOMER",
        ("RECORDNO", "NAME", "DISPLAYCONTACT.EMAIL1"),
        filter=and_(eq("STATUS", "active"), ge("WHENMODIFIED", datetime(2024, 10, 1, 7, 5, 9))),
        order_by=(OrderBy("WHENMODIFIED"), OrderBy("RECORDNO", descending=True)),
        page_size=2000,
        offset=4000,
        case_insensitive=True,
        show_private=True,
        return_format="json",
    )
    q = query_request(query).find("operation/content/function/query")
    assert q is not None
    assert q.findtext("object") == "CUSTOMER"
    assert [f.text for f in q.findall("select/field")] == ["RECORDNO", "NAME", "DISPLAYCONTACT.EMAIL1"]
    assert q.findtext("filter/and/equalto/value") == "active"
    assert q.findtext("filter/and/greaterthanorequalto/value") == "10/01/2024 07:05:09"
    orders = q.findall("orderby/order")
    assert [(o.findtext("field"), [c.tag for c in o][1]) for o in orders] == [
        ("WHENMODIFIED", "ascending"),
        ("RECORDNO", "descending"),
    ]
    assert [(c.tag, c.text) for c in q.find("options")] == [  # type: ignore[union-attr]
        ("caseinsensitive", "true"),
        ("showprivate", "true"),
        ("returnformat", "json"),
    ]
    assert q.findtext("pagesize") == "2000"
    assert q.findtext("offset") == "4000"


def test_filter_tree_shapes() -> None:
    f = or_(
        between("RECORDNO", 1, Decimal("2.50")),
        in_("CUSTOMERID", ["A", "B&C"]),
        is_null("PARENTID"),
        and_(eq("A", date(2024, 2, 29)), eq("B", "x")),
    )
    q = query_request(Query("CUSTOMER", ("RECORDNO",), filter=f)).find(
        "operation/content/function/query/filter"
    )
    assert q is not None
    or_el = q.find("or")
    assert or_el is not None and len(q) == 1
    assert [v.text for v in or_el.findall("between/value")] == ["1", "2.50"]
    assert [v.text for v in or_el.findall("in/value")] == ["A", "B&C"]
    isnull = or_el.find("isnull")
    assert isnull is not None and [c.tag for c in isnull] == ["field"]
    assert [v.text for v in or_el.findall("and/equalto/value")] == ["02/29/2024", "x"]


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1fb", "carriage\rreturn", "\ud800", "\ufffe"])
def test_values_xml_cannot_carry_exactly_are_refused(bad: str) -> None:
    with pytest.raises(InvalidQueryError, match="U\\+"):
        eq("NAME", bad)


def test_secret_with_control_character_is_refused_without_showing_it() -> None:
    sender = SenderCredentials("s", "bad\x01secret")
    with pytest.raises(CredentialsError) as info:
        envelope.build_request(sender, envelope.session_auth("x"), "query", None)
    assert "bad" not in str(info.value) and "secret" not in str(info.value).replace("sender password", "")


# Every character XML 1.0 can carry unchanged in element content.
xml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\r\ufffe\uffff",
        min_codepoint=0x09,
    ).filter(lambda c: c in "\t\n" or ord(c) >= 0x20),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(value=xml_text)
def test_any_filter_value_round_trips_exactly(value: str) -> None:
    root = query_request(Query("CUSTOMER", ("RECORDNO",), filter=eq("NAME", value)))
    assert (root.findtext("operation/content/function/query/filter/equalto/value") or "") == value


@settings(max_examples=100, deadline=None)
@given(values=st.lists(xml_text, min_size=1, max_size=20))
def test_in_values_round_trip_in_order(values: list[str]) -> None:
    root = query_request(Query("CUSTOMER", ("RECORDNO",), filter=in_("NAME", values)))
    got = [v.text or "" for v in root.findall("operation/content/function/query/filter/in/value")]
    assert got == values
