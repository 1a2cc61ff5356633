"""The recorded real records (docs/intacct/real-objects/records), replayed by the simulator exactly as the
real tenant answered them, exported through the real state machine: every object exports without error
and lands what was recorded, under the requested names ('#' ones included) with the recorded values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline, mirror_bucket
from intacct_local.sql import query
from intacct_sim import Simulator, SimulatorConfig, start_simulator
from intacct_sim.recorded import recorded_objects, recorded_records, requested_fields
from intacct_sim.schema import OBJECTS
from tests.e2e.conftest import landed_records, lands_as

pytestmark = pytest.mark.e2e
RECORDED = recorded_objects()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalPipeline, Simulator, Path]]:
    sim = start_simulator(SimulatorConfig(records=0, seed=1, port=0))
    for obj in RECORDED:
        sim.replay(obj, recorded_records(obj))
    options = RunOptions(page_size=2, concurrency=2, quiet=True)  # up to 3 records: keyset pages too
    with local_pipeline(options, sim=sim, function_env={"INTACCT_RETRY_BASE_DELAY_MS": "5"}) as pipeline:
        yield pipeline, sim, tmp_path_factory.mktemp("replayed")
    sim.stop()


@pytest.mark.parametrize("obj", RECORDED)
def test_every_recorded_object_exports_and_lands_what_was_recorded(replayed, obj: str) -> None:
    pipeline = replayed[0]
    recorded = recorded_records(obj)
    # When the object is exported (those outside the catalogue too: any object can be, by its own key)
    result = pipeline.export({"object": obj, "mode": "full"})
    # Then it succeeds and reconciles with exactly the recorded records
    assert result.status == "SUCCEEDED", result.error
    assert result.manifest["reconciled"] and result.manifest["records_written"] == len(recorded)
    landed = landed_records(pipeline, obj, result.run_id)
    key = "id" if obj == "DIMENSION" else "RECORDNO"
    assert result.manifest["key_field"] == key
    by_key = {str(r[key]): r for r in landed}
    assert len(by_key) == len(landed) == len(recorded)
    # And each lands under the requested names ('#' ones included, none renamed or numbered), each value
    # as recorded
    types = {f.name: f.datatype for f in OBJECTS[obj].fields}
    for record in recorded:
        row = by_key[record[key]]
        assert set(requested_fields(obj)) <= set(row)
        assert set(row) - set(types) == {"_sdc_run_id", "_sdc_extracted_at"}
        wrong = {f: (text, row[f]) for f, text in record.items() if not lands_as(text, row[f], types[f])}
        assert wrong == {}


def test_hash_fields_have_columns_of_their_own(replayed) -> None:
    pipeline, _, out = replayed
    # Given the recorded credit cards, exported: DEPT and DEPT#, LOCATION and LOCATION# are separate fields
    result = pipeline.export({"object": "CREDITCARD", "mode": "full"})
    assert result.status == "SUCCEEDED", result.error
    mirror_bucket(pipeline.stack, out)
    # Then the reporting tables give each its own column, told apart and readable by name
    names, rows = query(
        out, "SELECT recordno, liabacct_, location, location_ FROM creditcard_current ORDER BY recordno"
    )
    assert names == ["recordno", "liabacct_", "location", "location_"]
    assert rows == [(5, "7710", "-Fallback-scrubbed-yvSBGP", "9806")] + [
        (int(r["RECORDNO"]), r["LIABACCT#"] or None, r["LOCATION"] or None, r["LOCATION#"] or None)
        for r in recorded_records("CREDITCARD")[1:]
    ]
