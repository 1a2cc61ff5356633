"""getAPISession, sliding session expiry and entity-scoped sessions (PROTOCOL §2)."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from intacct_sim import Simulator
from tests.sim.sim_support import Gateway, envelope, error_of, function, login_xml, parse, query_xml, results

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def _auth_times(doc: ET.Element) -> tuple[datetime, datetime]:
    stamp = doc.findtext("./operation/authentication/sessiontimestamp", "")
    timeout = doc.findtext("./operation/authentication/sessiontimeout", "")
    assert ISO_WITH_OFFSET.match(stamp) and ISO_WITH_OFFSET.match(timeout), (stamp, timeout)
    return datetime.fromisoformat(stamp), datetime.fromisoformat(timeout)


def test_get_api_session_response_shape(gw: Gateway, shared_sim: Simulator) -> None:
    doc = parse(gw.post(envelope(function("<getAPISession/>", "sess-1"))))
    result = results(doc)[0]
    assert result.findtext("function") == "getAPISession"
    assert result.findtext("controlid") == "sess-1"
    api = result.find("./data/api")
    assert api is not None
    assert [c.tag for c in api] == ["sessionid", "endpoint", "locationid"]
    assert (api.findtext("sessionid") or "").endswith("..")
    assert api.findtext("endpoint") == shared_sim.url
    assert api.findtext("locationid") == ""
    stamp, timeout = _auth_times(doc)
    assert timeout - stamp == (timeout - stamp).__class__(seconds=3600)
    expected_offset = datetime.now(ZoneInfo("America/Los_Angeles")).utcoffset()
    assert stamp.utcoffset() == expected_offset


def test_every_response_carries_the_session_times(gw: Gateway) -> None:
    doc = gw.call(function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=1)))
    _auth_times(doc)
    assert doc.findtext("./operation/authentication/userid") == "sim-user"
    assert doc.findtext("./operation/authentication/companyid") == "SIMCO"


def test_session_times_use_the_tenant_timezone(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(timezone="Asia/Kolkata", records=5)
    doc = parse(Gateway(sim).post(envelope(function("<getAPISession/>"))))
    stamp, _ = _auth_times(doc)
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 5.5 * 3600  # type: ignore[union-attr]


def test_endpoint_url_is_configurable(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5, endpoint_url="http://sim.example:9/ia/xml/xmlgw.phtml")
    doc = parse(Gateway(sim).post(envelope(function("<getAPISession/>"))))
    assert doc.findtext("./operation/result/data/api/endpoint") == "http://sim.example:9/ia/xml/xmlgw.phtml"


def test_sessions_slide_and_then_expire(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5, session_seconds=1.0)
    gw = Gateway(sim)
    sessionid = gw.login()
    body = envelope(function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=1)), sessionid=sessionid)
    timeouts = []
    for _ in range(3):  # 1.2 s in total, longer than the session, but never 1 s without a call
        time.sleep(0.4)
        response = gw.post(body)
        assert response.status_code == 200
        timeouts.append(_auth_times(parse(response))[1])
    assert timeouts[-1] >= timeouts[0]  # second precision: the projected timeout never moves back
    time.sleep(1.4)
    expired = gw.post(body)
    assert expired.status_code == 401
    assert error_of(parse(expired))["errorno"] == "XMLGW_JPP0002"


def test_session_duration_in_minutes_and_changed_at_run_time(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5, session_minutes=30)
    stamp, timeout = _auth_times(parse(Gateway(sim).post(envelope(function("<getAPISession/>")))))
    assert (timeout - stamp).total_seconds() == 1800
    sim.configure(session_minutes=2)
    stamp, timeout = _auth_times(parse(Gateway(sim).post(envelope(function("<getAPISession/>")))))
    assert (timeout - stamp).total_seconds() == 120


def test_expire_sessions_endpoint_invalidates_sessions(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5)
    gw = Gateway(sim)
    sessionid = gw.login()
    answer = gw.http.post(sim.base_url + "/__sim__/expire-sessions").json()
    assert answer == {"expired": 1}
    response = gw.post(envelope(function("<getAPISession/>"), sessionid=sessionid))
    assert response.status_code == 401


def test_get_api_session_with_a_session_returns_the_same_session(gw: Gateway, shared_sim: Simulator) -> None:
    sessionid = gw.login()
    created = shared_sim.stats()["sessions_created"]
    doc = gw.call(function("<getAPISession/>"))
    assert doc.findtext("./operation/result/data/api/sessionid") == sessionid
    assert shared_sim.stats()["sessions_created"] == created


def _entities_seen(gw: Gateway, sessionid: str) -> set[str]:
    gw.sessionid = sessionid
    result = gw.query("CUSTOMER", ["RECORDNO", "MEGAENTITYID"], pagesize=2000)
    return {r.findtext("MEGAENTITYID") or "" for r in result.findall("./data/CUSTOMER")}


def _visible_to(entity: str, records: list[dict[str, str]]) -> list[dict[str, str]]:
    """An entity session's records: its own, and the top-level ones not restricted to the top level."""
    return [
        r
        for r in records
        if r["MEGAENTITYID"] == entity
        or (r["MEGAENTITYID"] == "" and r["OBJECTRESTRICTION"] not in ("RootOnly", "Restricted"))
    ]


def test_login_locationid_scopes_queries_to_that_entity(gw: Gateway, shared_sim: Simulator) -> None:
    top = gw.login()
    assert _entities_seen(gw, top) == {"US", "UK", "DE", ""}  # with showprivate (the test client sends it)
    entity_session = gw.login(locationid="UK")
    assert _entities_seen(gw, entity_session) == {"UK", ""}
    count = int(gw.query("CUSTOMER", ["RECORDNO"], pagesize=1).find("data").get("totalcount"))  # type: ignore[union-attr, arg-type]
    assert count == len(_visible_to("UK", shared_sim.records("CUSTOMER")))
    assert count < len(shared_sim.records("CUSTOMER"))
    doc = gw.call(function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=1)))
    assert doc.findtext("./operation/authentication/locationid") == "UK"


def test_company_pipe_entity_login_syntax_scopes_too(gw: Gateway) -> None:
    response = gw.post(envelope(function("<getAPISession/>"), auth=login_xml(companyid="SIMCO|DE")))
    doc = parse(response)
    assert doc.findtext("./operation/result/data/api/locationid") == "DE"


def test_get_api_session_locationid_switches_entity_and_back(gw: Gateway) -> None:
    top = gw.login()
    doc = gw.call(function("<getAPISession><locationid>DE</locationid></getAPISession>"))
    de_session = doc.findtext("./operation/result/data/api/sessionid") or ""
    assert de_session != top
    assert doc.findtext("./operation/result/data/api/locationid") == "DE"
    assert _entities_seen(gw, de_session) == {"DE", ""}
    doc = gw.call(function("<getAPISession><locationid/></getAPISession>"))
    back = doc.findtext("./operation/result/data/api/sessionid") or ""
    assert back not in (top, de_session)
    assert _entities_seen(gw, back) == {"US", "UK", "DE", ""}


def test_unknown_entity_fails(gw: Gateway) -> None:
    bad_login = parse(gw.post(envelope(function("<getAPISession/>"), auth=login_xml(locationid="XX"))))
    assert bad_login.findtext("./operation/authentication/status") == "failure"
    gw.login()
    result = gw.result("<getAPISession><locationid>XX</locationid></getAPISession>")
    assert result.findtext("status") == "failure"
    assert error_of(result)["errorno"] == "Get API Session Failed"


def test_credentials_are_configurable(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5, sender_id="acme-sender", company_id="ACME", user_id="bob", user_password="pw")
    gw = Gateway(sim)
    ok = parse(
        gw.post(
            envelope(
                function("<getAPISession/>"),
                sender_id="acme-sender",
                auth=login_xml(userid="bob", companyid="ACME", password="pw"),
            )
        )
    )
    assert ok.findtext("./operation/authentication/status") == "success"
    default = parse(gw.post(envelope(function("<getAPISession/>"))))
    assert error_of(default)["errorno"] == "XL03000006"
