"""The request envelope and every gateway-level response shape of docs/intacct/PROTOCOL.md §1 and §5."""

from __future__ import annotations

from intacct_sim import Simulator
from tests.sim.sim_support import (
    Gateway,
    envelope,
    error_of,
    function,
    login_xml,
    parse,
    parse_bytes,
    query_xml,
    results,
)


def test_success_response_echoes_control_and_has_the_xml_content_type(gw: Gateway) -> None:
    response = gw.post(
        envelope(function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=1)), controlid="my-ctl")
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == 'text/xml; encoding="UTF-8";charset=UTF-8'
    assert response.headers["Server"] == "cloudflare"
    doc = parse(response)
    control = doc.find("control")
    assert control is not None
    assert [(c.tag, c.text) for c in control] == [
        ("status", "success"),
        ("senderid", "intacct-sim"),
        ("controlid", "my-ctl"),
        ("uniqueid", "false"),
        ("dtdversion", "3.0"),
    ]
    assert doc.findtext("./operation/authentication/status") == "success"
    assert results(doc)[0].findtext("status") == "success"


def test_results_echo_function_controlids_in_request_order(gw: Gateway) -> None:
    ids = ["zeta", "alpha", "m-3", "b"]
    doc = gw.call(*[function(query_xml("VENDOR", ["RECORDNO"], pagesize=1), cid) for cid in ids])
    assert [r.findtext("controlid") for r in results(doc)] == ids
    assert [r.findtext("function") for r in results(doc)] == ["query"] * 4


def test_bad_sender_is_a_control_failure_with_http_200(gw: Gateway, shared_sim: Simulator) -> None:
    before = shared_sim.stats()["transactions"]
    response = gw.post(envelope(function("<getAPISession/>"), sender_password="wrong", controlid="c-77"))
    assert response.status_code == 200
    doc = parse(response)
    assert doc.findtext("./control/status") == "failure"
    assert doc.findtext("./control/senderid") == "intacct-sim"
    assert doc.findtext("./control/controlid") == "c-77"
    assert doc.find("operation") is None
    assert error_of(doc) == {
        "errorno": "XL03000006",
        "description": "",
        "description2": "Incorrect Intacct XML Partner ID or password.",
        "correction": "",
    }
    assert shared_sim.stats()["transactions"] == before


def test_unknown_sender_id_is_the_same_control_failure(gw: Gateway) -> None:
    doc = parse(gw.post(envelope(function("<getAPISession/>"), sender_id="someone-else")))
    assert error_of(doc)["errorno"] == "XL03000006"
    assert doc.findtext("./control/senderid") == "someone-else"


def test_bad_login_is_an_authentication_failure_with_http_200(gw: Gateway, shared_sim: Simulator) -> None:
    before = shared_sim.stats()["transactions"]
    response = gw.post(envelope(function("<getAPISession/>"), auth=login_xml(password="nope")))
    assert response.status_code == 200
    doc = parse(response)
    assert doc.findtext("./control/status") == "success"
    auth = doc.find("./operation/authentication")
    assert auth is not None
    assert [(c.tag, c.text or "") for c in auth] == [
        ("status", "failure"),
        ("userid", "sim-user"),
        ("companyid", "SIMCO"),
        ("locationid", ""),
    ]
    assert doc.find("./operation/result") is None
    assert error_of(doc.find("operation"))["description2"] == "Sign-in information is incorrect"  # type: ignore[arg-type]
    assert error_of(doc)["errorno"] == "XL03000006"
    assert shared_sim.stats()["transactions"] == before


def test_unknown_session_is_http_401_xmlgw_jpp0002(gw: Gateway, shared_sim: Simulator) -> None:
    before = shared_sim.stats()["transactions"]
    response = gw.post(envelope(function("<getAPISession/>"), sessionid="no-such-session.."))
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/xml")
    doc = parse(response)
    control = doc.find("control")
    assert control is not None and [c.tag for c in control] == ["status"]
    assert doc.findtext("./control/status") == "failure"
    error = doc.find("./errormessage/error")
    assert error is not None
    assert [(c.tag, c.text) for c in error] == [
        ("errorno", "XMLGW_JPP0002"),
        ("description", "Sign-in information is incorrect. Please check your request."),
    ]
    assert shared_sim.stats()["transactions"] == before


def _schema_error(gw: Gateway, body: bytes) -> dict[str, str]:
    response = gw.post(body)
    assert response.status_code == 200
    doc = parse(response)
    assert doc.findtext("./control/status") == "failure"
    assert doc.find("operation") is None
    error = error_of(doc)
    assert error["errorno"] == "XL03000003"
    return error


def test_malformed_xml_is_xl03000003(gw: Gateway) -> None:
    error = _schema_error(gw, b"<request><control><senderid>x</senderid></contr")
    assert "parse" in error["description2"].lower()


def test_missing_function_controlid_is_xl03000003(gw: Gateway) -> None:
    body = envelope("<function><getAPISession/></function>")
    assert "controlid" in _schema_error(gw, body)["description2"]


def test_missing_control_controlid_is_xl03000003(gw: Gateway) -> None:
    body = envelope(function("<getAPISession/>")).replace(b"<controlid>ctl-1</controlid>", b"")
    assert "controlid" in _schema_error(gw, body)["description2"]


def test_missing_dtdversion_and_wrong_dtdversion_are_xl03000003(gw: Gateway) -> None:
    body = envelope(function("<getAPISession/>"))
    _schema_error(gw, body.replace(b"<dtdversion>3.0</dtdversion>", b""))
    _schema_error(gw, body.replace(b"<dtdversion>3.0</dtdversion>", b"<dtdversion>2.1</dtdversion>"))


def test_missing_authentication_or_both_kinds_are_xl03000003(gw: Gateway) -> None:
    _schema_error(gw, envelope(function("<getAPISession/>"), auth=""))
    both = login_xml() + "<sessionid>abc..</sessionid>"
    _schema_error(gw, envelope(function("<getAPISession/>"), auth=both))


def test_unknown_function_element_and_empty_content_are_xl03000003(gw: Gateway) -> None:
    _schema_error(gw, envelope(function("<frobnicate/>")))
    _schema_error(gw, envelope(""))


def test_bad_uniqueid_value_is_xl03000003(gw: Gateway) -> None:
    _schema_error(gw, envelope(function("<getAPISession/>"), uniqueid="maybe"))


def test_doctype_is_refused(gw: Gateway) -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        + envelope(function("<getAPISession/>"))[38:]
    )
    _schema_error(gw, body)


def test_policyid_is_a_control_failure(gw: Gateway) -> None:
    doc = parse(gw.post(envelope(function("<getAPISession/>"), control_extra="<policyid>test</policyid>")))
    assert error_of(doc)["description2"] == "test is not a valid transport policy."


def test_function_failure_does_not_fail_the_other_functions(gw: Gateway) -> None:
    doc = gw.call(
        function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=1), "ok-1"),
        function(query_xml("BADOBJECT", ["RECORDNO"]), "bad"),
        function("<read><object>CUSTOMER</object><keys>1</keys></read>", "unsupported"),
        function(query_xml("VENDOR", ["RECORDNO"], pagesize=1), "ok-2"),
    )
    statuses = [(r.findtext("controlid"), r.findtext("status")) for r in results(doc)]
    assert statuses == [
        ("ok-1", "success"),
        ("bad", "failure"),
        ("unsupported", "failure"),
        ("ok-2", "success"),
    ]
    bad = results(doc)[1]
    assert bad.findtext("function") == "query"
    assert error_of(bad) == {
        "errorno": "Query Failed",
        "description": "",
        "description2": "Object definition BADOBJECT not found",
        "correction": "",
    }
    assert bad.find("data") is None
    assert "not supported" in error_of(results(doc)[2])["description2"]


def test_transaction_true_rolls_back_every_function_when_one_fails(gw: Gateway) -> None:
    doc = gw.call(
        function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=1), "a"),
        function(query_xml("NOPE", ["RECORDNO"]), "b"),
        transaction="true",
    )
    first, second = results(doc)
    assert first.findtext("status") == "aborted"
    assert first.find("data") is None
    assert error_of(first)["errorno"] == "XL03000009"
    assert second.findtext("status") == "failure"
    assert [e.findtext("errorno") for e in second.findall("./errormessage/error")] == [
        "Query Failed",
        "XL03000009",
    ]


def test_uniqueid_true_refuses_a_repeated_function_controlid(gw: Gateway) -> None:
    inner = function(query_xml("GLACCOUNT", ["RECORDNO"], pagesize=1), "once-only-7f3a")
    first = results(gw.call(inner, uniqueid="true"))[0]
    second = results(gw.call(inner, uniqueid="true"))[0]
    third = results(gw.call(inner, uniqueid="false"))[0]
    assert first.findtext("status") == "success"
    assert second.findtext("status") == "failure"
    assert "once-only-7f3a" in error_of(second)["description2"]
    assert third.findtext("status") == "success"


def test_pretty_printing_follows_includewhitespace(gw: Gateway) -> None:
    inner = function(query_xml("CUSTOMER", ["RECORDNO", "NAME"], pagesize=3))
    gw.login()
    compact = gw.post(envelope(inner, sessionid=gw.sessionid, pretty=False)).content
    pretty = gw.post(envelope(inner, sessionid=gw.sessionid, pretty=True)).content
    assert b"\n  <control>" in pretty
    # As recorded from a real tenant: the declaration, exactly one newline, the document on one line.
    declaration, rest = compact.split(b"?>", 1)
    assert declaration == b'<?xml version="1.0" encoding="utf-8"'
    assert rest.startswith(b"\n<response>") and b"\n" not in rest[1:]

    def texts(body: bytes) -> list[tuple[str, str]]:
        return [
            (e.tag, e.text or "")
            for e in parse_bytes(body).iter()
            if e.tag not in ("sessiontimestamp", "sessiontimeout") and len(e) == 0
        ]

    assert texts(compact) == texts(pretty)


def test_login_per_request_without_a_session_works_and_carries_timestamps(gw: Gateway) -> None:
    response = gw.post(envelope(function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=2))))
    doc = parse(response)
    assert doc.findtext("./operation/authentication/sessiontimestamp")
    assert doc.findtext("./operation/authentication/sessiontimeout")
    assert len(results(doc)[0].findall("./data/CUSTOMER")) == 2


def test_keep_alive_connection_serves_several_requests(gw: Gateway) -> None:
    first = gw.post(envelope(function("<getAPISession/>")))
    second = gw.post(envelope(function("<getAPISession/>")))
    assert first.raw.version == 11 and second.raw.version == 11
    assert first.headers.get("Connection", "").lower() != "close"
    assert second.status_code == 200


def test_get_on_the_gateway_and_unknown_paths(gw: Gateway, shared_sim: Simulator) -> None:
    assert gw.http.get(shared_sim.url).status_code == 405
    assert gw.http.post(shared_sim.base_url + "/elsewhere", data=b"x").status_code == 404


def test_chunked_request_bodies_are_accepted(gw: Gateway) -> None:
    body = envelope(function("<getAPISession/>"))
    response = gw.http.post(gw.sim.url, data=iter([body[:50], body[50:]]))  # a generator: chunked upload
    assert response.status_code == 200
    assert parse(response).findtext("./operation/result/status") == "success"
