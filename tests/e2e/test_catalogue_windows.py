"""Incremental windows on every kind of object the catalogue holds: a date-only modified field
(FIXEDASSET), a text key (GLDETAIL), AR/AP headers (WHENCREATED a date, AUWHENCREATED the creation
timestamp) and a user-defined dimension outside the catalogue (id, updatedAt, createdAt)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline
from intacct_sim import Simulator, SimulatorConfig, start_simulator
from tests.e2e.conftest import landed_records

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def windowed() -> Iterator[tuple[LocalPipeline, Simulator]]:
    sim = start_simulator(SimulatorConfig(records=1000, seed=29, port=0))
    options = RunOptions(page_size=500, concurrency=2, quiet=True)
    with local_pipeline(options, sim=sim, function_env={"INTACCT_RETRY_BASE_DELAY_MS": "5"}) as pipeline:
        yield pipeline, sim
    sim.stop()


@pytest.mark.parametrize(
    "request_",
    [
        {"object": "FIXEDASSET"},  # WHENMODIFIED is a date
        {"object": "GLDETAIL"},  # a text key
        {"object": "ARINVOICE"},  # WHENCREATED a date, AUWHENCREATED the creation timestamp
        {"object": "DIMENSION", "id_field": "name"},  # not catalogued: id, updatedAt, createdAt
    ],
    ids=lambda r: r["object"],
)
def test_incremental_windows_work_on_every_kind_of_object(windowed, request_) -> None:
    pipeline, sim = windowed
    obj = request_["object"]
    # Given a first incremental run, which reads everything (no watermark yet)
    first = pipeline.export({**request_, "mode": "incremental"})
    assert first.status == "SUCCEEDED", first.error
    assert (
        first.manifest["records_written"] == len(sim.records(obj))
        and first.manifest["window"]["watermark_after"]
    )
    # When records change at Intacct and the next incremental run reads its window
    changed = sim.mutate(obj, inserts=2, updates=2, deletes=1)
    second = pipeline.export({**request_, "mode": "incremental"})
    assert second.status == "SUCCEEDED", second.error
    # Then it reads the changed records, and not everything
    key = second.manifest["key_field"]
    landed = {str(r[key]) for r in landed_records(pipeline, obj, second.run_id)}
    assert {str(k) for k in changed["inserted"] + changed["updated"]} <= landed
    assert second.manifest["window"]["since"] and len(landed) < len(sim.records(obj))
    if obj == "DIMENSION":  # and its deletion is a tombstone naming the record by its name
        assert second.manifest["deletes"]["records"] == 1 and second.manifest["deletes"]["unmapped"] == 0
