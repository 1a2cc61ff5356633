"""Every response shape in docs/intacct/PROTOCOL.md, fed through the client, comes out as a value or the right
error."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from intacct_sync.intacct import (
    AuthenticationError,
    ControlError,
    FunctionError,
    GatewayError,
    InvalidResponseError,
    Query,
    RateLimitError,
    RetryPolicy,
    SessionExpiredError,
    UserCredentials,
    refused_fields,
)
from tests.unit.intacct.intacct_unit_support import SESSION, USER, Reply, data_file, make_harness, xml_reply

CUSTOMER_QUERY = Query("CUSTOMER", ("RECORDNO", "CUSTOMERID", "STATUS"))
VENDOR_QUERY = Query("VENDOR", ("RECORDNO", "PAYTOCONTACT.CONTACTNAME", "TOTALDUE"))


# ---------------------------------------------------------------------------------------------- sessions


def test_get_api_session_returns_the_session_and_its_endpoint() -> None:
    h = make_harness(xml_reply("session_success.xml"))
    session = h.client.get_api_session(USER)
    assert session.session_id == "fAkESesSiOnId.."
    assert session.endpoint == "https://unittest.intacct.com/ia/xml/xmlgw.phtml"
    assert session.location_id is None
    # sessiontimeout 2015-12-07T15:57:08-08:00 is 23:57:08 UTC
    assert session.expires_at == datetime(2015, 12, 7, 23, 57, 8, tzinfo=UTC)
    assert session.expires_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert h.http.sent[0].url == "https://api.intacct.com/ia/xml/xmlgw.phtml"
    assert h.client.transactions == {"getAPISession": 1}


def test_session_calls_go_to_the_session_endpoint() -> None:
    h = make_harness(xml_reply("session_success.xml"), xml_reply("query_single.xml"))
    session = h.client.get_api_session(USER)
    h.client.query(session, CUSTOMER_QUERY)
    assert h.http.sent[1].url == "https://unittest.intacct.com/ia/xml/xmlgw.phtml"
    assert b"<sessionid>fAkESesSiOnId..</sessionid>" in h.http.sent[1].body
    assert b"<login>" not in h.http.sent[1].body


def test_login_with_entity_sends_locationid() -> None:
    h = make_harness(xml_reply("session_success.xml"))
    h.client.get_api_session(UserCredentials("co", "u", "pw", entity_id="US-EAST"))
    assert b"<locationid>US-EAST</locationid>" in h.http.sent[0].body


def test_session_without_timeout_gets_a_conservative_default() -> None:
    body = data_file("session_success.xml").replace(
        b"<sessiontimeout>2015-12-07T15:57:08-08:00</sessiontimeout>", b""
    )
    now = datetime(2024, 1, 1, tzinfo=UTC)
    h = make_harness(Reply(body=body), clock=lambda: now)
    session = h.client.get_api_session(USER)
    assert session.seconds_left(now) == 30 * 60


@pytest.mark.parametrize(
    "endpoint",
    [
        b"https://evil.example.com/ia/xml/xmlgw.phtml",
        b"http://na12.intacct.com/ia/xml/xmlgw.phtml",
        b"javascript:alert(1)",
        b"https://intacct.com.evil.example/x",
    ],
)
def test_session_endpoint_outside_intacct_is_refused(endpoint: bytes) -> None:
    body = data_file("session_success.xml").replace(
        b"https://unittest.intacct.com/ia/xml/xmlgw.phtml", endpoint
    )
    h = make_harness(Reply(body=body))
    with pytest.raises(InvalidResponseError, match="endpoint"):
        h.client.get_api_session(USER)


def test_control_failure_is_a_control_error_and_not_retried() -> None:
    h = make_harness(xml_reply("control_failure.xml"))
    with pytest.raises(ControlError) as info:
        h.client.get_api_session(USER)
    err = info.value
    assert (err.errorno, err.description, err.description2, err.correction) == (
        "XL03000006",
        "",
        "Incorrect Intacct XML Partner ID or password.",
        "",
    )
    assert str(err) == "XL03000006: Incorrect Intacct XML Partner ID or password."
    assert len(h.http.sent) == 1
    assert h.client.total_transactions == 0


def test_authentication_failure_on_login_is_an_authentication_error() -> None:
    h = make_harness(xml_reply("auth_failure.xml"))
    with pytest.raises(AuthenticationError) as info:
        h.client.get_api_session(USER)
    assert str(info.value) == "XL03000006: Sign-in information is incorrect"
    assert info.value.http_status == 200
    assert len(h.http.sent) == 1


def test_authentication_failure_on_a_session_call_means_the_session_expired() -> None:
    h = make_harness(xml_reply("auth_failure.xml"))
    with pytest.raises(SessionExpiredError) as info:
        h.client.query(SESSION, CUSTOMER_QUERY)
    assert info.value.errorno == "XL03000006"


def test_sender_not_authorized_keeps_all_four_fields() -> None:
    h = make_harness(xml_reply("auth_not_authorized.xml"))
    with pytest.raises(AuthenticationError) as info:
        h.client.get_api_session(USER)
    err = info.value
    assert err.description == "Invalid Web Services Authorization"
    assert err.description2.startswith("The sender ID 'x' is not authorized")
    assert err.correction.startswith("Contact the company administrator")
    assert str(err).startswith("XL03000006: Invalid Web Services Authorization; The sender ID")


def test_http_401_xmlgw_on_login_is_an_authentication_error() -> None:
    h = make_harness(xml_reply("gateway_401.xml", status=401))
    with pytest.raises(AuthenticationError) as info:
        h.client.get_api_session(USER)
    assert info.value.errorno == "XMLGW_JPP0002"
    assert info.value.http_status == 401
    assert len(h.http.sent) == 1


def test_http_401_xmlgw_on_a_session_call_means_the_session_expired() -> None:
    h = make_harness(xml_reply("gateway_401.xml", status=401))
    with pytest.raises(SessionExpiredError) as info:
        h.client.query(SESSION, CUSTOMER_QUERY)
    assert str(info.value) == "XMLGW_JPP0002: Sign-in information is incorrect. Please check your request."


def test_bare_http_401_without_xml_on_a_session_call_means_the_session_expired() -> None:
    h = make_harness(Reply(status=401, body=b"Unauthorized", headers={"Content-Type": "text/plain"}))
    with pytest.raises(SessionExpiredError) as info:
        h.client.query(SESSION, CUSTOMER_QUERY)
    assert info.value.errorno == "HTTP-401"


def test_gateway_gw0011_is_a_control_error() -> None:
    h = make_harness(xml_reply("gateway_gw0011.xml", status=400))
    with pytest.raises(ControlError) as info:
        h.client.query(SESSION, CUSTOMER_QUERY)
    assert info.value.errorno == "GW-0011"
    assert info.value.http_status == 400
    assert len(h.http.sent) == 1


def test_gw0010_in_a_200_body_is_a_rate_limit() -> None:
    h = make_harness(
        *[xml_reply("rate_limit_gw0010.xml")] * 2, retry=RetryPolicy(max_attempts=2, base_delay=0)
    )
    with pytest.raises(RateLimitError) as info:
        h.client.query(SESSION, CUSTOMER_QUERY)
    assert info.value.errorno == "GW-0010"
    assert len(h.http.sent) == 2


def test_asynchronous_acknowledgement_is_an_invalid_response() -> None:
    h = make_harness(xml_reply("async_acknowledgement.xml"))
    with pytest.raises(InvalidResponseError, match="asynchronous"):
        h.client.query(SESSION, CUSTOMER_QUERY)


# ------------------------------------------------------------------------------------------- functions


def test_function_failure_is_a_function_error_and_counts_as_a_transaction() -> None:
    h = make_harness(xml_reply("function_failure.xml"))
    with pytest.raises(FunctionError) as info:
        h.client.query(SESSION, CUSTOMER_QUERY)
    err = info.value
    assert err.function == "query"
    assert err.errorno == "Query Failed"
    assert err.description2 == "Object definition BADOBJECT not found"
    assert str(err) == "Query Failed: Object definition BADOBJECT not found"
    assert h.client.transactions == {"query": 1}
    assert len(h.http.sent) == 1


def test_a_query_refused_for_fields_names_them_after_the_object() -> None:
    # Given a query refused as the recorded PROJECT failure was (fields listed after the object's name)
    refusal = FunctionError(
        "DL02000001",
        "",
        "Processing error. Invalid fields:\n\tproject: [CFDA, PAYER , FUNDINGSRC] [Support ID: AbC-1]",
        function="query",
    )
    # Then the fields are read from it, and only for that object; another failure names none
    assert refused_fields(refusal, "PROJECT") == ("CFDA", "PAYER", "FUNDINGSRC")
    assert refused_fields(refusal, "CUSTOMER") == ()
    assert refused_fields(FunctionError("Query Failed", "", "Object definition X not found"), "X") == ()


def test_rolled_back_result_is_a_function_error() -> None:
    h = make_harness(xml_reply("transaction_rolled_back.xml"))
    with pytest.raises(FunctionError) as info:
        h.client.query(SESSION, CUSTOMER_QUERY)
    assert info.value.errorno == "XL03000009"
    assert info.value.function == "query"


def test_query_page_from_xml() -> None:
    h = make_harness(xml_reply("query_vendor.xml"))
    page = h.client.query(SESSION, VENDOR_QUERY)
    assert page.records == [
        {"RECORDNO": "1010", "PAYTOCONTACT.CONTACTNAME": "Ackman, Alice", "TOTALDUE": "3797"},
        {"RECORDNO": "1009", "PAYTOCONTACT.CONTACTNAME": "Halpert, Jim & O'Brien <3", "TOTALDUE": None},
    ]
    assert (page.count, page.total_count, page.num_remaining, page.offset) == (2, 18, 16, 0)
    assert h.client.transactions == {"query": 1}


def test_one_record_is_a_list_of_one() -> None:
    h = make_harness(xml_reply("query_single.xml"))
    page = h.client.query(SESSION, CUSTOMER_QUERY)
    assert page.records == [{"RECORDNO": "149", "CUSTOMERID": "10074", "STATUS": "active"}]
    assert (page.count, page.total_count, page.num_remaining) == (1, 1, 0)


def test_selected_fields_missing_from_a_record_are_none() -> None:
    query = Query("CUSTOMER", ("RECORDNO", "CUSTOMERID", "STATUS", "EMAIL"))
    h = make_harness(xml_reply("query_single.xml"))
    assert h.client.query(SESSION, query).records[0]["EMAIL"] is None


def test_empty_query_page() -> None:
    h = make_harness(xml_reply("query_empty.xml"))
    page = h.client.query(SESSION, CUSTOMER_QUERY)
    assert (page.records, page.count, page.total_count, page.num_remaining) == ([], 0, 0, 0)


def test_query_page_from_json_has_no_totals() -> None:
    query = Query("VENDOR", VENDOR_QUERY.fields, return_format="json", offset=40)
    h = make_harness(Reply(body=data_file("query_vendor.json"), headers={"Content-Type": "application/json"}))
    page = h.client.query(SESSION, query)
    assert page.records == json.loads(data_file("query_vendor.json"))
    assert (page.count, page.total_count, page.num_remaining, page.offset) == (2, None, None, 40)
    assert h.client.transactions == {"query": 1}
    assert b"<returnformat>json</returnformat>" in h.http.sent[0].body


def test_json_query_errors_still_come_back_as_xml() -> None:
    query = Query("VENDOR", ("RECORDNO",), return_format="json")
    h = make_harness(xml_reply("gateway_401.xml", status=401))
    with pytest.raises(SessionExpiredError):
        h.client.query(SESSION, query)


def test_json_empty_values_and_empty_body() -> None:
    query = Query("VENDOR", ("RECORDNO", "NAME", "X"), return_format="json")
    body = b'[{"RECORDNO": "1", "NAME": "", "NESTED": {"A": "b"}}]'
    h = make_harness(Reply(body=body), Reply(body=b""))
    page = h.client.query(SESSION, query)
    assert page.records == [{"RECORDNO": "1", "NAME": None, "NESTED.A": "b", "X": None}]
    assert h.client.query(SESSION, query).records == []


def test_lookup_lists_fields() -> None:
    h = make_harness(xml_reply("lookup_customer.xml"))
    infos = h.client.lookup(SESSION, "CUSTOMER")
    assert [(i.name, i.data_type) for i in infos] == [
        ("RECORDNO", "INTEGER"),
        ("STATUS", "ENUM"),
        ("CUSTOMER_HEALTH", "TEXT"),
    ]
    assert h.client.transactions == {"lookup": 1}


def test_count_attribute_disagreeing_with_records_is_malformed() -> None:
    body = data_file("query_vendor.xml").replace(b'count="2"', b'count="3"')
    h = make_harness(Reply(body=body), Reply(body=body), retry=RetryPolicy(max_attempts=2, base_delay=0))
    with pytest.raises(GatewayError, match="MALFORMED"):
        h.client.query(SESSION, VENDOR_QUERY)


def test_documents_with_a_dtd_are_refused() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        + data_file("query_single.xml").replace(b"active", b"&b;")
    )
    h = make_harness(Reply(body=evil), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(GatewayError, match="DTD"):
        h.client.query(SESSION, CUSTOMER_QUERY)


def test_transactions_are_counted_and_tallied() -> None:
    h = make_harness(
        xml_reply("query_single.xml"), xml_reply("query_single.xml"), xml_reply("function_failure.xml")
    )
    h.client.query(SESSION, CUSTOMER_QUERY)
    with h.client.transaction_tally() as tally:
        h.client.query(SESSION, CUSTOMER_QUERY)
        with pytest.raises(FunctionError):
            h.client.query(SESSION, CUSTOMER_QUERY)
    assert tally.total == 2 and tally.by_function == {"query": 2}
    assert h.client.total_transactions == 3 and h.client.transactions == {"query": 3}
