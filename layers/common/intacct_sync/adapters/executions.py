"""Executions of a state machine (the export's, the sync's): start one under a chosen name, describe one by
name, follow a run through the executions it continues in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from intacct_sync.export.payloads import Continued


@dataclass(frozen=True)
class Execution:
    """What Step Functions says about one export run (its name is the run id)."""

    name: str
    arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    input: dict[str, Any] | None
    started_at: datetime | None
    stopped_at: datetime | None
    error: str | None = None
    cause: str | None = None
    output: dict[str, Any] | None = None

    @property
    def continued(self) -> Continued | None:
        """Where the run went on, when this execution ended by continuing in a new one."""
        return Continued.of_output(self.output) if self.status == "SUCCEEDED" else None


# A run whose history would pass Step Functions' cap goes on in new executions; this many are followed.
MAX_CONTINUATIONS = 1000


class ExportExecutions:
    """The only code that calls Step Functions (for the API and the sync's steps)."""

    def __init__(self, stepfunctions: Any, state_machine_arn: str) -> None:
        self._sfn, self.state_machine_arn = stepfunctions, state_machine_arn

    def execution_arn(self, name: str) -> str:
        """arn:...:stateMachine:<machine> -> arn:...:execution:<machine>:<name> (Standard workflows)."""
        head, machine = self.state_machine_arn.rsplit(":stateMachine:", 1)
        return f"{head}:execution:{machine}:{name}"

    def start(self, name: str, document: dict[str, Any]) -> bool:
        """Start an execution called `name`; False when one of that name already exists.

        Step Functions answers a repeat of a running execution's name and input with that execution
        (no error), and raises ExecutionAlreadyExists for a closed one or a different input.
        """
        try:
            self._sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name,
                input=json.dumps(document, sort_keys=True, separators=(",", ":")),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def describe(self, name: str) -> Execution | None:
        """The execution called `name`, or None when there is none."""
        try:
            raw = self._sfn.describe_execution(executionArn=self.execution_arn(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise
        try:
            document = json.loads(raw.get("input") or "null")
        except json.JSONDecodeError:
            document = None
        return Execution(
            name=raw.get("name", name),
            arn=raw["executionArn"],
            status=raw["status"],
            input=document if isinstance(document, dict) else None,
            started_at=raw.get("startDate"),
            stopped_at=raw.get("stopDate"),
            error=raw.get("error"),
            cause=raw.get("cause"),
            output=_object(raw.get("output")),
        )

    def name_of(self, arn: str) -> str:
        """The execution name in an execution ARN."""
        return arn.rsplit(":", 1)[-1]

    def follow(self, execution: Execution) -> Execution:
        """The execution the run of ``execution`` is in now: itself, unless it ended by continuing in a new
        execution (``Execution.continued``), then the last of those it can describe."""
        for _ in range(MAX_CONTINUATIONS):
            continued = execution.continued
            following = self.describe(self.name_of(continued.execution_arn)) if continued else None
            if following is None:
                break
            execution = following
        return execution


def _object(text: Any) -> dict[str, Any] | None:
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None
