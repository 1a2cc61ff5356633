"""Shared fixtures for the Intacct client's integration tests: a real simulator over real HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from intacct_sim import Simulator, SimulatorConfig, start_simulator
from intacct_sync.intacct import (
    ApiSession,
    IntacctClient,
    RetryPolicy,
    SenderCredentials,
    Timeouts,
    UserCredentials,
)

SIM_SENDER = SenderCredentials("intacct-sim", "intacct-sim-pw")
SIM_USER = UserCredentials("SIMCO", "sim-user", "sim-user-pw")
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


class RecordingSession(requests.Session):
    """A real requests.Session that remembers where each request went."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.urls.append(str(url))
        return super().request(method, url, *args, **kwargs)


SIM_CONFIG = SimulatorConfig(records=500, seed=1, port=0)
DEFAULT_RUNTIME = {
    "latency_ms": 0.0,
    "latency_per_record_ms": 0.0,
    "concurrency_limit": None,
    "session_seconds": 3600.0,
    "mutations_per_query": [],
    "endpoint_url": None,
}


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[Simulator]:
    """One simulator per test module (stopping one takes about half a second)."""
    simulator = start_simulator(dataclasses.replace(SIM_CONFIG))
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def sim(shared_sim: Simulator) -> Simulator:
    """The module's simulator, reset for this test: no faults, default settings, zeroed stats.

    Tests must not change its data; use ``make_sim`` (tests/conftest.py) for that.
    """
    shared_sim.clear_faults()
    shared_sim.configure(**DEFAULT_RUNTIME)
    shared_sim.expire_sessions()
    shared_sim.reset_stats()
    return shared_sim


@pytest.fixture
def http() -> Iterator[RecordingSession]:
    session = RecordingSession()
    try:
        yield session
    finally:
        session.close()


def sim_client(sim: Simulator, http: requests.Session) -> IntacctClient:
    """A client for the simulator with tiny retry delays and short timeouts."""
    return IntacctClient(
        SIM_SENDER,
        gateway_url=sim.url,
        retry=FAST_RETRY,
        timeouts=Timeouts(connect=2.0, read=10.0),
        http=http,
    )


@pytest.fixture
def client(sim: Simulator, http: RecordingSession) -> IntacctClient:
    """A client for the simulator (``sim_client``) that has made no call yet."""
    return sim_client(sim, http)


@pytest.fixture
def session(sim: Simulator) -> ApiSession:
    """A logged-in session, got by a client of its own (the test's ``client`` counts only the test's calls),
    with the simulator's stats reset afterwards (so does the simulator)."""
    with requests.Session() as http:
        api_session = sim_client(sim, http).get_api_session(SIM_USER)
    sim.reset_stats()
    return api_session


def normalise(record: dict[str, str], fields: tuple[str, ...]) -> dict[str, str | None]:
    """A simulator record as the client returns it: only the selected fields, empty text as None."""
    return {name: (record.get(name) or None) for name in fields}
