"""Every object of the default catalogue, synced from the simulator (its real field lists, types, sizes
and header/line relationships) through the real state machine: each lands exactly, every record once with
every value as the simulator renders it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline
from intacct_sim import Simulator, SimulatorConfig, start_simulator
from intacct_sim.schema import OBJECTS
from intacct_sync.export import layout
from intacct_sync.objects import DEFAULT_OBJECTS
from tests.e2e.conftest import landed_records, lands_as

pytestmark = pytest.mark.e2e
PAGE_SIZE = 40  # several pages (and segments) per object at 150 records


@pytest.fixture(scope="module")
def synced() -> Iterator[tuple[LocalPipeline, Simulator]]:
    sim = start_simulator(SimulatorConfig(records=150, seed=23, port=0))
    options = RunOptions(page_size=PAGE_SIZE, concurrency=2, quiet=True)
    with local_pipeline(options, sim=sim, function_env={"INTACCT_RETRY_BASE_DELAY_MS": "5"}) as pipeline:
        yield pipeline, sim
    sim.stop()


@pytest.mark.parametrize("entry", DEFAULT_OBJECTS, ids=lambda o: o.name)
def test_every_catalogue_object_lands_exactly(synced, entry) -> None:
    pipeline, sim = synced
    source = sim.records(entry.name)
    assert source, f"the simulator has no {entry.name} records"
    # When the object is synced with the catalogue's settings
    result = pipeline.export({"object": entry.name, "mode": "full"})
    # Then it succeeds, reconciled, with the catalogue's key
    assert result.status == "SUCCEEDED", result.error
    manifest = result.manifest
    assert manifest["reconciled"] and manifest["key_field"] == entry.key_field
    assert manifest["records_written"] == manifest["total_count"] == len(source)
    # And every source record landed once, under its key, every value as the simulator renders it (but
    # the fields Intacct leaves out of every answer, as it does ITEM's)
    landed = landed_records(pipeline, entry.name, result.run_id)
    keys = Counter(str(r[entry.key_field]) for r in landed)
    assert keys == Counter(r[entry.key_field] for r in source)
    types = {f.name: f.datatype for f in OBJECTS[entry.name].fields}
    answered = set(manifest["fields"]) - set(sim.config.omitted_fields.get(entry.name, ()))  # ITEM's 7
    by_key = {str(r[entry.key_field]): r for r in landed}
    wrong = [
        (record[entry.key_field], field, text, by_key[record[entry.key_field]].get(field))
        for record in source
        for field, text in record.items()
        if field in answered and not lands_as(text, by_key[record[entry.key_field]].get(field), types[field])
    ]
    assert wrong == []
    # And a text key (GLDETAIL's) was read as one key range, the others in as many as the tenant allows
    segments = {layout.part_position(p["key"])[0] for p in manifest["parts"]}
    pages = -(-len(source) // PAGE_SIZE)
    assert segments == ({0} if types[entry.key_field] == "TEXT" or pages < 4 else {0, 1})
