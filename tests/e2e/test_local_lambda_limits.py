"""The local runner holds the functions to what Lambda would: their Timeout, and no way out to real AWS."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from intacct_local.emulated_aws import REGION, InvocationEnded, RealAwsRefused, local_aws
from intacct_local.runner import SIM_CREDENTIALS

pytestmark = pytest.mark.e2e

# Nothing here reaches Intacct: the first Task is replaced, and a closed port stands for the gateway.
PARAMETERS = {"GatewayUrl": "http://127.0.0.1:9/ia/xml/xmlgw.phtml"}


def _finished(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.05)
    return dict(described)


def test_a_handler_past_its_timeout_fails_its_task_as_lambda_does_and_lands_nothing_afterwards():
    release = threading.Event()
    seen: dict[str, Any] = {}

    def stuck(event: dict[str, Any], context: Any) -> dict[str, Any]:
        release.wait(60)  # until the test lets it go, long after its Timeout
        seen["remaining_ms"] = context.get_remaining_time_in_millis()
        try:
            boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key="late/write", Body=b"x")
        except Exception as exc:
            seen["late_write"] = exc
        return {"too": "late"}

    with local_aws(dict(SIM_CREDENTIALS), PARAMETERS) as stack:
        bucket = stack.bucket
        # Given the first Task's function with a 1 s Timeout, and a handler that blocks past it
        stack.functions["StartExportFunction"]["Timeout"] = 1
        stack.overrides["StartExportFunction"] = stuck
        # When an export runs
        sfn = boto3.client("stepfunctions", region_name=REGION)
        described = _finished(sfn, stack.start_export({"object": "CUSTOMER"}))
        events = sfn.get_execution_history(executionArn=described["executionArn"], maxResults=1000)["events"]
        # Then the Task failed with Lambda's timeout error, which Retry and Catch see, and the run failed
        failed = [
            details
            for e in events
            for key, details in e.items()
            if key.endswith("FailedEventDetails") and details.get("error") == "Sandbox.Timedout"
        ]
        assert failed, json.dumps(events, default=str)[:3000]
        cause = json.loads(failed[0]["cause"])
        assert cause["errorType"] == "Sandbox.Timedout"
        assert cause["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
        assert described["status"] == "FAILED"
        assert stack.failures[0]["function"] == "StartExportFunction"
        # And when the abandoned handler wakes up, it sees no time left and cannot land anything
        release.set()
        stack.wait_idle(30)
        assert seen["remaining_ms"] == 0
        assert isinstance(seen["late_write"], InvocationEnded)
        listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket, Prefix="late/")
        assert listed.get("KeyCount", 0) == 0


def test_nothing_the_local_runner_starts_can_reach_real_aws_while_or_after_the_emulator_runs():
    outcomes: list[BaseException | None] = []

    def late_call() -> None:
        try:
            boto3.client("dynamodb", region_name=REGION).list_tables()
            outcomes.append(None)
        except BaseException as exc:
            outcomes.append(exc)

    with local_aws(dict(SIM_CREDENTIALS), PARAMETERS) as stack:
        inside = boto3.client("dynamodb", region_name=REGION)
        assert stack.table in inside.list_tables()["TableNames"]  # answered by the emulator
        # An endpoint the emulator does not answer is refused before any connection is made
        elsewhere = boto3.client("dynamodb", region_name=REGION, endpoint_url="https://dynamodb.example.com")
        with pytest.raises(RealAwsRefused):
            elsewhere.list_tables()
        # And so is one on this machine (a LocalStack or MinIO would otherwise receive the runner's writes)
        local = boto3.client("dynamodb", region_name=REGION, endpoint_url="http://127.0.0.1:9")
        with pytest.raises(RealAwsRefused, match=r"127\.0\.0\.1:9"):
            local.list_tables()
    # After the emulator is gone: a client made while it ran, and a new one in a leftover thread
    with pytest.raises(RealAwsRefused, match=r"dynamodb\.us-east-1\.amazonaws\.com"):
        inside.list_tables()
    thread = threading.Thread(target=late_call)
    thread.start()
    thread.join(30)
    assert len(outcomes) == 1 and isinstance(outcomes[0], RealAwsRefused)
