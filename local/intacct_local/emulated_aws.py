"""Emulated AWS for local runs and tests: moto with state machine execution, the template's resources,
and Lambda tasks dispatched in-process to the real handlers (see shared LOCAL_AWS.md)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.models import DynamoDBBackend

from intacct_local.template import ROOT, Template

REGION = "us-east-1"
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class FakeLambdaContext:
    """The parts of the Lambda context object that Powertools and our handlers read."""

    def __init__(self, function_name: str, timeout_s: int, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.aws_request_id = f"local-{time.monotonic_ns()}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "")
    return buffer.getvalue()


@dataclass
class LocalStack:
    """The template's resources, created in moto; handlers run in this process."""

    template: Template
    functions: dict[str, dict[str, Any]]
    state_machine_arn: str
    bucket: str
    table: str
    secret_id: str
    env: dict[str, str]
    invocations: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    # logical id -> invocation numbers (1-based) that crash as a Lambda runtime would (fault injection)
    crashes: dict[str, set[int]] = field(default_factory=dict)
    in_flight: int = 0
    _modules: dict[str, ModuleType] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
        """Load the function's app.py once, under a unique module name (every function has an app.py)."""
        with self._lock:
            if logical_id not in self._modules:
                props = self.functions[logical_id]
                module_name, _ = props["Handler"].rsplit(".", 1)
                path = ROOT / props["CodeUri"] / f"{module_name}.py"
                spec = importlib.util.spec_from_file_location(f"lambda_{logical_id}", path)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                self._modules[logical_id] = module
            module = self._modules[logical_id]
        attr = self.functions[logical_id]["Handler"].rsplit(".", 1)[1]
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, attr)
        return handler

    def invoke(self, logical_id: str, payload: dict[str, Any]) -> tuple[bool, Any]:
        """Run a handler as Lambda would: (ok, result) or (False, {errorType, errorMessage})."""
        props = self.functions[logical_id]
        context = FakeLambdaContext(
            logical_id, int(props.get("Timeout", 3)), int(props.get("MemorySize", 128))
        )
        with self._lock:
            self.invocations[logical_id] = self.invocations.get(logical_id, 0) + 1
            crash = self.invocations[logical_id] in self.crashes.get(logical_id, set())
        if crash:
            error = {"errorType": "Runtime.ExitError", "errorMessage": "simulated crash: the runtime exited"}
            with self._lock:
                self.failures.append({"function": logical_id, **error})
            return False, error
        with self._lock:
            self.in_flight += 1
        try:
            return True, self.handler(logical_id)(payload, context)
        except Exception as exc:  # a Lambda "Unhandled" error: Step Functions sees errorType
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            with self._lock:
                self.failures.append({"function": logical_id, **error})
            return False, error
        finally:
            with self._lock:
                self.in_flight -= 1

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Wait until no handler runs. As on AWS, invocations already running when an execution fails
        carry on after it; tests wait for them before looking at what landed."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)

    def start_export(self, request: dict[str, Any], name: str | None = None) -> str:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        kwargs: dict[str, Any] = {"stateMachineArn": self.state_machine_arn, "input": json.dumps(request)}
        if name:
            kwargs["name"] = name
        arn: str = sfn.start_execution(**kwargs)["executionArn"]
        return arn


def _patched_invoke(stack: LocalStack) -> Callable[..., bytes]:
    def invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        fn = self.get_function(function_name, qualifier)
        ok, result = stack.invoke(fn.function_name, json.loads(body) if body else {})
        if not ok:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(result).encode()

    return invoke


def create_stack(template: Template, credentials: dict[str, str], extra_env: dict[str, str]) -> LocalStack:
    """Create the template's bucket, table, secret, functions and state machine in the active moto."""
    stage = template.parameters.get("Stage", "dev")
    bucket = f"intacct-sync-{stage}-exports-local"
    table = f"intacct-sync-{stage}-state-local"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=f"intacct-sync/{stage}/credentials", SecretString=json.dumps(credentials)
    )["ARN"]
    template.physical.update(
        {
            "ExportBucket": bucket,
            "StateTable": table,
            "CredentialsSecret": secret_arn,
            "ExportBucket.Arn": f"arn:aws:s3:::{bucket}",
        }
    )
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="intacct-sync-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    functions = template.functions()
    # Function ARNs are known before the functions exist, so the state machine (which names them) can be
    # created first and functions whose environment names the state machine resolve it.
    for logical_id in functions:
        template.physical[f"{logical_id}.Arn"] = f"arn:aws:lambda:{REGION}:123456789012:function:{logical_id}"
        template.physical[logical_id] = logical_id
    machine = template.resources["ExportStateMachine"]["Properties"]
    sm_arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=str(template.resolve(machine.get("Name", "export"))),
        definition=template.state_machine_definition(),
        roleArn=role,
    )["stateMachineArn"]
    template.physical["ExportStateMachine"] = sm_arn
    env: dict[str, str] = {}
    for logical_id, props in functions.items():
        variables = {k: str(template.resolve(v)) for k, v in props["Environment"]["Variables"].items()}
        env.update(variables)
        arn = lam.create_function(
            FunctionName=logical_id,
            Runtime=props["Runtime"],
            Role=role,
            Handler=props["Handler"],
            Code={"ZipFile": _empty_zip()},
            Timeout=int(props.get("Timeout", 3)),
            Environment={"Variables": variables},
        )["FunctionArn"]
        assert arn == template.physical[f"{logical_id}.Arn"], arn
    env.update(extra_env)
    return LocalStack(template, functions, sm_arn, bucket, table, secret_arn, env)


# DynamoDB applies each write to an item atomically; moto reads, changes and stores it in Python, so two
# handler threads updating one item at once (the run's transaction count, a concurrency lease) can lose
# a write. Serialising moto's writes restores DynamoDB's guarantee for local runs.
_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_dynamodb_lock = threading.RLock()


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    def write(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return method(*args, **kwargs)

    return write


@contextmanager
def atomic_dynamodb_writes() -> Iterator[None]:
    """moto's DynamoDB with each write atomic, as DynamoDB's are (for any use of moto with threads)."""
    original_writes = {name: getattr(DynamoDBBackend, name) for name in _DYNAMODB_WRITES}
    for name, method in original_writes.items():
        setattr(DynamoDBBackend, name, _serialised(method))
    try:
        yield
    finally:
        for name, method in original_writes.items():
            setattr(DynamoDBBackend, name, method)


@contextmanager
def local_aws(
    credentials: dict[str, str],
    parameters: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[LocalStack]:
    """Emulated AWS with the template deployed into it; handlers see the union of the functions'
    environment variables (each handler reads only its own names)."""
    saved_env = dict(os.environ)
    os.environ.update(FAKE_AWS_ENV)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    original_invoke = LambdaSimpleBackend.invoke
    try:
        with mock_aws(config=MOTO_CONFIG), atomic_dynamodb_writes():
            template = Template.load(overrides=parameters)
            stack = create_stack(template, credentials, extra_env or {})
            os.environ.update(stack.env)
            LambdaSimpleBackend.invoke = _patched_invoke(stack)  # type: ignore[method-assign]
            yield stack
    finally:
        LambdaSimpleBackend.invoke = original_invoke  # type: ignore[method-assign]
        os.environ.clear()
        os.environ.update(saved_env)
