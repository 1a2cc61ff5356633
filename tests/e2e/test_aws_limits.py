"""Inside AWS's limits whatever the export: every ending is settled (forced here one kind at a time), a
run that would pass the history cap continues in a new execution, and every state stays small."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from intacct_local.emulated_aws import DATA_LIMIT_ERROR, REGION, TIMEOUT_ERROR
from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline
from intacct_sync.export import layout
from intacct_sync.export.events import COMPLETED, FAILED
from tests.e2e.conftest import EventTap, landed_records, lands_as

pytestmark = pytest.mark.e2e
FIELDS = ["RECORDNO", "CUSTOMERID", "NAME", "WHENMODIFIED"]
FAST = {"INTACCT_RETRY_BASE_DELAY_MS": "5"}


def watermark(pipeline: LocalPipeline) -> str | None:
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=pipeline.stack.table, Key={"pk": {"S": "watermark#CUSTOMER#-"}}
    )
    return item.get("Item", {}).get("value", {}).get("S")


def settled_failure(pipeline: LocalPipeline, tap: EventTap, run_id: str, error: str) -> dict[str, Any]:
    """The run's manifest, checked to be a failed, settled one naming ``error``, announced once."""
    key = layout.manifest_key("CUSTOMER", run_id)
    manifest = json.loads(boto3.client("s3").get_object(Bucket=pipeline.stack.bucket, Key=key)["Body"].read())
    assert manifest["status"] == "failed" and manifest["reconciled"] is False and manifest["settled_at"]
    assert manifest["error"]["error"] == error, manifest["error"]
    failed = [e for e in tap.of_type(FAILED) if e["detail"]["run_id"] == run_id]
    assert len(failed) == 1 and failed[0]["detail"]["error"] == error
    assert not [e for e in tap.of_type(COMPLETED) if e["detail"]["run_id"] == run_id]
    return manifest


@pytest.fixture
def pipeline(make_sim):
    sim = make_sim(records=2000, seed=41)
    with local_pipeline(RunOptions(page_size=250, quiet=True), sim=sim, function_env=FAST) as running:
        yield running


def test_a_state_over_the_data_limit_fails_the_run_and_is_still_settled(pipeline):
    # Given a first page Task whose result is over Step Functions' 256 KiB (which no Catch sees)
    tap = EventTap()
    before = watermark(pipeline)
    real = pipeline.stack.handler("FetchPageFunction")
    pipeline.stack.overrides["FetchPageFunction"] = lambda event, context: {
        **real(event, context),
        "padding": "x" * 300_000,
    }
    result = pipeline.export({"object": "CUSTOMER", "fields": FIELDS})
    # Then the execution fails with States.DataLimitExceeded, and its end is settled all the same
    assert result.status == "FAILED" and DATA_LIMIT_ERROR in (result.error or "")
    settled_failure(pipeline, tap, result.run_id, DATA_LIMIT_ERROR)
    assert watermark(pipeline) == before


def test_a_lambda_past_its_timeout_fails_the_run_and_is_still_settled(pipeline):
    tap = EventTap()
    release = threading.Event()
    pipeline.stack.functions["PlanSegmentsFunction"]["Timeout"] = 1
    pipeline.stack.overrides["PlanSegmentsFunction"] = lambda event, context: release.wait(30) or {}
    try:
        result = pipeline.export({"object": "CUSTOMER", "fields": FIELDS})
    finally:
        release.set()
    assert result.status == "FAILED"
    settled_failure(pipeline, tap, result.run_id, TIMEOUT_ERROR)


def test_a_killed_lambda_fails_the_run_and_is_still_settled(pipeline):
    tap = EventTap()
    pipeline.stack.crashes["FinaliseExportFunction"] = {1}
    result = pipeline.export({"object": "CUSTOMER", "fields": FIELDS})
    assert result.status == "FAILED"
    manifest = settled_failure(pipeline, tap, result.run_id, "Runtime.ExitError")
    assert manifest["records_written"] == 2000  # what landed stays, to resume from


def test_an_aborted_execution_is_settled(pipeline):
    tap = EventTap()
    release = threading.Event()
    pipeline.stack.overrides["PlanSegmentsFunction"] = lambda event, context: release.wait(30) or {}
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = pipeline.stack.start_export({"object": "CUSTOMER", "fields": FIELDS}, name="aborted-run")
    while not pipeline.stack.invocations.get("PlanSegmentsFunction"):
        time.sleep(0.05)
    sfn.stop_execution(executionArn=arn)
    release.set()
    assert pipeline.stack.endings is not None and pipeline.stack.endings.wait(arn, timeout=60)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    # (the status change of an execution stopped without an error names none: States.Aborted stands in)
    manifest = settled_failure(pipeline, tap, "aborted-run", "States.Aborted")
    assert manifest["error"]["cause"] == "the execution was stopped before it finished"


def test_a_run_that_would_pass_the_history_cap_continues_in_new_executions_exactly(make_sim):
    # Given a history budget so small that each segment may run only a few Tasks per execution
    sim = make_sim(records=3000, seed=42)
    env = {**FAST, "HISTORY_EVENT_BUDGET": "200"}
    with local_pipeline(RunOptions(page_size=10, concurrency=2, quiet=True), sim=sim, function_env=env) as p:
        tap = EventTap()
        result = p.export({"object": "CUSTOMER", "fields": FIELDS})
        sfn = boto3.client("stepfunctions", region_name=REGION)
        executions = sfn.list_executions(stateMachineArn=p.stack.state_machine_arn)["executions"]
        completed = [e for e in tap.of_type(COMPLETED) if e["detail"]["run_id"] == result.run_id]
    # Then the run went on in new executions, resumed from what had landed, and ended exact and settled
    assert result.status == "SUCCEEDED", result.error
    assert len(executions) >= 2
    manifest = result.manifest
    assert manifest["reconciled"] is True and manifest["records_written"] == 3000
    assert sim.stats()["transactions_by_function"]["query"] == 300  # every page once, across executions
    assert len(completed) == 1


def state_sizes(arn: str) -> list[tuple[str, int]]:
    """(event type, bytes) of every state's input and output and every Task's parameters and result in the
    execution's history (moto records them as AWS counts them)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    sizes = []
    for event in events:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field in ("input", "output", "parameters"):
                if isinstance(details.get(field), str):
                    sizes.append(
                        (f"{event['type']}.{field}:{details.get('name', '')}", len(details[field].encode()))
                    )
    return sizes


def test_every_state_stays_small_at_the_extremes(make_sim):
    # Given 64 segments, a 128 KiB filter and a crash to resume from
    sim = make_sim(records=4000, seed=43)
    values = [f"NO-SUCH-CUSTOMER-{i:04d}-" + "x" * 110 for i in range(1000)]
    request = {
        "object": "CUSTOMER",
        "fields": FIELDS,
        "filter": {"field": "CUSTOMERID", "op": "notin", "values": values},
    }
    assert len(json.dumps(request)) > 128 * 1024
    options = RunOptions(page_size=20, concurrency=64, quiet=True)
    with local_pipeline(options, sim=sim, function_env=FAST) as p:
        p.stack.crashes["FetchPageFunction"] = {90}
        failed = p.export(request)
        p.stack.wait_idle()
        resumed = p.export({"object": "CUSTOMER", "resume_run_id": failed.run_id})
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arns = [
            e["executionArn"]
            for e in sfn.list_executions(stateMachineArn=p.stack.state_machine_arn)["executions"]
        ]
        sizes = [s for arn in arns for s in state_sizes(arn)]
    assert failed.status == "FAILED" and resumed.status == "SUCCEEDED", resumed.error
    assert resumed.manifest["records_written"] == 4000 and resumed.manifest["reconciled"] is True
    # Then apart from the request itself (the execution's input, which the first state receives), every
    # state's input and output is under 32 KiB, whatever the filter's size or the concurrency
    own_input = ("ExecutionStarted", "TaskStateEntered.input:Start export", "TaskScheduled.parameters:")
    large = [(what, size) for what, size in sizes if size > 32 * 1024 and not what.startswith(own_input)]
    assert not large, large
    assert max(size for _, size in sizes) > 128 * 1024  # the request did travel, once


def test_every_state_stays_small_for_an_object_of_1224_fields(make_sim):
    # Given a CUSTOMER with 1,000 tenant custom fields of 40 characters (1,224 fields lookup lists), a
    # request that names none, so the run exports every field, and a crash to resume from
    sim = make_sim(records=240, seed=44, custom_fields={"CUSTOMER": {"count": 1000, "name_length": 40}})
    spec = sim.dataset.find_object("CUSTOMER")
    assert spec is not None and len(spec.fields) == 1224
    options = RunOptions(page_size=20, concurrency=8, quiet=True)
    with local_pipeline(options, sim=sim, function_env=FAST) as p:
        p.stack.crashes["FetchPageFunction"] = {7}
        failed = p.export({"object": "CUSTOMER", "mode": "full"})
        p.stack.wait_idle()
        result = p.export({"object": "CUSTOMER", "resume_run_id": failed.run_id})
        landed = landed_records(p, "CUSTOMER", result.run_id)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arns = [
            e["executionArn"]
            for e in sfn.list_executions(stateMachineArn=p.stack.state_machine_arn)["executions"]
        ]
        sizes = [s for arn in arns for s in state_sizes(arn)]
    # Then the resumed run succeeds, reconciled, over several segments, with every field
    assert failed.status == "FAILED" and result.status == "SUCCEEDED", result.error
    manifest = result.manifest
    assert manifest["reconciled"] is True and manifest["records_written"] == 240
    assert set(manifest["fields"]) == {f.name for f in spec.fields}
    assert len({layout.part_position(part["key"])[0] for part in manifest["parts"]}) > 1
    assert sim.stats()["transactions_by_function"]["query"] == 12  # every page once, across both runs
    # And every simulator record landed once, each of its 1,224 values as the simulator renders it
    source = sim.records("CUSTOMER")
    by_key = {str(r["RECORDNO"]): r for r in landed}
    assert len(landed) == len(by_key) == len(source) == 240
    types = {f.name: f.datatype for f in spec.fields}
    wrong = [
        (record["RECORDNO"], name, text, by_key[record["RECORDNO"]].get(name))
        for record in source
        for name, text in record.items()
        if not lands_as(text, by_key[record["RECORDNO"]].get(name), types[name])
    ]
    assert wrong == []
    # And in both executions every state's input and output, the first state's included, is under 32 KiB:
    # the field list (49 KB as JSON) never travels between states
    assert len(arns) == 2
    large = [(what, size) for what, size in sizes if size > 32 * 1024]
    assert not large, large


def test_pages_of_a_very_wide_object_are_fitted_to_the_byte_budget(make_sim):
    # Given the same 1,224-field CUSTOMER and the default page size of 2000 records (a 204 MB page, more
    # than the page handler's MemorySize could hold two of)
    sim = make_sim(records=600, seed=45, custom_fields={"CUSTOMER": {"count": 1000, "name_length": 40}})
    with local_pipeline(RunOptions(page_size=2000, quiet=True), sim=sim, function_env=FAST) as p:
        result = p.export({"object": "CUSTOMER", "mode": "full"})
    # Then the run reads pages of as many records as fit the budget, says so, and lands every record
    assert result.status == "SUCCEEDED", result.error
    manifest = result.manifest
    assert manifest["page_size"] == 263 and manifest["pages"] == 3
    assert manifest["details"]["page_size"] == {"requested": 2000, "used": 263, "why": "the fields' width"}
    assert manifest["reconciled"] is True and manifest["records_written"] == 600
    assert sim.stats()["transactions_by_function"]["query"] == 3
