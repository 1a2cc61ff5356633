"""End-to-end fixtures: a simulator per test and helpers to read what an export landed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from intacct_sim import SimulatorConfig, start_simulator


@pytest.fixture
def make_sim():
    started = []

    def make(**config: Any):
        sim = start_simulator(SimulatorConfig(port=0, **config))
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def exported_records(out: Path, object_name: str, run_id: str) -> list[dict[str, Any]]:
    """Every record in the run's parts, as mirrored to the local out directory."""
    folder = out / "exports" / f"object={object_name}" / f"run_id={run_id}"
    records: list[dict[str, Any]] = []
    for part in sorted(folder.glob("part-*.ndjson.gz")):
        records.extend(json.loads(line) for line in gzip.decompress(part.read_bytes()).decode().splitlines())
    return records
