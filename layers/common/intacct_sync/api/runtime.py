"""The API's wiring: settings and AWS adapters, built once per execution environment (cold start)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from intacct_sync.adapters.aws import AwsClients
from intacct_sync.adapters.executions import ExportExecutions
from intacct_sync.adapters.export_data import ExportData
from intacct_sync.api.settings import ApiSettings


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApiRuntime(ExportData):
    """Everything the routes need; tests build one over moto-backed clients."""

    settings: ApiSettings
    aws: AwsClients
    clock: Callable[[], datetime] = field(default=_utc_now)

    @classmethod
    def from_env(cls) -> ApiRuntime:
        return cls(ApiSettings.from_env(), AwsClients())

    @cached_property
    def executions(self) -> ExportExecutions:
        return ExportExecutions(self.aws.stepfunctions, self.settings.state_machine_arn)

    @cached_property
    def sync_executions(self) -> ExportExecutions:
        return ExportExecutions(self.aws.stepfunctions, self.settings.sync_state_machine_arn)
