"""Injected faults: every kind, the rule options, and the control endpoint."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
import requests

from intacct_sim import Simulator
from tests.sim.sim_support import Gateway, envelope, function, parse, parse_bytes, query_xml

QUERY = function(query_xml("CUSTOMER", ["RECORDNO", "NAME"], pagesize=50))


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(records=100)


def _post(gw: Gateway, **kwargs: object) -> requests.Response:
    return gw.post(envelope(QUERY), **kwargs)  # type: ignore[arg-type]


HTML_FAULTS = [
    ("http_500", 500, b"Internal Server Error"),
    ("http_502", 502, b"cloudflare"),
    ("http_503", 503, b"Service Temporarily Unavailable"),
    ("http_524", 524, b"A timeout occurred"),
]


@pytest.mark.parametrize(("kind", "status", "marker"), HTML_FAULTS)
def test_http_error_faults_answer_with_html(sim: Simulator, kind: str, status: int, marker: bytes) -> None:
    sim.set_faults([{"kind": kind, "on_calls": [1]}])
    gw = Gateway(sim)
    response = _post(gw)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert marker in response.content
    with pytest.raises(ET.ParseError):
        parse_bytes(response.content)
    assert _post(gw).status_code == 200  # only call 1 was targeted
    stats = sim.stats()
    assert stats["faults_injected"] == {kind: 1}
    assert stats["responses_by_status"] == {str(status): 1, "200": 1}


def test_before_faults_do_not_execute_but_524_does(sim: Simulator) -> None:
    gw = Gateway(sim)
    sim.set_faults([{"kind": "http_500", "on_calls": [1]}, {"kind": "http_524", "on_calls": [2]}])
    _post(gw)
    assert sim.stats()["transactions"] == 0
    _post(gw)
    assert sim.stats()["transactions"] == 1  # the CDN gave up, but the backend ran the query
    assert sim.stats()["transactions_by_function"] == {"query": 1}


def test_http_429_fault_has_the_gw_0010_body_and_retry_after(sim: Simulator) -> None:
    sim.set_faults([{"kind": "http_429", "count": 1}])
    response = _post(Gateway(sim))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    doc = parse(response)
    assert doc.findtext("./control/status") == "failure"
    assert doc.findtext("./errormessage/error/errorno") == "GW-0010"
    assert sim.stats()["transactions"] == 0


def test_truncated_xml_is_a_prefix_of_a_real_answer(sim: Simulator) -> None:
    gw = Gateway(sim)
    complete = _post(gw).content
    sim.set_faults([{"kind": "truncated_xml", "count": 1, "function": "query"}])
    truncated = _post(gw)
    assert truncated.status_code == 200
    assert truncated.headers["Content-Length"] == str(len(truncated.content))
    assert 0 < len(truncated.content) < len(complete)
    assert complete.startswith(truncated.content[:200])
    with pytest.raises(ET.ParseError):
        parse_bytes(truncated.content)
    assert parse(_post(gw)).findtext("./control/status") == "success"  # count=1: the next answer is whole


def test_malformed_xml(sim: Simulator) -> None:
    sim.set_faults([{"kind": "malformed_xml", "count": 1}])
    response = _post(Gateway(sim))
    assert response.status_code == 200
    assert response.content.startswith(b"<?xml")
    with pytest.raises(ET.ParseError):
        parse_bytes(response.content)


def test_connection_reset_closes_without_a_response(sim: Simulator) -> None:
    sim.set_faults([{"kind": "connection_reset", "on_calls": [1]}])
    gw = Gateway(sim)
    with pytest.raises(requests.ConnectionError):
        _post(gw)
    assert _post(gw).status_code == 200  # a new connection works
    assert sim.stats()["faults_injected"] == {"connection_reset": 1}
    assert sim.stats()["transactions"] == 1


def test_slow_fault_outlasts_a_client_timeout(sim: Simulator) -> None:
    sim.set_faults([{"kind": "slow", "delay_ms": 1500, "count": 1}])
    gw = Gateway(sim)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        _post(gw, timeout=0.4)
    assert time.monotonic() - started < 1.2
    response = Gateway(sim).post(envelope(QUERY), timeout=5)
    assert response.status_code == 200
    time.sleep(1.2)  # the slow request still finishes on the server and counts as executed
    assert sim.stats()["transactions"] == 2


def test_count_limits_how_often_a_rule_fires(sim: Simulator) -> None:
    sim.set_faults([{"kind": "http_503", "count": 2}])
    gw = Gateway(sim)
    assert [_post(gw).status_code for _ in range(4)] == [503, 503, 200, 200]


def test_function_and_object_filters(sim: Simulator) -> None:
    sim.set_faults([{"kind": "http_500", "function": "query", "object": "VENDOR"}])
    gw = Gateway(sim)
    login = gw.post(envelope(function("<getAPISession/>")))
    customer = _post(gw)
    vendor = gw.post(envelope(function(query_xml("VENDOR", ["RECORDNO"]))))
    assert (login.status_code, customer.status_code, vendor.status_code) == (200, 200, 500)


def test_probability_is_seeded_and_roughly_right(make_sim: Callable[..., Simulator]) -> None:
    def pattern() -> list[int]:
        sim = make_sim(records=10, seed=5, faults=[{"kind": "http_502", "probability": 0.5}])
        gw = Gateway(sim)
        return [gw.post(envelope(function("<getAPISession/>"))).status_code for _ in range(40)]

    first, second = pattern(), pattern()
    assert first == second
    assert 8 <= first.count(502) <= 32
    never = make_sim(records=10, faults=[{"kind": "http_502", "probability": 0.0}])
    assert Gateway(never).post(envelope(function("<getAPISession/>"))).status_code == 200


def test_on_calls_count_from_when_rules_are_installed(sim: Simulator) -> None:
    gw = Gateway(sim)
    for _ in range(3):
        _post(gw)
    sim.set_faults([{"kind": "http_500", "on_calls": [2]}])
    assert [_post(gw).status_code for _ in range(3)] == [200, 500, 200]


def test_faults_from_the_constructor(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=10, faults=[{"kind": "http_524", "on_calls": [1, 3]}])
    gw = Gateway(sim)
    assert [_post(gw).status_code for _ in range(4)] == [524, 200, 524, 200]


def test_control_endpoint_replaces_lists_and_clears_rules(sim: Simulator) -> None:
    http = requests.Session()
    url = sim.base_url + "/__sim__/faults"
    installed = http.post(
        url, json=[{"kind": "http_500", "on_calls": [1]}, {"kind": "slow", "delay_ms": 10}]
    ).json()
    assert installed[0] == {"kind": "http_500", "phase": "before", "fired": 0, "on_calls": [1]}
    assert installed[1]["kind"] == "slow" and installed[1]["delay_ms"] == 10
    gw = Gateway(sim)
    assert _post(gw).status_code == 500
    assert http.get(url).json()[0]["fired"] == 1
    assert http.delete(url).json() == []
    assert http.get(url).json() == []
    assert _post(gw).status_code == 200


@pytest.mark.parametrize(
    "rules",
    [
        [{"kind": "http_999"}],
        [{"kind": "http_500", "probability": 2}],
        [{"kind": "http_500", "unknown": 1}],
        [{"kind": "http_500", "phase": "during"}],
        {"kind": "http_500"},
    ],
)
def test_invalid_rules_are_refused(sim: Simulator, rules: object) -> None:
    response = requests.post(sim.base_url + "/__sim__/faults", json=rules, timeout=10)
    assert response.status_code == 400
    assert "error" in response.json()
    with pytest.raises((ValueError, TypeError)):
        sim.set_faults(rules if isinstance(rules, list) else [rules, 1])


def test_phase_can_be_overridden(sim: Simulator) -> None:
    sim.set_faults([{"kind": "http_500", "phase": "after", "count": 1}])
    assert _post(Gateway(sim)).status_code == 500
    assert sim.stats()["transactions"] == 1


def test_service_offline_is_a_failed_result_inside_http_200(sim: Simulator) -> None:
    """fylein/sageintacct-sdk-py PR #132 retries results whose description2 says the service is off-line."""
    gw = Gateway(sim)
    gw.login()
    sim.reset_stats()
    sim.set_faults([{"kind": "service_offline", "count": 1}])
    response = gw.post(envelope(QUERY, sessionid=gw.sessionid))
    assert response.status_code == 200
    doc = parse(response)
    assert doc.findtext("./control/status") == "success"
    assert doc.findtext("./operation/authentication/status") == "success"
    result = doc.find("./operation/result")
    assert result is not None and result.findtext("status") == "failure"
    assert result.find("data") is None
    assert "The Service is Temporarily Off-line" in (result.findtext(".//description2") or "")
    assert sim.stats()["transactions"] == 0  # nothing ran, nothing billed
    assert parse(gw.post(envelope(QUERY, sessionid=gw.sessionid))).findtext("./operation/result/status") == (
        "success"
    )
    assert sim.stats()["faults_injected"] == {"service_offline": 1}


def test_try_again_later_is_a_control_failure_with_that_correction(sim: Simulator) -> None:
    """hotgluexyz/tap-intacct PR #17 retries when the error's correction says "Please Try Again Later"."""
    sim.set_faults([{"kind": "try_again_later", "count": 1}])
    response = _post(Gateway(sim))
    assert response.status_code == 200
    doc = parse(response)
    assert doc.findtext("./control/status") == "failure"
    assert doc.find("operation") is None
    assert "Please Try Again Later" in (doc.findtext("./errormessage/error/correction") or "")
    assert sim.stats()["transactions"] == 0


def test_in_band_faults_at_the_other_level(sim: Simulator) -> None:
    sim.set_faults(
        [
            {"kind": "try_again_later", "level": "result", "count": 1},
            {"kind": "service_offline", "level": "control"},
        ]
    )
    gw = Gateway(sim)
    first = parse(_post(gw))
    assert first.findtext("./control/status") == "success"
    assert "Please Try Again Later" in (
        first.findtext("./operation/result/errormessage/error/correction") or ""
    )
    second = parse(_post(gw))
    assert second.findtext("./control/status") == "failure"
    assert "Temporarily Off-line" in (second.findtext("./errormessage/error/description2") or "")
    with pytest.raises(ValueError):
        sim.set_faults([{"kind": "http_500", "level": "result"}])
