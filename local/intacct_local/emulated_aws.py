"""Emulated AWS for local runs and tests: moto with state machine execution, the template's resources,
and Lambda tasks dispatched in-process to the real handlers (see shared LOCAL_AWS.md)."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import math
import os
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import boto3
import requests
from botocore.client import BaseClient
from botocore.endpoint import Endpoint
from botocore.exceptions import BotoCoreError
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.models import DynamoDBBackend
from moto.stepfunctions.exceptions import ValidationException
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils import (
    LambdaFunctionErrorException,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from intacct_local import status_events
from intacct_local.aws_isolation import REGION, isolate
from intacct_local.errors import RunError
from intacct_local.function_settings import FROM_ENVIRONMENT
from intacct_local.iam import Permissions, check_call
from intacct_local.layer import logger
from intacct_local.status_events import StatusEvents
from intacct_local.template import ROOT, Template, create_state_table

MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
# Only the allowed endpoints (``allow_endpoint``) may be sent anything: every other AWS request is answered
# by the emulator or refused.
_allowed_endpoints: set[tuple[str, int | None]] = set()
# What Lambda answers today when an invocation runs past the function's Timeout, and what Step Functions'
# lambda:invoke integration then reports as the Task's error (the errorType), for Retry and Catch to match.
TIMEOUT_ERROR = "Sandbox.Timedout"
# Limits AWS enforces and moto does not (Lambda and Step Functions quotas pages): a synchronous Lambda
# response, and a state's input or output (a Task's result included, before any ResultSelector), in bytes.
LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024
STATE_BYTES = 256 * 1024
DATA_LIMIT_ERROR = "States.DataLimitExceeded"
STOPPED_ERROR = "LocalRunStopped"
# Function settings the template leaves to their defaults that a local run changes: the sync's Wait really
# sleeps here, so it looks at a run that continues in new executions every second, not every minute.
LOCAL_DEFAULTS = {"SYNC_FOLLOW_SECONDS": "1"}

report_log = logging.getLogger("intacct_local.lambda")
# The handlers' shared Powertools logger (``intacct_sync.observability``), as the logging module has it.
functions_log = logging.getLogger(logger.name)


class RealAwsRefused(BotoCoreError):
    """Raised instead of sending an AWS request anywhere: only the emulator answers them."""

    fmt = "the local runner never sends AWS requests out (the emulator answers them): refused one to {host}"


class InvocationEnded(BotoCoreError):
    """Raised for the AWS calls of an invocation that has already ended (timed out or stopped): on AWS
    its sandbox would be frozen or gone, so nothing it does may land."""

    fmt = "{function} invocation {request_id} has ended ({reason}); its AWS call was refused"


class CallRefused(RuntimeError):
    """Raised for an ended invocation's Intacct call instead of sending it, or instead of its answer when
    the call was given up on at a stop (``Invocation.abandon``). Not a ``requests`` error, so the client
    does not retry it: the handler ends at once."""


@dataclass(eq=False)  # hashed by identity: the stack keeps the running ones in a set
class Invocation:
    """One Lambda invocation: its handler runs in a thread of its own (and in threads that one starts)."""

    function: str
    request_id: str
    timeout_s: int
    memory_mb: int
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    outcome: tuple[bool, Any] | None = None
    ended: str | None = None  # why it ended before its handler returned: "timed out" or "stopped"
    permissions: Permissions | None = None  # the function's role: every AWS call is checked against it
    run_id: str = ""  # the export run its event names (what its Intacct calls are billed to)
    returned: threading.Event = field(default_factory=threading.Event)  # its handler's thread is done
    calls_in_flight: int = 0  # Intacct calls sent and not yet answered
    abandoned: bool = False  # given up on at a stop: answers arriving from now on are refused
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call_started(self) -> None:
        """An Intacct call is about to be sent (refused once the invocation has ended)."""
        with self._lock:
            if self.ended:
                raise CallRefused(
                    f"{self.function} invocation {self.request_id} has ended ({self.ended}); "
                    "its Intacct call was not sent"
                )
            self.calls_in_flight += 1

    def call_answered(self) -> None:
        """A call's answer (or its failure) has arrived; refused when the call was given up on, since it
        has been counted as billed already (``abandon``)."""
        with self._lock:
            self.calls_in_flight -= 1
            abandoned = self.abandoned
        if abandoned:
            raise CallRefused(
                f"{self.function} invocation {self.request_id} was stopped; this call's answer came too late"
            )

    def abandon(self) -> int:
        """Give up on the calls still unanswered (once; later calls give 0): Intacct bills a call it has
        received whether or not anyone reads the answer, so the caller counts these as billed, and their
        answers are refused, so the run cannot count them a second time."""
        with self._lock:
            if self.abandoned:
                return 0
            self.abandoned = True
            return self.calls_in_flight

    def finish(self, outcome: tuple[bool, Any]) -> None:
        """The handler returned or raised."""
        with self._lock:
            if self.ended is None:
                self.outcome = outcome
        self.done.set()

    def end(self, reason: str) -> bool:
        """End it without its handler (timeout, stop): its result is discarded and its AWS calls from now on
        are refused. False when the handler had finished first (its outcome stands)."""
        with self._lock:
            if self.outcome is not None:
                return False
            self.ended = self.ended or reason
        self.done.set()
        return True


_INVOCATION = "_intacct_local_invocation"


def current_invocation() -> Invocation | None:
    """The invocation whose handler runs in this thread (or started it), if any."""
    invocation: Invocation | None = getattr(threading.current_thread(), _INVOCATION, None)
    return invocation


class InvocationContext(logging.Filter):
    """Tags each log line of a handler with the Lambda context of the invocation that wrote it. On AWS
    every function has a process and a logger of its own; here they share one, and Powertools keeps
    ``inject_lambda_context``'s keys on that logger, so concurrent invocations would tag each other's
    lines (a StartExportFunction line as GetSessionFunction's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        invocation = current_invocation()
        if invocation is not None:
            record.function_name = invocation.function
            record.function_request_id = invocation.request_id
            record.function_memory_size = invocation.memory_mb
            record.function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{invocation.function}"
        return True


def _endpoint(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port


def allow_endpoint(url: str) -> None:
    """Let AWS requests reach ``url``'s host and port: a moto server this process started itself (the
    benchmarks' handler probes). Nothing else is ever sent out."""
    with _guards_lock:
        _allowed_endpoints.add(_endpoint(url))


_guards_installed = False
_guards_lock = threading.Lock()


def install_guards() -> None:
    """Fail closed, for the whole process and for good (leftover threads included): no AWS request is
    sent anywhere (real AWS, or a LocalStack or MinIO on this machine) unless the emulator answers it, an
    ended invocation can neither call AWS nor Intacct, and a function's AWS calls are checked against its
    role's policies (``iam``).

    Requests that moto answers never reach ``Endpoint._send``; anything else would go out on the network,
    so it is refused there, whatever its host (``allow_endpoint`` names the only exceptions). Idempotent."""
    global _guards_installed
    with _guards_lock:
        if _guards_installed:
            return
        original_send = Endpoint._send
        original_call = BaseClient._make_api_call
        original_http = requests.adapters.HTTPAdapter.send

        def send(self: Endpoint, request: Any) -> Any:
            if _endpoint(request.url) not in _allowed_endpoints:
                raise RealAwsRefused(host=urlsplit(request.url).netloc or request.url)
            return original_send(self, request)

        def make_api_call(self: BaseClient, operation_name: str, api_params: Any) -> Any:
            invocation = current_invocation()
            if (
                invocation is not None
                and invocation.ended
                and not _counts_what_it_made(invocation, self, operation_name, api_params)
            ):
                raise InvocationEnded(
                    function=invocation.function, request_id=invocation.request_id, reason=invocation.ended
                )
            if invocation is not None and invocation.permissions is not None:
                model = self.meta.service_model
                check_call(
                    invocation.permissions,
                    model.endpoint_prefix,
                    operation_name,
                    api_params,
                    self.meta.region_name or REGION,
                )
            return original_call(self, operation_name, api_params)

        def http_send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            invocation = current_invocation()
            if invocation is None:
                return original_http(self, request, *args, **kwargs)
            invocation.call_started()
            try:
                response = original_http(self, request, *args, **kwargs)
            finally:
                invocation.call_answered()
            return response

        Endpoint._send = send
        BaseClient._make_api_call = make_api_call
        requests.adapters.HTTPAdapter.send = http_send  # type: ignore[method-assign]
        _guards_installed = True


def _counts_what_it_made(
    invocation: Invocation, client: BaseClient, operation_name: str, api_params: Any
) -> bool:
    """What a stopped invocation may still write: a DynamoDB update that only adds to numbers (the run's
    and the month's transaction and page counters). The Intacct calls it made were billed whether or not
    the run goes on, so their count must land; an addition can neither overwrite nor undo what a resumed
    run writes. Anything else from it is refused, and everything from a timed-out one (on AWS its sandbox
    is frozen)."""
    expression = str(api_params.get("UpdateExpression", "")) if isinstance(api_params, dict) else ""
    return (
        invocation.ended == "stopped"
        and client.meta.service_model.service_name == "dynamodb"
        and operation_name == "UpdateItem"
        and expression.lstrip().upper().startswith("ADD ")
    )


@contextmanager
def threads_inherit_invocations() -> Iterator[None]:
    """Threads a handler starts (its executors, its ledger) belong to its invocation."""
    original_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        invocation = current_invocation()
        if invocation is not None and getattr(self, _INVOCATION, None) is None:
            setattr(self, _INVOCATION, invocation)
        original_start(self)

    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        yield
    finally:
        threading.Thread.start = original_start  # type: ignore[method-assign]


class FakeLambdaContext:
    """The parts of the Lambda context object that Powertools and our handlers read."""

    def __init__(
        self, function_name: str, timeout_s: int, memory_mb: int, started: float | None = None
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.aws_request_id = f"local-{time.monotonic_ns()}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = (time.monotonic() if started is None else started) + timeout_s

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
    # logical id -> a handler to run instead of the function's own (fault injection, e.g. one that hangs)
    overrides: dict[str, Callable[[dict[str, Any], Any], Any]] = field(default_factory=dict)
    in_flight: int = 0  # handler threads still running (an ended invocation's included)
    # Executions' status changes delivered to the template's EventBridge rules (set by local_aws)
    endings: StatusEvents | None = None
    # Each function's and state machine's role (logical id -> Permissions), enforced per call (``iam``)
    permissions: dict[str, Permissions] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    _running: set[Invocation] = field(default_factory=set)
    _stopped: list[Invocation] = field(default_factory=list)  # ended by ``stop``
    _modules: dict[str, ModuleType] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
        """Load the function's app.py once, under a unique module name (every function has an app.py)."""
        if logical_id in self.overrides:
            return self.overrides[logical_id]
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

    def invoke(
        self, logical_id: str, payload: dict[str, Any], *, after_stop: bool = False
    ) -> tuple[bool, Any]:
        """Run a handler as Lambda would: (ok, result) or (False, {errorType, errorMessage}). Once the stack
        is stopping, new invocations fail without running, unless ``after_stop`` (settling how a stopped
        execution ended: ``settle_stopped``).

        The function's Timeout is enforced: past it the invocation fails with Sandbox.Timedout, as Lambda
        reports it to Step Functions, whatever the handler does later. A thread cannot be killed, so the
        handler runs in a thread of its own, sees its deadline in the context, and once the invocation
        has ended its (and its threads') AWS and Intacct calls are refused: nothing it does afterwards
        lands or can overwrite what a retry writes. Each invocation logs Lambda's REPORT line."""
        props = self.functions[logical_id]
        timeout_s, memory_mb = int(props.get("Timeout", 3)), int(props.get("MemorySize", 128))
        with self._lock:
            self.invocations[logical_id] = self.invocations.get(logical_id, 0) + 1
            number = self.invocations[logical_id]
            crash = number in self.crashes.get(logical_id, set())
        if crash:
            error = {"errorType": "Runtime.ExitError", "errorMessage": "simulated crash: the runtime exited"}
            with self._lock:
                self.failures.append({"function": logical_id, **error})
            return False, error
        if self.stopping.is_set() and not after_stop:
            return False, {"errorType": STOPPED_ERROR, "errorMessage": "the local run was stopped"}
        invocation = Invocation(
            logical_id,
            f"local-{time.monotonic_ns()}",
            timeout_s,
            memory_mb,
            permissions=None if logical_id in self.overrides else self.permissions.get(logical_id),
            run_id=str(payload.get("run_id") or "") if isinstance(payload, dict) else "",
        )
        context = FakeLambdaContext(logical_id, timeout_s, memory_mb, started=invocation.started)
        context.aws_request_id = invocation.request_id

        def run() -> None:
            try:
                outcome: tuple[bool, Any] = (True, self.handler(logical_id)(payload, context))
            except Exception as exc:  # a Lambda "Unhandled" error: Step Functions sees errorType
                outcome = (False, {"errorType": type(exc).__name__, "errorMessage": str(exc)})
            finally:
                with self._lock:
                    self.in_flight -= 1
                invocation.returned.set()
            invocation.finish(outcome)

        thread = threading.Thread(target=run, name=f"lambda-{logical_id}-{number}", daemon=True)
        setattr(thread, _INVOCATION, invocation)
        with self._lock:
            self.in_flight += 1
            self._running.add(invocation)
        try:
            thread.start()
            if not invocation.done.wait(timeout_s):
                invocation.end("timed out")
        finally:
            with self._lock:
                self._running.discard(invocation)
        seconds = time.monotonic() - invocation.started
        if invocation.ended == "timed out":
            ok, result = (
                False,
                {
                    "errorType": TIMEOUT_ERROR,
                    "errorMessage": f"RequestId: {invocation.request_id} Error: Task timed out after "
                    f"{timeout_s:.2f} seconds",
                },
            )
        elif invocation.ended:
            ok, result = False, {"errorType": STOPPED_ERROR, "errorMessage": "the local run was stopped"}
        else:
            assert invocation.outcome is not None
            ok, result = invocation.outcome
            size = len(json.dumps(result).encode())
            if ok and size > LAMBDA_RESPONSE_BYTES:
                ok, result = (
                    False,
                    {
                        "errorType": "Function.ResponseSizeTooLarge",
                        "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed "
                        f"payload size ({LAMBDA_RESPONSE_BYTES} bytes).",
                    },
                )
        status = "\tStatus: timeout" if invocation.ended == "timed out" else ""
        report_log.info(
            "%s REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB%s",
            logical_id,
            invocation.request_id,
            seconds * 1000,
            math.ceil(min(seconds, timeout_s) * 1000),
            memory_mb,
            status,
        )
        if not ok and invocation.ended != "stopped":
            with self._lock:
                self.failures.append({"function": logical_id, **result})
        return ok, result

    def stop(self, grace_s: float = 0.0) -> dict[str, int]:
        """Stop: invocations running now end at once (their results discarded, their AWS and Intacct calls
        refused, except the counting of calls they made) and new ones fail without running, so nothing
        more lands.

        With ``grace_s``, wait that long at most for the stopped invocations to wind down: the Intacct
        calls they had sent are answered and counted, and their handlers write what they had counted but
        not yet written. Calls still unanswered after it are given up on (``Invocation.abandon``) and
        returned, by run id, for the caller to count as billed: Intacct bills a call it received whether
        or not anyone reads the answer. So the run's count is exact however the stop falls."""
        self.stopping.set()
        with self._lock:
            running = list(self._running)
            self._stopped += running
            stopped = list(self._stopped)
        for invocation in running:
            invocation.end("stopped")
        if grace_s <= 0:
            return {}
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and not all(
            i.returned.is_set() and not i.calls_in_flight for i in stopped
        ):
            time.sleep(0.02)
        unanswered: dict[str, int] = {}
        for invocation in stopped:
            calls = invocation.abandon()
            if calls:
                run_id = invocation.run_id or "no-run"
                unanswered[run_id] = unanswered.get(run_id, 0) + calls
        return unanswered

    def settle_stopped(self, execution_arn: str, timeout_s: float = 30.0) -> bool:
        """Once a stopped execution has ended: deliver its ending to the template's rules, which the stop
        held back, so ExportEndedFunction records how it ended (a failed manifest: what landed, the
        transactions used, never a success), as on AWS. Call it after ``stop`` has waited and the calls
        given up on are counted, so the manifest counts them. False when the ending did not come."""
        if self.endings is None or not self.endings.wait(execution_arn, timeout_s):
            return False
        self.endings.redeliver(
            execution_arn, lambda function, event: self.invoke(function, event, after_stop=True)
        )
        return True

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Wait until no handler runs. As on AWS, invocations already running when an execution fails
        carry on after it; tests wait for them before looking at what landed."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)

    @property
    def sync_state_machine_arn(self) -> str:
        return self.template.physical["SyncStateMachine"]

    def start_export(self, request: Any, name: str | None = None) -> str:
        return self.start(self.state_machine_arn, request, name)

    def start_sync(self, request: Any, name: str | None = None) -> str:
        return self.start(self.sync_state_machine_arn, request, name)

    @staticmethod
    def start(state_machine_arn: str, request: Any, name: str | None = None) -> str:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        # AWS names an unnamed execution with a UUID, which $$.Execution.Name then gives; moto leaves the
        # context's name empty, so the emulator always names it, as AWS would.
        arn: str = sfn.start_execution(
            stateMachineArn=state_machine_arn, input=json.dumps(request), name=name or str(uuid.uuid4())
        )["executionArn"]
        return arn


def _patched_invoke(stack: LocalStack) -> Callable[..., bytes]:
    def invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        fn = self.get_function(function_name, qualifier)
        ok, result = stack.invoke(fn.function_name, json.loads(body) if body else {})
        answer = json.dumps(result).encode()
        if ok and len(answer) > STATE_BYTES:
            # The Task's result over the state limit: AWS fails the state with States.DataLimitExceeded,
            # an error no Catch of States.ALL sees (the execution fails; its end is still settled).
            ok, answer = (
                False,
                json.dumps(
                    {
                        "errorType": DATA_LIMIT_ERROR,
                        "errorMessage": f"The state returned a result of {len(answer)} bytes, over the "
                        f"{STATE_BYTES}-byte limit of a state's input or output.",
                    }
                ).encode(),
            )
            with stack._lock:
                stack.failures.append({"function": fn.function_name, "errorType": DATA_LIMIT_ERROR})
        if not ok:
            response_headers["x-amz-function-error"] = "Unhandled"
        return answer

    return invoke


def _names_other_machines(machines: dict[str, Any], logical_id: str) -> bool:
    substitutions = json.dumps(machines[logical_id]["Properties"].get("DefinitionSubstitutions", {}))
    return any(f'"{other}"' in substitutions for other in machines if other != logical_id)


# Lambda refuses a function whose environment variables exceed 4 KB together (Lambda quotas), names and
# values counted; the deploy fails, so a local run refuses the same configuration before it starts.
LAMBDA_ENVIRONMENT_BYTES = 4096


def check_environment_size(function: str, variables: Mapping[str, str]) -> None:
    """Raise RunError naming the function and its largest variables when Lambda would refuse them."""
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    if size > LAMBDA_ENVIRONMENT_BYTES:
        largest = sorted(variables, key=lambda k: len(variables[k].encode()), reverse=True)[:2]
        sizes = ", ".join(f"{k} {len(variables[k].encode())} bytes" for k in largest)
        raise RunError(
            f"{function}'s environment variables would be {size} bytes; Lambda allows "
            f"{LAMBDA_ENVIRONMENT_BYTES} in all (largest: {sizes}). Shorten the catalogue (ExportObjects: "
            "names only, no default fields) or the settings that are this long"
        )


def create_stack(template: Template, credentials: dict[str, str], extra_env: dict[str, str]) -> LocalStack:
    """Create the template's bucket, table, secret, functions and state machine in the active moto."""
    stage = template.parameters.get("Stage", "dev")
    bucket = f"intacct-sync-{stage}-exports-local"
    table = f"intacct-sync-{stage}-state-local"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    create_state_table(boto3.client("dynamodb", region_name=REGION), table, template)
    secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=f"intacct-sync/{stage}/credentials", SecretString=json.dumps(credentials)
    )["ARN"]
    template.physical.update(
        {
            "ExportBucket": bucket,
            "StateTable": table,
            "CredentialsSecret": secret_arn,
            "ExportBucket.Arn": f"arn:aws:s3:::{bucket}",
            "StateTable.Arn": f"arn:aws:dynamodb:{REGION}:123456789012:table/{table}",
        }
    )
    # The Athena database, where the export functions write each object's tables and views.
    database = str(
        template.resolve(template.resources["ExportGlueDatabase"]["Properties"]["DatabaseInput"]["Name"])
    )
    boto3.client("glue", region_name=REGION).create_database(DatabaseInput={"Name": database})
    template.physical["ExportGlueDatabase"] = database
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="intacct-sync-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    functions = template.functions()
    # Function ARNs are known before the functions exist, so the state machine (which names them) can be
    # created first and functions whose environment names the state machine resolve it.
    for logical_id in functions:
        template.physical[f"{logical_id}.Arn"] = f"arn:aws:lambda:{REGION}:123456789012:function:{logical_id}"
        template.physical[logical_id] = logical_id
    # Every state machine, each after those its definition names (the sync's runs the export's).
    machines = template.of_type("AWS::Serverless::StateMachine")
    for logical_id in sorted(machines, key=lambda m: _names_other_machines(machines, m)):
        props = machines[logical_id]["Properties"]
        arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=str(template.resolve(props.get("Name", logical_id))),
            definition=template.state_machine_definition(logical_id),
            roleArn=role,
        )["stateMachineArn"]
        template.physical[logical_id] = arn
        template.physical[f"{logical_id}.Name"] = arn.rsplit(":", 1)[-1]
    sm_arn = template.physical["ExportStateMachine"]
    env: dict[str, str] = {}
    for logical_id, props in functions.items():
        variables = {k: str(template.resolve(v)) for k, v in props["Environment"]["Variables"].items()}
        check_environment_size(logical_id, {**variables, **extra_env})
        env.update(variables)
        arn = lam.create_function(
            FunctionName=logical_id,
            Runtime=props["Runtime"],
            Role=role,
            Handler=props["Handler"],
            Code={"ZipFile": _empty_zip()},
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": variables},
        )["FunctionArn"]
        assert arn == template.physical[f"{logical_id}.Arn"], arn
    env.update(LOCAL_DEFAULTS)
    env.update(extra_env)
    stack = LocalStack(template, functions, sm_arn, bucket, table, secret_arn, env)
    stack.permissions = {
        logical_id: Permissions.of_function(template, logical_id) for logical_id in functions
    }
    for logical_id in machines:
        stack.permissions[template.physical[logical_id]] = Permissions.of_state_machine(template, logical_id)
    return stack


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


_original_from_error = StateTaskServiceLambda._from_error


def _from_error_with_data_limit(self: Any, env: Any, ex: Exception) -> Any:
    """moto's Lambda Task failure, except that a result over the state limit (marked by the patched invoke)
    fails the state with States.DataLimitExceeded, as AWS does, instead of a Lambda error of that name."""
    if isinstance(ex, LambdaFunctionErrorException):
        try:
            marked = json.loads(ex.payload).get("errorType") == DATA_LIMIT_ERROR
        except (ValueError, AttributeError):
            marked = False
        if marked:
            return FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]  # moto's own usage
                    taskFailedEventDetails=TaskFailedEventDetails(
                        error=DATA_LIMIT_ERROR,
                        cause=json.loads(ex.payload)["errorMessage"],
                        resource="invoke",
                        resourceType="lambda",
                    )
                ),
            )
    return _original_from_error(self, env, ex)


_original_sfn_task = StateTaskServiceSfn._eval_service_task


def _sfn_task_with_boto_names(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> Any:
    """moto's states:startExecution integration, with the ASL's parameter names (StateMachineArn, Input,
    Name) turned into boto3's (stateMachineArn...) and the result's back (ExecutionArn, StartDate), as the
    AWS service integration docs have them and moto does not."""
    named = {key[:1].lower() + key[1:]: value for key, value in normalised_parameters.items()}
    result = _original_sfn_task(self, env, resource_runtime_part, named, state_credentials)
    if env.stack and isinstance(env.stack[-1], dict):
        env.stack[-1] = {key[:1].upper() + key[1:]: value for key, value in env.stack.pop().items()}
    return result


_original_sync2_resolver = StateTaskServiceSfn._build_sync2_resolver


def _aws_names(described: dict[str, Any]) -> dict[str, Any]:
    """A DescribeExecution result as the startExecution.sync:2 integration gives it on AWS: ExecutionArn,
    Status, Output (parsed JSON)...; each *Details' "included" as "Included". Input and Output untouched."""
    named: dict[str, Any] = {}
    for key, value in described.items():
        if key.endswith("Details") and isinstance(value, dict):
            value = {k[:1].upper() + k[1:]: v for k, v in value.items()}
        named[key[:1].upper() + key[1:]] = value
    return named


def _sync2_resolver_with_aws_names(self: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's startExecution.sync:2 waits for the execution and returns its description with boto3's key
    names (executionArn, status, output); AWS gives the service integration's (ExecutionArn, Status,
    Output: LocalStack's tests recorded against AWS select $..output.StartDate), so the ASL selects those."""
    resolve = _original_sync2_resolver(self, *args, **kwargs)
    assert resolve is not None  # moto types it Optional; the Sfn integration always builds one

    def resolved() -> Any:
        result = resolve()
        return _aws_names(result) if isinstance(result, dict) else result

    return resolved


_original_lambda_task = StateTaskServiceLambda._eval_service_task


def _role_checked(stack: LocalStack, original: Callable[..., Any]) -> Callable[..., Any]:
    """A service integration Task, first checked against the running state machine's role (``iam``): on
    AWS the execution's role makes the call (lambda:InvokeFunction, states:StartExecution)."""

    def task(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Any:
        machine = env.states.context_object.context_object_data["StateMachine"]["Id"]
        permissions = stack.permissions.get(machine)
        if permissions is not None:
            action = str(self.resource.api_action)
            params = {key[:1].upper() + key[1:]: value for key, value in normalised_parameters.items()}
            params.update({key[:1].lower() + key[1:]: value for key, value in normalised_parameters.items()})
            check_call(permissions, self.resource.api_name, action[:1].upper() + action[1:], params, REGION)
        return original(self, env, resource_runtime_part, normalised_parameters, state_credentials)

    return task


_original_start_execution = StepFunctionsParserBackend.start_execution


def _start_execution_within_limits(
    self: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None, **kw: Any
) -> Any:
    """moto's start_execution, refusing an input over Step Functions' 256 KiB as AWS does. The execution's
    threads belong to no Lambda invocation, even when a function started it (the API): on AWS it runs
    apart, with the state machine's role, and outlives the call that started it."""
    if execution_input is not None and len(str(execution_input).encode()) > STATE_BYTES:
        raise ValidationException(
            f"1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have "
            f"length less than or equal to {STATE_BYTES}"
        )
    caller = threading.current_thread()
    invocation = getattr(caller, _INVOCATION, None)
    setattr(caller, _INVOCATION, None)
    try:
        return _original_start_execution(self, state_machine_arn, name, execution_input, **kw)
    finally:
        setattr(caller, _INVOCATION, invocation)


def _rules(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """(function, resolved event pattern) of every EventBridge rule the template gives a function."""
    rules = []
    for logical_id, props in template.functions().items():
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "EventBridgeRule":
                rules.append((logical_id, template.resolve(event["Properties"]["Pattern"])))
    return rules


@contextmanager
def local_aws(
    credentials: dict[str, str],
    parameters: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[LocalStack]:
    """Emulated AWS with the template deployed into it; handlers see the union of the functions'
    environment variables (each handler reads only its own names)."""
    install_guards()
    saved_env = dict(os.environ)
    isolate()
    # Function settings reach the functions only as the template and `extra_env` give them, never from
    # whoever runs this (the CLI passes on the documented ones its user sets: ``function_settings``).
    for key in FROM_ENVIRONMENT:
        os.environ.pop(key, None)
    original_invoke = LambdaSimpleBackend.invoke
    try:
        with mock_aws(config=MOTO_CONFIG), atomic_dynamodb_writes(), threads_inherit_invocations():
            template = Template.load(overrides=parameters)
            stack = create_stack(template, credentials, extra_env or {})
            os.environ.update(stack.env)
            LambdaSimpleBackend.invoke = _patched_invoke(stack)  # type: ignore[method-assign]
            StepFunctionsParserBackend.start_execution = _start_execution_within_limits  # type: ignore[method-assign,assignment]
            StateTaskServiceLambda._from_error = _from_error_with_data_limit  # type: ignore[method-assign]
            StateTaskServiceSfn._eval_service_task = _role_checked(stack, _sfn_task_with_boto_names)  # type: ignore[method-assign]
            StateTaskServiceSfn._build_sync2_resolver = _sync2_resolver_with_aws_names  # type: ignore[method-assign]
            StateTaskServiceLambda._eval_service_task = _role_checked(stack, _original_lambda_task)  # type: ignore[method-assign]
            stack.endings = StatusEvents(_rules(template), stack.invoke, "123456789012", REGION)
            status_events.activate(stack.endings)
            tagging = InvocationContext()
            functions_log.addFilter(tagging)
            try:
                yield stack
            finally:
                functions_log.removeFilter(tagging)
                status_events.activate(None)
                stack.stop()  # nothing still running may land once the emulator is gone
    finally:
        LambdaSimpleBackend.invoke = original_invoke  # type: ignore[method-assign]
        StepFunctionsParserBackend.start_execution = _original_start_execution  # type: ignore[method-assign]
        StateTaskServiceLambda._from_error = _original_from_error  # type: ignore[method-assign]
        StateTaskServiceSfn._eval_service_task = _original_sfn_task  # type: ignore[method-assign]
        StateTaskServiceSfn._build_sync2_resolver = _original_sync2_resolver  # type: ignore[method-assign]
        StateTaskServiceLambda._eval_service_task = _original_lambda_task  # type: ignore[method-assign]
        os.environ.clear()
        os.environ.update(saved_env)
