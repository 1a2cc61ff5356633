"""Each injected fault is retried or not as the policy says; attempts are counted by the simulator."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from intacct_sim import Simulator
from intacct_sync.intacct import (
    ApiSession,
    GatewayError,
    IntacctClient,
    PossiblyStillRunningError,
    Query,
    QueryPage,
    RateLimitError,
    RetryPolicy,
    Timeouts,
    TransportError,
)
from tests.integration.intacct.conftest import SIM_SENDER, SIM_USER

QUERY = Query("CUSTOMER", ("RECORDNO", "NAME"), page_size=5)


def client_for(sim: Simulator, **kwargs: Any) -> IntacctClient:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05))
    return IntacctClient(SIM_SENDER, gateway_url=sim.url, **kwargs)


# Faults injected before the function runs: nothing executes, so only the final attempt is billed.
@pytest.mark.parametrize("kind", ["http_500", "http_502", "http_503", "connection_reset"])
def test_before_faults_are_retried_until_success(
    client: IntacctClient, sim: Simulator, session: ApiSession, kind: str
) -> None:
    sim.set_faults([{"kind": kind, "count": 2, "function": "query"}])
    page = client.query(session, QUERY)
    assert page.count == 5
    stats = sim.stats()
    assert stats["http_requests"] == 3
    assert stats["faults_injected"] == {kind: 2}
    assert stats["transactions_by_function"] == {"query": 1}
    assert client.transactions == {"query": 1}


# Faults injected after the function ran: Intacct billed every attempt, the client saw one result.
@pytest.mark.parametrize("kind", ["truncated_xml", "malformed_xml"])
def test_spoiled_bodies_are_retried_until_success(
    client: IntacctClient, sim: Simulator, session: ApiSession, kind: str
) -> None:
    sim.set_faults([{"kind": kind, "count": 2, "function": "query"}])
    page = client.query(session, QUERY)
    assert page.count == 5
    stats = sim.stats()
    assert stats["http_requests"] == 3
    assert stats["faults_injected"] == {kind: 2}
    assert stats["transactions_by_function"] == {"query": 3}  # the gateway ran all three
    assert client.transactions == {"query": 1}  # only one <result> ever reached the client


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("http_503", GatewayError),
        ("truncated_xml", GatewayError),
        ("connection_reset", TransportError),
    ],
)
def test_retries_are_bounded(
    client: IntacctClient, sim: Simulator, session: ApiSession, kind: str, error: type[Exception]
) -> None:
    sim.set_faults([{"kind": kind, "function": "query"}])  # every query fails
    with pytest.raises(error) as info:
        client.query(session, QUERY)
    assert "gave up after 4 attempts" in str(info.value)
    assert sim.stats()["http_requests"] == 4


def test_524_is_not_retried(client: IntacctClient, sim: Simulator, session: ApiSession) -> None:
    sim.set_faults([{"kind": "http_524", "on_calls": [3]}])
    client.query(session, QUERY)
    client.query(session, QUERY)
    with pytest.raises(PossiblyStillRunningError) as info:
        client.query(session, QUERY)
    assert info.value.http_status == 524
    stats = sim.stats()
    assert stats["http_requests"] == 3
    assert stats["faults_injected"] == {"http_524": 1}
    assert stats["transactions_by_function"] == {"query": 3}  # the third one did run at Intacct


def test_524_on_get_api_session_is_retried(client: IntacctClient, sim: Simulator) -> None:
    sim.set_faults([{"kind": "http_524", "count": 1, "function": "getAPISession"}])
    session = client.get_api_session(SIM_USER)
    assert session.session_id
    assert sim.stats()["http_requests"] == 2


def test_429_waits_for_retry_after_then_succeeds(sim: Simulator, session: ApiSession) -> None:
    sleeps: list[float] = []
    client = client_for(
        sim, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=2.0), sleep=sleeps.append
    )
    sim.set_faults([{"kind": "http_429", "count": 1}])
    assert client.query(session, QUERY).count == 5
    assert sleeps == [1.0]  # the simulator sends Retry-After: 1
    stats = sim.stats()
    assert stats["http_requests"] == 2 and stats["responses_by_status"]["429"] == 1


def test_429_exhausted_is_a_rate_limit_error(sim: Simulator, session: ApiSession) -> None:
    client = client_for(
        sim, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=2.0), sleep=lambda s: None
    )
    sim.set_faults([{"kind": "http_429"}])
    with pytest.raises(RateLimitError) as info:
        client.query(session, QUERY)
    assert info.value.errorno == "GW-0010" and info.value.http_status == 429
    assert sim.stats()["http_requests"] == 3


def test_retry_after_beyond_max_delay_is_handed_to_the_caller(sim: Simulator, session: ApiSession) -> None:
    client = client_for(sim)  # max_delay 0.05 s < Retry-After 1 s
    sim.set_faults([{"kind": "http_429"}])
    with pytest.raises(RateLimitError) as info:
        client.query(session, QUERY)
    assert info.value.retry_after == 1.0
    assert sim.stats()["http_requests"] == 1


def test_real_concurrency_limit_is_absorbed_by_retries(sim: Simulator, session: ApiSession) -> None:
    # Given a tenant limited to one request at a time and slow responses
    sim.configure(concurrency_limit=1, latency_ms=300)
    client = client_for(sim, retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=2.0))
    pages: list[QueryPage] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            pages.append(client.query(session, QUERY))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    # When two queries run at once
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # Then one was rate limited (429 GW-0010), waited Retry-After and succeeded
    assert errors == [] and len(pages) == 2
    stats = sim.stats()
    assert stats["responses_by_status"].get("429", 0) >= 1
    assert stats["transactions_by_function"] == {"query": 2}


def test_read_timeout_is_retried(sim: Simulator, session: ApiSession) -> None:
    client = client_for(sim, timeouts=Timeouts(connect=2.0, read=0.3))
    sim.set_faults([{"kind": "slow", "delay_ms": 1500, "count": 1, "function": "query"}])
    assert client.query(session, QUERY).count == 5
    assert sim.stats()["http_requests"] == 2


def test_faults_only_hit_the_function_they_name(client: IntacctClient, sim: Simulator) -> None:
    sim.set_faults([{"kind": "http_503", "function": "query"}])
    session = client.get_api_session(SIM_USER)  # unaffected
    assert session.session_id
    assert sim.stats()["faults_injected"] == {}
