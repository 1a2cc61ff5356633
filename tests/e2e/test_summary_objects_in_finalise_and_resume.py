"""Finalise and resume read the page Tasks' summary objects instead of HEADing every part: exports run
through the real state machine on emulated AWS against the simulator, then the steps are called as their
handlers call them, on a runtime whose S3 client counts HEADs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline
from intacct_sim import SimulatorConfig, start_simulator
from intacct_sync.adapters.export_store import ExportStore
from intacct_sync.export import layout
from intacct_sync.export.payloads import ExportFinalised, FinaliseTask, RunRef
from intacct_sync.export.spec import RESUME_KEY
from intacct_sync.runtime import Runtime
from intacct_sync.steps import finalise, plan, start

pytestmark = pytest.mark.e2e

RECORDS, PAGE_SIZE = 3000, 100
FIELDS = ["RECORDNO", "CUSTOMERID", "NAME", "WHENMODIFIED"]
REQUEST = {"object": "CUSTOMER", "fields": FIELDS}


@pytest.fixture(scope="module")
def pipeline() -> Iterator[LocalPipeline]:
    sim = start_simulator(SimulatorConfig(records=RECORDS, seed=11, port=0))
    options = RunOptions(records=RECORDS, page_size=PAGE_SIZE, concurrency=2, quiet=True)
    try:
        with local_pipeline(options, sim=sim, function_env={"INTACCT_RETRY_BASE_DELAY_MS": "5"}) as running:
            yield running
    finally:
        sim.stop()


@pytest.fixture
def rt(pipeline: LocalPipeline) -> Runtime:
    """The functions' runtime, built from the environment the local pipeline set (so it needs it)."""
    return Runtime.from_env()


@pytest.fixture
def s3(rt: Runtime) -> Any:
    """The runtime's S3 client, whose HeadObjects ``heads`` (tests/conftest.py) lists."""
    return rt.aws.s3


def exported_run(pipeline: LocalPipeline) -> str:
    result = pipeline.export(REQUEST)
    assert result.status == "SUCCEEDED", result.error
    return result.run_id


def finalised(rt: Runtime, run_id: str) -> ExportFinalised:
    """Finalise the run as the Finalise Task's handler does (events/finalise_export.json)."""
    task = FinaliseTask(run_id, execution=run_id)
    return finalise.finalise(rt.settings, rt.store, rt.state, rt.intacct, task, lambda: 900_000)


def summary_objects(pipeline: LocalPipeline, run_id: str) -> list[str]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(
        Bucket=pipeline.stack.bucket, Prefix=layout.summaries_prefix("CUSTOMER", run_id)
    )
    return [item["Key"] for item in listed.get("Contents", [])]


def part_keys(pipeline: LocalPipeline, run_id: str) -> list[str]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=pipeline.stack.bucket, Prefix=layout.run_prefix("CUSTOMER", run_id))
    return [item["Key"] for item in listed.get("Contents", []) if "/part-" in item["Key"]]


def test_finalise_heads_no_part_when_every_page_task_wrote_its_summary_object(pipeline, rt, heads):
    # Given an export whose page Tasks each wrote one summary object
    tasks_before = pipeline.stack.invocations.get("FetchPageFunction", 0)
    run_id = exported_run(pipeline)
    tasks = pipeline.stack.invocations["FetchPageFunction"] - tasks_before
    assert 1 < len(summary_objects(pipeline, run_id)) <= tasks < len(part_keys(pipeline, run_id))
    # When the run is finalised (again, as a retried Finalise Task would)
    detail = finalised(rt, run_id)
    # Then no part is HEADed, and the run reconciles with every record
    assert heads == []
    assert detail.status == "succeeded" and detail.records == RECORDS


def test_parts_of_a_task_without_a_summary_object_are_headed_and_still_reconciled(pipeline, rt, heads):
    # Given an export where one page Task's summary object is missing (it died before writing it)
    run_id = exported_run(pipeline)
    largest = max(
        summary_objects(pipeline, run_id), key=lambda key: len((rt.store.get_json(key) or {})["parts"])
    )
    covered = [entry["key"] for entry in (rt.store.get_json(largest) or {})["parts"]]
    rt.store.delete(largest)
    # When the run is finalised
    detail = finalised(rt, run_id)
    # Then exactly that Task's parts are HEADed, and the run still reconciles
    assert sorted(heads) == sorted(covered) and len(covered) > 1
    assert detail.status == "succeeded" and detail.records == RECORDS


def test_a_summary_entry_whose_size_disagrees_with_the_listing_is_ignored_for_that_part(pipeline, rt, heads):
    run_id = exported_run(pipeline)
    key = summary_objects(pipeline, run_id)[-1]
    document = rt.store.get_json(key)
    assert document is not None
    document["parts"][0]["bytes"] -= 1
    document["parts"][0]["metadata"]["records"] = "1"  # a wrong summary would break reconciliation
    rt.store.put_json(key, document)
    detail = finalised(rt, run_id)
    assert heads == [document["parts"][0]["key"]]
    assert detail.status == "succeeded" and detail.records == RECORDS


def test_resume_heads_only_the_parts_a_crashed_task_left_without_a_summary(pipeline, rt, heads, monkeypatch):
    # Given a run whose page Task died right after landing the 6th part, before its summary object
    original, written = ExportStore.put_part, itertools.count(1)

    def put_part(self: ExportStore, summary: Any, body: bytes) -> str:
        etag = original(self, summary, body)
        if next(written) == 6:
            raise RuntimeError("the runtime exited")
        return etag

    monkeypatch.setattr(ExportStore, "put_part", put_part)
    failed = pipeline.export(REQUEST)
    pipeline.stack.wait_idle()  # the other segment's Task finishes after the execution failed
    monkeypatch.setattr(ExportStore, "put_part", original)
    assert failed.status == "FAILED"
    indexed = {
        entry["key"]
        for key in summary_objects(pipeline, failed.run_id)
        for entry in rt.store.get_json(key)["parts"]
    }
    orphans = sorted(set(part_keys(pipeline, failed.run_id)) - indexed)
    assert orphans
    # When the resume is planned
    started = start.start_export(
        rt.settings,
        rt.store,
        rt.state,
        rt.intacct,
        "resume-plan-only",
        {RESUME_KEY: failed.run_id},
        lambda: 120_000,
    )
    heads.clear()
    planned = plan.plan(rt.store, rt.state, RunRef(started.run_id))
    # Then only the orphaned parts are HEADed, and every segment continues after its last landed part
    assert sorted(heads) == orphans
    assert started.resume is True
    last_landed: dict[int, int] = {}
    for key in part_keys(pipeline, failed.run_id):
        segment, seq = layout.part_position(key)
        last_landed[segment] = max(seq, last_landed.get(segment, seq))
    cursors = (rt.store.get_json(layout.plan_key(failed.run_id)) or {})["segments"]
    continues = {cursor["segment"]: cursor["seq"] for cursor in cursors.values()}
    assert sorted(planned.segments) == sorted(continues)
    assert continues == {segment: seq + 1 for segment, seq in last_landed.items() if segment in continues}
    # And the resumed run completes exactly, without fetching a landed page again
    landed = len(part_keys(pipeline, failed.run_id))
    pipeline.sim.reset_stats()
    resumed = pipeline.export({"object": "CUSTOMER", RESUME_KEY: failed.run_id})
    assert resumed.status == "SUCCEEDED", resumed.error
    assert resumed.manifest is not None and resumed.manifest["reconciled"] is True
    assert resumed.manifest["records_written"] == RECORDS
    assert pipeline.sim.stats()["transactions_by_function"]["query"] == RECORDS // PAGE_SIZE - landed
