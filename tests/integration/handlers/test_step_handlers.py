"""Each export step's handler, invoked with its sample event from events/ (the files `sam local invoke -e`
uses), against the simulator and emulated AWS."""

from __future__ import annotations

import json

import boto3
import pytest

from intacct_local.emulated_aws import local_aws
from intacct_local.runner import SIM_CREDENTIALS
from intacct_sim import SimulatorConfig, start_simulator
from tests.conftest import load_event

RUN_ID = "export-customer-20261124T020000Z"


@pytest.fixture(scope="module")
def stack():
    sim = start_simulator(SimulatorConfig(records=10_000, seed=21, port=0))
    try:
        with local_aws(
            dict(SIM_CREDENTIALS), {"GatewayUrl": sim.url}, {"INTACCT_RETRY_BASE_DELAY_MS": "5"}
        ) as s:
            yield s
    finally:
        sim.stop()


def invoke(stack, function, event_name):
    ok, result = stack.invoke(function, load_event(event_name))
    return ok, result


def test_get_session_returns_the_expiry_but_never_the_session_id(stack):
    ok, result = invoke(stack, "GetSessionFunction", "get_session")
    assert ok, result
    assert set(result) == {"expires_at", "refreshed"}
    cached = boto3.client("ssm").get_parameter(Name="/intacct-sync/dev/session", WithDecryption=True)
    session_id = json.loads(cached["Parameter"]["Value"])["session_id"]
    assert session_id and session_id not in json.dumps(result)


def test_start_export_returns_the_first_page_task(stack):
    ok, result = invoke(stack, "StartExportFunction", "start_export")
    assert ok, result
    task = result["first_task"]
    assert result["run_id"] == RUN_ID and task["object"] == "CUSTOMER" and task["offset"] == 0
    assert task["fields"][:2] == ["WHENMODIFIED", "RECORDNO"] or "RECORDNO" in task["fields"]
    assert result["resume"] is False


def test_fetch_first_page_lands_a_part_and_plans_the_fan_out(stack):
    ok, result = invoke(stack, "FetchPageFunction", "fetch_page_first")
    assert ok, result
    assert result["records"] == 2000 and result["total_count"] == 10_000 and result["done"] is False
    assert result["segments_planned"] == 2 and len(result["boundaries"]) == 1
    assert result["boundaries"][0]["offset"] == 4000  # 5 pages: segment 1 starts at page 2
    assert "records" not in json.dumps(result["task"])  # keys and counts only, never records
    head = boto3.client("s3").head_object(Bucket=stack.bucket, Key=result["first_part"])
    assert head["Metadata"]["records"] == "2000"


def test_plan_segments_chains_key_ranges(stack):
    ok, result = invoke(stack, "PlanSegmentsFunction", "plan_segments")
    assert ok, result
    segments = result["segments"]
    assert [(s["task"]["after_key"], s["task"]["upper_key"]) for s in segments] == [
        ("2741", "5480"),
        ("8211", None),
    ]


def test_finalise_refuses_to_claim_an_incomplete_run(stack):
    # Only the first page of the sample run landed: 2,000 of 10,000 records
    ok, result = invoke(stack, "FinaliseExportFunction", "finalise_export")
    assert not ok
    assert result["errorType"] == "ReconciliationError"
    assert "wrote 2000 records but Intacct reported 10000" in result["errorMessage"]
    key = f"exports/object=CUSTOMER/run_id={RUN_ID}/_manifest.json"
    manifest = json.loads(boto3.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())
    assert manifest["status"] == "failed" and manifest["reconciled"] is False


def test_record_failure_writes_a_failed_manifest(stack):
    ok, result = invoke(stack, "RecordFailureFunction", "record_failure")
    assert ok, result
    assert result["status"] == "failed" and result["error"] == "AuthenticationError"
    assert result["cause"] == "AuthenticationError: XL03000006: Sign-in information is incorrect"
    manifest = json.loads(
        boto3.client("s3").get_object(Bucket=stack.bucket, Key=result["manifest_key"])["Body"].read()
    )
    assert manifest["status"] == "failed" and manifest["error"]["error"] == "AuthenticationError"


def test_sample_state_machine_inputs_are_valid_requests():
    from intacct_sync.export.spec import ExportSpec

    for name in ("statemachine_full_export", "statemachine_incremental_export"):
        spec = ExportSpec.from_payload(load_event(name))
        assert spec.object in {"CUSTOMER", "VENDOR"}
