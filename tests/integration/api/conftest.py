"""The real ApiFunction handler over moto-backed AWS: a bucket, the state table and a small state machine.

The state machine stands in for the export workflow: under `execute=True` it succeeds for every object but
GLACCOUNT, which fails (a resume, which names no object, succeeds); otherwise moto leaves every execution
RUNNING.
"""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from intacct_local.api_server import proxy_event
from intacct_local.emulated_aws import FakeLambdaContext
from intacct_local.template import create_state_table
from intacct_sync.adapters.state_table import StateTable
from intacct_sync.export import layout
from intacct_sync.export.parts import encode_part
from tests.conftest import ROOT

REGION = "us-east-1"
BUCKET = "intacct-sync-test-exports"
TABLE = "intacct-sync-test-state"
DOMAIN = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
DEFINITION = {
    "StartAt": "Which object?",
    "States": {
        "Which object?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.object", "IsPresent": False, "Next": "Export succeeded"},
                {"Variable": "$.object", "StringEquals": "GLACCOUNT", "Next": "Export failed"},
            ],
            "Default": "Export succeeded",
        },
        "Export succeeded": {"Type": "Succeed"},
        "Export failed": {"Type": "Fail", "Error": "ExportFailed", "Cause": "the export did not complete"},
    },
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class ApiHarness:
    """Sends API Gateway proxy events to the handler and inspects the emulated AWS behind it."""

    def __init__(self, module: ModuleType, machine_arn: str, sync_machine_arn: str) -> None:
        self.module, self.machine_arn, self.sync_machine_arn = module, machine_arn, sync_machine_arn
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.state = StateTable(boto3.client("dynamodb", region_name=REGION), TABLE)

    def send(self, event: dict[str, Any]) -> Answer:
        response = self.module.lambda_handler(event, FakeLambdaContext("ApiFunction", 29, 512))
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers.setdefault(name.lower(), values[-1])
        body = json.loads(response["body"]) if response.get("body") else None
        return Answer(response["statusCode"], headers, body)

    def request(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        sent = {"Host": DOMAIN, "X-Forwarded-Proto": "https"}
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        event = proxy_event(method, target, list(sent.items()), data, stage="dev")
        event["requestContext"]["domainName"] = DOMAIN
        return self.send(event)

    def post(self, body: Any, **headers: str) -> Answer:
        return self.request(
            "POST", "/exports", body, headers={k.replace("_", "-"): v for k, v in headers.items()}
        )

    def get(self, target: str) -> Answer:
        return self.request("GET", target)

    def executions(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.sfn.list_executions(stateMachineArn=self.machine_arn)[
            "executions"
        ]
        return listed

    def execution_input(self, name: str) -> dict[str, Any]:
        arn = self.machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        document: dict[str, Any] = json.loads(self.sfn.describe_execution(executionArn=arn)["input"])
        return document

    def wait(self, name: str, timeout: float = 10.0) -> str:
        arn = self.machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        deadline = time.monotonic() + timeout
        while (status := self.sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
            assert time.monotonic() < deadline, f"{name} still RUNNING after {timeout}s"
            time.sleep(0.05)
        return str(status)

    def put_manifest(self, object_name: str, run_id: str, **fields: Any) -> dict[str, Any]:
        manifest = {"run_id": run_id, "object": object_name, "status": "succeeded", "parts": [], **fields}
        self.s3.put_object(
            Bucket=BUCKET, Key=layout.manifest_key(object_name, run_id), Body=json.dumps(manifest).encode()
        )
        return manifest

    def put_parts(
        self, object_name: str, run_id: str, parts: list[list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Write parts (segment 0, sequence i) and return their manifest entries."""
        entries = []
        for seq, records in enumerate(parts):
            summary, body = encode_part(layout.part_key(object_name, run_id, 0, seq), records, "RECORDNO")
            self.s3.put_object(Bucket=BUCKET, Key=summary.key, Body=body)
            entries.append({"key": summary.key, "records": summary.records, "sha256": summary.sha256})
        return entries


def _load_handler() -> ModuleType:
    """functions/api/app.py as Lambda loads it: a fresh import, so RUNTIME is built from this environment."""
    spec = importlib.util.spec_from_file_location(
        f"api_app_{uuid.uuid4().hex}", ROOT / "functions/api/app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def make_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    mocks: list[Any] = []

    def make(execute: bool = False, env: dict[str, str] | None = None) -> ApiHarness:
        config: Any = {"stepfunctions": {"execute_state_machine": execute}}
        mock = mock_aws(config=config)
        mock.start()
        mocks.append(mock)
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        create_state_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        role = "arn:aws:iam::123456789012:role/intacct-sync-test-export"
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="intacct-sync-test-export", definition=json.dumps(DEFINITION), roleArn=role
        )["stateMachineArn"]
        # The sync workflow stands in as one that succeeds at once (its own tests run the real one).
        sync_definition = {"StartAt": "Synced", "States": {"Synced": {"Type": "Succeed"}}}
        sync_arn = sfn.create_state_machine(
            name="intacct-sync-test-sync", definition=json.dumps(sync_definition), roleArn=role
        )["stateMachineArn"]
        variables = {
            "EXPORT_STATE_MACHINE_ARN": arn,
            "SYNC_STATE_MACHINE_ARN": sync_arn,
            "EXPORT_BUCKET": BUCKET,
            "STATE_TABLE": TABLE,
            "PAGE_SIZE": "2000",
            "EXPORT_OBJECTS": "",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            **(env or {}),
        }
        for key, value in variables.items():
            monkeypatch.setenv(key, value)
        return ApiHarness(_load_handler(), arn, sync_arn)

    yield make
    for mock in reversed(mocks):
        mock.stop()


@pytest.fixture
def api(make_api: Any) -> ApiHarness:
    """Executions stay RUNNING (moto does not run them)."""
    harness: ApiHarness = make_api()
    return harness


@pytest.fixture
def running_api(make_api: Any) -> ApiHarness:
    """Executions run the stand-in state machine to SUCCEEDED (or FAILED for GLACCOUNT)."""
    harness: ApiHarness = make_api(execute=True)
    return harness
