"""Each export step's handler, invoked with its sample event from events/ (the files `sam local invoke -e`
uses), against the simulator and emulated AWS. Every test runs the steps it depends on under a run id of
its own, so none depends on another having run."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from intacct_local.emulated_aws import LocalStack, local_aws
from intacct_local.runner import SIM_CREDENTIALS
from intacct_sim import SimulatorConfig, start_simulator
from intacct_sync.export import layout
from intacct_sync.export.spec import ExportSpec
from intacct_sync.export.sync import SyncRequest
from intacct_sync.objects import Catalogue
from tests.conftest import load_event


@pytest.fixture(scope="module")
def sim():
    running = start_simulator(SimulatorConfig(records=10_000, seed=21, port=0))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(sim):
    with local_aws(dict(SIM_CREDENTIALS), {"GatewayUrl": sim.url}, {"INTACCT_RETRY_BASE_DELAY_MS": "5"}) as s:
        yield s


@pytest.fixture(scope="module")
def keys(sim) -> list[str]:
    """The simulator's CUSTOMER keys in key order (what pages and segments are cut from)."""
    return sorted((r["RECORDNO"] for r in sim.records("CUSTOMER")), key=int)


def invoke(stack: LocalStack, function: str, event_name: str, run_id: str, **changes: Any) -> Any:
    """Invoke ``function`` with the sample event, for ``run_id``; fail the test if it raises."""
    ok, result = stack.invoke(function, {**load_event(event_name), "run_id": run_id, **changes})
    assert ok, result
    return result


def started(stack: LocalStack, run_id: str) -> dict[str, Any]:
    return invoke(stack, "StartExportFunction", "start_export", run_id)


def read_json(stack: LocalStack, key: str) -> Any:
    return json.loads(boto3.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())


def test_start_export_stores_the_run_and_returns_its_id_only(stack):
    result = started(stack, "handler-start")
    assert result == {"run_id": "handler-start", "resume": False}
    run = read_json(stack, layout.run_state_key("handler-start"))
    assert run["spec"]["object"] == "CUSTOMER"
    requested = load_event("start_export")["request"]["fields"]
    assert run["spec"]["fields"] == requested  # key and modified field among them already


def test_get_session_returns_the_expiry_but_never_the_session_id(stack):
    started(stack, "handler-session")
    result = invoke(stack, "GetSessionFunction", "get_session", "handler-session")
    assert set(result) == {"expires_at", "refreshed"}
    cached = boto3.client("ssm").get_parameter(Name="/intacct-sync/dev/session", WithDecryption=True)
    session_id = json.loads(cached["Parameter"]["Value"])["session_id"]
    assert session_id and session_id not in json.dumps(result)


def test_fetch_first_page_lands_a_part_and_says_where_segments_start(stack):
    started(stack, "handler-first")
    result = invoke(stack, "FetchPageFunction", "fetch_page_first", "handler-first")
    assert result == {
        "done": False,
        "total_count": 10_000,
        "segment_starts": [{"segment": 1, "offset": 4000}],  # 5 pages: segment 1 starts at page 2
    }
    key = layout.part_key("CUSTOMER", "handler-first", 0, 0)
    head = boto3.client("s3").head_object(Bucket=stack.bucket, Key=key)
    assert head["Metadata"]["records"] == "2000" and head["Metadata"]["num-remaining"] == "8000"


def test_plan_segments_chains_key_ranges(stack, keys):
    run_id = "handler-plan"
    started(stack, run_id)
    invoke(stack, "FetchPageFunction", "fetch_page_first", run_id)
    invoke(stack, "FetchPageFunction", "fetch_page_segment_start", run_id)
    result = invoke(stack, "PlanSegmentsFunction", "plan_segments", run_id)
    assert result == {"segments": [0, 1]}
    cursors = read_json(stack, layout.plan_key(run_id))["segments"]
    # segment 0 continues after its first page up to where segment 1 starts (offset 4000)
    assert [(c["after_key"], c["upper_key"], c["seq"]) for c in cursors.values()] == [
        (keys[1999], keys[4000], 1),
        (keys[5999], None, 1),
    ]


def test_fetch_segment_pages_returns_the_next_cursor_only(stack, keys):
    run_id = "handler-segment"
    started(stack, run_id)
    cursor = {**load_event("fetch_page_segment")["cursor"], "after_key": keys[3999], "max_pages": 2}
    result = invoke(stack, "FetchPageFunction", "fetch_page_segment", run_id, cursor=cursor)
    assert result["finished"] is False and (result["pages"], result["records"]) == (2, 4000)
    remaining = len(keys) - 8000
    assert result["cursor"] == {
        **cursor,
        "seq": cursor["seq"] + 2,
        "after_key": keys[7999],
        "expected_remaining": remaining,
        "tasks": 1,  # this segment's Tasks in this execution
        "task_budget": 0,  # the sample cursor sets none
    }
    assert len(json.dumps(result)) < 400  # keys and counts only, never records


def test_finalise_refuses_to_claim_an_incomplete_run(stack):
    # Given a run of which only the first page (2,000 of 10,000 records) landed
    run_id = "handler-finalise"
    started(stack, run_id)
    invoke(stack, "FetchPageFunction", "fetch_page_first", run_id)
    # When it is finalised
    event = {**load_event("finalise_export"), "run_id": run_id, "execution": run_id}
    ok, result = stack.invoke("FinaliseExportFunction", event)
    # Then it fails, with a failed manifest saying why
    assert not ok
    assert result["errorType"] == "ReconciliationError"
    assert "wrote 2000 records but Intacct reported 10000" in result["errorMessage"]
    manifest = read_json(stack, layout.manifest_key("CUSTOMER", run_id))
    assert manifest["status"] == "failed" and manifest["reconciled"] is False


def ended(name: str, sample: str, execution: str, **detail: Any) -> dict[str, Any]:
    """A sample status-change event for ``execution``."""
    event = load_event(sample)
    return {**event, "detail": {**event["detail"], "name": execution, **detail}}


def test_a_failed_execution_gets_a_failed_manifest_and_its_event(stack):
    ok, result = stack.invoke("ExportEndedFunction", ended("x", "export_ended_failed", "handler-failure"))
    assert ok, result
    assert result["status"] == "failed" and result["error"] == "AuthenticationError"
    assert result["cause"] == "AuthenticationError: XL03000006: Sign-in information is incorrect"
    manifest = read_json(stack, result["manifest_key"])
    assert manifest["status"] == "failed" and manifest["error"]["error"] == "AuthenticationError"
    assert manifest["execution"] == "handler-failure"


def test_a_succeeded_execution_advances_the_watermark_only_when_it_has_ended(stack, keys):
    # Given a run finalised with every record (a one-page export), but whose execution has not ended
    run_id = "handler-ended"
    started(stack, run_id)
    cursor = {"segment": 0, "seq": 0, "after_key": None, "upper_key": None, "offset": 0, "max_pages": 10}
    done = invoke(stack, "FetchPageFunction", "fetch_page_segment", run_id, segment=0, cursor=cursor)
    assert done["finished"] is True and done["records"] == len(keys)
    invoke(stack, "FinaliseExportFunction", "finalise_export", run_id, execution=run_id)
    table = boto3.client("dynamodb")
    key = {"pk": {"S": "watermark#CUSTOMER#-"}}
    assert watermark_run(stack) != run_id  # (another test's run may have set one: this run has not)
    assert run_id not in succeeded_runs(stack)
    # When its execution's end arrives
    ok, result = stack.invoke("ExportEndedFunction", ended("x", "export_ended_succeeded", run_id))
    # Then the watermark is the manifest's, the current views read the run, and Completed names it
    assert ok and result["status"] == "succeeded" and result["records"] == len(keys)
    manifest = read_json(stack, layout.manifest_key("CUSTOMER", run_id))
    stored = table.get_item(TableName=stack.table, Key=key)["Item"]
    assert stored["value"]["S"] == manifest["window"]["watermark_after"] and watermark_run(stack) == run_id
    assert run_id in succeeded_runs(stack)


def watermark_run(stack: LocalStack) -> str | None:
    """The run that last advanced CUSTOMER's watermark, if any."""
    key = {"pk": {"S": "watermark#CUSTOMER#-"}}
    item = boto3.client("dynamodb").get_item(TableName=stack.table, Key=key).get("Item")
    return item["run_id"]["S"] if item else None


def succeeded_runs(stack: LocalStack) -> list[str]:
    """The run ids the CUSTOMER current views read (the bucket's index of succeeded runs)."""
    try:
        index = read_json(stack, layout.succeeded_runs_key("CUSTOMER", None))
    except boto3.client("s3").exceptions.NoSuchKey:
        return []
    return [run["run_id"] for run in index["runs"]]


def test_an_execution_that_fails_after_its_finalise_leaves_the_current_views(stack, keys):
    # Given a run finalised as succeeded whose success was recorded (say, a SUCCEEDED delivered in error)
    run_id = "handler-withdrawn"
    started(stack, run_id)
    cursor = {"segment": 0, "seq": 0, "after_key": None, "upper_key": None, "offset": 0, "max_pages": 10}
    invoke(stack, "FetchPageFunction", "fetch_page_segment", run_id, segment=0, cursor=cursor)
    invoke(stack, "FinaliseExportFunction", "finalise_export", run_id, execution=run_id)
    assert stack.invoke("ExportEndedFunction", ended("x", "export_ended_succeeded", run_id))[0]
    assert run_id in succeeded_runs(stack)
    # When the execution's real ending is a failure (e.g. its output passed 256 KiB after Finalise)
    failure = ended("x", "export_ended_failed", run_id, error="States.DataLimitExceeded", cause="too big")
    ok, result = stack.invoke("ExportEndedFunction", failure)
    # Then the manifest says failed and the views no longer read the run
    assert ok and result["status"] == "failed" and result["error"] == "States.DataLimitExceeded"
    assert read_json(stack, layout.manifest_key("CUSTOMER", run_id))["status"] == "failed"
    assert run_id not in succeeded_runs(stack)


def test_sample_state_machine_inputs_are_valid_requests():
    for name in ("statemachine_full_export", "statemachine_incremental_export"):
        spec = ExportSpec.from_payload(load_event(name))
        assert spec.object in {"CUSTOMER", "VENDOR"}
    plan = SyncRequest.from_payload(load_event("statemachine_sync_plan"), Catalogue().names())
    assert plan.dry_run and plan.objects == "all"


def test_the_sync_steps_sample_events_start_a_sync_follow_an_export_and_finish_it(stack):
    # The sync's first step, as its sample event asks: two objects, their runs written down before any runs
    started_sync = stack.invoke("StartSyncFunction", load_event("start_sync"))
    assert started_sync[0], started_sync[1]
    result = started_sync[1]
    sync_id = load_event("start_sync")["sync_id"]
    assert result["action"] == "export" and [o["object"] for o in result["objects"]] == ["CUSTOMER", "VENDOR"]
    assert read_json(stack, layout.sync_key(sync_id))["objects"] == result["objects"]
    # Following an export execution that does not exist says so, rather than waiting for it forever
    ok, missing = stack.invoke("FollowExportFunction", load_event("follow_export"))
    assert not ok and missing["errorType"] == "InvalidExportRequest"
    # Finishing it (its sample: CUSTOMER succeeded, VENDOR failed) writes the summary: neither has a
    # succeeded manifest here, so neither counts as synced
    ok, finished = stack.invoke("FinishSyncFunction", load_event("finish_sync"))
    assert ok, finished
    assert finished["status"] == "failed" and finished["objects_failed"] == 2
    assert read_json(stack, finished["summary_key"])["totals"]["failed"] == ["CUSTOMER", "VENDOR"]


def test_an_object_without_recordno_is_keyed_and_windowed_by_its_own_fields(stack):
    # Given DIMENSION, a user-defined dimension with no RECORDNO (id, createdAt, updatedAt), not catalogued
    invoke(stack, "StartExportFunction", "start_export", "handler-dimension", request={"object": "DIMENSION"})
    spec = read_json(stack, layout.run_state_key("handler-dimension"))["spec"]
    assert (spec["key_field"], spec["modified_field"], spec["created_field"]) == (
        "id",
        "updatedAt",
        "createdAt",
    )
    assert spec["fields"][:1] == ["id"] and "RECORDNO" not in spec["fields"]
    # And its first page is read by that key
    result = invoke(stack, "FetchPageFunction", "fetch_page_first", "handler-dimension")
    assert result["done"] is True and result["total_count"] > 0


def test_a_text_key_is_read_as_one_key_range(stack, sim):
    # Given GLDETAIL, whose RECORDNO is text, with enough pages for several segments
    run_id = "handler-text-key"
    invoke(stack, "StartExportFunction", "start_export", run_id, request={"object": "GLDETAIL"})
    result = invoke(stack, "FetchPageFunction", "fetch_page_first", run_id)
    assert result["total_count"] == len(sim.records("GLDETAIL")) > 4 * 2000
    # Then no other segment starts: one range, read by keyset in Intacct's own order
    assert result["segment_starts"] == []


def test_an_incremental_run_of_an_object_without_a_modified_field_reads_everything(stack):
    run_id = "handler-full-only"
    request = {"object": "CUSTOMER", "mode": "incremental", "modified_field": "", "fields": ["RECORDNO"]}
    invoke(stack, "StartExportFunction", "start_export", run_id, request=request)
    run = read_json(stack, layout.run_state_key(run_id))
    assert run["spec"]["filter"] is None and run["spec"]["modified_field"] == ""
    assert run["window"]["since"] is None and "full snapshots only" in run["window"]["note"]
