"""Fixtures for the simulator tests: real simulators on loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from intacct_sim import Simulator, SimulatorConfig, start_simulator
from tests.sim.sim_support import Gateway


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[Simulator]:
    """A read-only simulator shared by a module's tests (300 records per object, seed 7)."""
    sim = start_simulator(SimulatorConfig(records=300, seed=7, port=0))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def gw(shared_sim: Simulator) -> Iterator[Gateway]:
    """A raw-XML client of the shared simulator."""
    gateway = Gateway(shared_sim)
    try:
        yield gateway
    finally:
        gateway.http.close()


@pytest.fixture
def gw_factory() -> Iterator[Callable[[Simulator], Gateway]]:
    """Raw-XML clients of any simulator (closed afterwards)."""
    made: list[Gateway] = []

    def make(sim: Simulator) -> Gateway:
        gateway = Gateway(sim)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.http.close()
