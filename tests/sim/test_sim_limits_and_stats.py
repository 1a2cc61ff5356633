"""Latency, the tenant concurrency limit (HTTP 429 GW-0010), accounting and the control API."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests

from intacct_sim import Simulator, SimulatorConfig, start_simulator
from tests.sim.sim_support import Gateway, envelope, function, login_xml, parse, query_xml


def _parallel(sim: Simulator, count: int) -> list[requests.Response]:
    body = envelope(function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=5)))
    responses: list[requests.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def worker() -> None:
        gw = Gateway(sim)
        start.wait()
        response = gw.post(body)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return responses


def test_concurrency_limit_rejects_with_429_gw_0010(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=50, latency_ms=700, concurrency_limit=2)
    responses = _parallel(sim, 5)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429, 429]
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["Content-Type"].startswith("text/xml")
    doc = parse(limited)
    assert doc.findtext("./control/status") == "failure"
    assert doc.findtext("./errormessage/error/errorno") == "GW-0010"
    stats = sim.stats()
    assert 3 <= stats["peak_concurrency"] <= 5  # 2 served + rejected ones (which leave at once)
    assert stats["responses_by_status"] == {"200": 2, "429": 3}
    assert stats["transactions"] == 2
    assert stats["http_requests"] == 5


def test_without_a_limit_everything_is_served_and_peak_is_measured(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(records=50, latency_ms=600)
    responses = _parallel(sim, 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert sim.stats()["peak_concurrency"] == 4


def test_limit_can_be_set_and_removed_at_run_time(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=50, latency_ms=600)
    answer = requests.post(sim.base_url + "/__sim__/config", json={"concurrency_limit": 1}, timeout=10).json()
    assert answer["concurrency_limit"] == 1
    assert sorted(r.status_code for r in _parallel(sim, 3)) == [200, 429, 429]
    sim.configure(concurrency_limit=None)
    assert [r.status_code for r in _parallel(sim, 3)] == [200] * 3


def test_latency_applies_to_every_call_plus_per_record_cost(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=200, latency_ms=150)
    gw = Gateway(sim)
    started = time.monotonic()
    gw.post(envelope(function("<getAPISession/>")))
    assert time.monotonic() - started >= 0.15
    sim.configure(latency_ms=0, latency_per_record_ms=5)
    started = time.monotonic()
    gw.post(envelope(function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=100))))
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    gw.post(envelope(function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=1))))
    assert time.monotonic() - started < 0.4


def test_stats_count_transactions_per_function(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=50)
    gw = Gateway(sim)
    gw.login()
    gw.call(
        function(query_xml("CUSTOMER", ["RECORDNO"], pagesize=7), "a"),
        function(query_xml("NOPE", ["RECORDNO"]), "b"),
        function("<lookup><object>VENDOR</object></lookup>", "c"),
        function(
            "<readByQuery><object>AUDITHISTORY</object><query></query><pagesize>10</pagesize></readByQuery>",
            "d",
        ),
    )
    gw.post(envelope(function("<getAPISession/>"), auth=login_xml(password="bad")))  # auth failure: 0
    gw.post(envelope(function("<getAPISession/>"), sender_password="bad"))  # control failure: 0
    gw.post(envelope(function("<getAPISession/>"), sessionid="expired.."))  # 401: 0
    gw.post(b"<not-xml")  # XL03000003: 0
    stats = sim.stats()
    assert stats["transactions"] == 5
    assert stats["transactions_by_function"] == {
        "getAPISession": 1,
        "query": 2,
        "lookup": 1,
        "readByQuery": 1,
    }
    assert stats["http_requests"] == 6
    assert stats["responses_by_status"] == {"200": 5, "401": 1}
    assert stats["sessions_created"] == 1
    assert stats["records_returned"] == 17
    assert stats["faults_injected"] == {}
    assert stats["peak_concurrency"] == 1


def test_reset_stats_and_the_http_view(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=10)
    gw = Gateway(sim)
    gw.login()
    http = requests.Session()
    over_http = http.get(sim.base_url + "/__sim__/stats").json()
    assert over_http == sim.stats()
    assert over_http["transactions"] == 1 and over_http["in_flight"] == 0
    reset = http.post(sim.base_url + "/__sim__/reset-stats").json()
    assert reset["transactions"] == 0 and reset["http_requests"] == 0 and reset["sessions_created"] == 0
    gw.login()
    assert sim.stats()["transactions"] == 1
    sim.reset_stats()
    assert sim.stats()["transactions_by_function"] == {}


def test_a_control_post_without_a_body_is_an_empty_one(make_sim: Callable[..., Simulator]) -> None:
    # Given a simulator that has counted a login
    sim = make_sim(records=10)
    Gateway(sim).login()
    # When reset-stats is posted as `curl -X POST` posts it: no Content-Length and no body
    address = urlsplit(sim.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"POST /__sim__/reset-stats HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n")
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    # Then it is answered like an empty body: the counters are zeroed
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert sim.stats()["transactions"] == 0


def test_control_api_errors_and_health(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=10)
    http = requests.Session()
    assert http.get(sim.base_url + "/__sim__/health").json() == {"status": "ok", "url": sim.url}
    assert http.post(sim.base_url + "/__sim__/config", json={"records": 5}).status_code == 400
    assert http.post(sim.base_url + "/__sim__/config", data=b"{not json").status_code == 400
    assert http.get(sim.base_url + "/__sim__/nothing").status_code == 404
    config = http.get(sim.base_url + "/__sim__/config").json()
    assert config["records"] == 10 and config["timezone"] == "America/Los_Angeles"
    assert config["sender_id"] == "intacct-sim" and config["company_id"] == "SIMCO"


def test_stop_closes_the_port_and_open_connections() -> None:
    with start_simulator(SimulatorConfig(records=5, port=0)) as sim:
        gw = Gateway(sim)
        assert (
            gw.post(envelope(function("<getAPISession/>"))).status_code == 200
        )  # leaves a keep-alive connection
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        gw.post(envelope(function("<getAPISession/>")), timeout=5)
    assert time.monotonic() - started < 2


def test_concurrent_queries_and_mutations_stay_consistent(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=3000)
    stop = threading.Event()
    problems: list[str] = []

    def reader(seed: int) -> None:
        gw = Gateway(sim)
        gw.login()
        offset = seed * 100
        while not stop.is_set():
            result = gw.query("CUSTOMER", ["RECORDNO", "NAME"], pagesize=500, offset=offset % 3000)
            keys = [int(r.findtext("RECORDNO") or 0) for r in result.findall("./data/CUSTOMER")]
            if result.findtext("status") != "success" or keys != sorted(keys) or len(set(keys)) != len(keys):
                problems.append(f"bad page at offset {offset}")
            offset += 500

    def writer() -> None:
        while not stop.is_set():
            sim.mutate("CUSTOMER", inserts=2, updates=3, deletes=2)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    assert problems == []
    live = sim.records("CUSTOMER")
    stats = sim.stats()["mutations"]
    assert len(live) == 3000 + stats["inserted"] - stats["deleted"]
    audit = [a for a in sim.records("AUDITHISTORY")[3000:] if a["OBJECTTYPE"] == "customer"]
    assert len(audit) == stats["inserted"] + stats["updated"] + stats["deleted"]
