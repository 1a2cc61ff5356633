"""Step Functions "Execution Status Change" events, as AWS puts them on the default EventBridge bus, delivered
to the template's EventBridge rules whose target is one of its functions.

moto runs executions but emits no such events, and the workflow relies on one for every ending (the
ExportEndedFunction rule): without this, a local run would end unsettled where AWS settles it. Event shape:
the Step Functions developer guide, "Step Functions events in EventBridge" (``detail``: executionArn,
stateMachineArn, name, status, startDate, stopDate (epoch ms), input and output as JSON text with
inputDetails/outputDetails ``included``, error, cause; input or output over 248 KiB is left out).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
DETAIL_TYPE = "Step Functions Execution Status Change"
MAX_INCLUDED = 248 * 1024  # bytes of input or output an event carries (AWS developer guide)
ASYNC_ATTEMPTS = 3  # Lambda invokes an EventBridge target asynchronously: the first try and two retries

Invoke = Callable[[str, dict[str, Any]], tuple[bool, Any]]


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge pattern matching for the forms the template uses: nested objects and lists of values."""
    if isinstance(pattern, Mapping):
        return isinstance(event, Mapping) and all(
            key in event and matches(value, event[key]) for key, value in pattern.items()
        )
    if isinstance(pattern, list):
        return event in pattern
    return bool(pattern == event)


class StatusEvents:
    """Delivers each execution's ending to the rules it matches, once, in the execution's own thread."""

    def __init__(
        self, rules: list[tuple[str, dict[str, Any]]], invoke: Invoke, account: str, region: str
    ) -> None:
        self._rules = rules  # (function logical id, resolved event pattern)
        self._invoke = invoke
        self._account, self._region = account, region
        self._settled: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.failures: list[dict[str, Any]] = []
        # Deliveries that failed, by execution: a stopped local run delivers its own ending afterwards.
        self._undelivered: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def _flag(self, arn: str) -> threading.Event:
        with self._lock:
            return self._settled.setdefault(arn, threading.Event())

    def ended(self, execution: Any) -> None:
        """An execution ended: build its event and deliver it to every matching rule's function."""
        status = execution.exec_status.value if execution.exec_status is not None else None
        try:
            if status in ENDED:
                event = self.event(execution, status)
                for function, pattern in self._rules:
                    if matches(pattern, event):
                        self._deliver(function, event)
        finally:
            self._flag(execution.exec_arn).set()

    def _deliver(self, function: str, event: dict[str, Any], invoke: Invoke | None = None) -> bool:
        for _ in range(ASYNC_ATTEMPTS):
            ok, result = (invoke or self._invoke)(function, event)
            if ok:
                return True
        self.failures.append({"function": function, "event": event["id"], "error": result})
        with self._lock:
            self._undelivered.setdefault(event["detail"]["executionArn"], []).append((function, event))
        return False

    def redeliver(self, execution_arn: str, invoke: Invoke) -> int:
        """Deliver again, through ``invoke``, what could not be delivered of the execution's ending (e.g.
        while the local run was stopping); returns how many deliveries succeeded."""
        with self._lock:
            pending = self._undelivered.pop(execution_arn, [])
        return sum(self._deliver(function, event, invoke) for function, event in pending)

    def wait(self, execution_arn: str, timeout: float) -> bool:
        """Until the execution's ending has been delivered (True), or ``timeout`` seconds."""
        return self._flag(execution_arn).wait(timeout)

    def event(self, execution: Any, status: str) -> dict[str, Any]:
        input_text = json.dumps(execution.input_data, separators=(",", ":"))
        output_text = (
            json.dumps(execution.output, separators=(",", ":"))
            if status == "SUCCEEDED" and execution.output is not None
            else None
        )

        def included(text: str | None) -> tuple[str | None, dict[str, bool]]:
            fits = text is not None and len(text.encode()) <= MAX_INCLUDED
            return (text if fits else None), {"included": fits}

        sent_input, input_details = included(input_text)
        sent_output, output_details = included(output_text)
        stopped = execution.stop_date or datetime.now(UTC)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": DETAIL_TYPE,
            "source": "aws.states",
            "account": self._account,
            "time": stopped.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._region,
            "resources": [execution.exec_arn],
            "detail": {
                "executionArn": execution.exec_arn,
                "stateMachineArn": execution.state_machine.arn,
                "name": execution.name,
                "status": status,
                "startDate": int(execution.start_date.timestamp() * 1000),
                "stopDate": int(stopped.timestamp() * 1000),
                "input": sent_input,
                "output": sent_output,
                "inputDetails": input_details,
                "outputDetails": output_details,
                "error": execution.error,
                "cause": execution.cause,
            },
        }


_active: StatusEvents | None = None
_original_terminated = BaseExecutionWorkerCommunication.terminated


def _terminated(self: BaseExecutionWorkerCommunication) -> None:
    _original_terminated(self)
    if _active is not None:
        _active.ended(self.execution)


def activate(events: StatusEvents | None) -> None:
    """Deliver the endings of executions from now on to ``events`` (None: stop delivering)."""
    global _active
    _active = events
    BaseExecutionWorkerCommunication.terminated = _terminated  # type: ignore[method-assign]
