"""Wiring for the export functions: settings, AWS adapters and the tenant's Intacct, built once per
execution environment (cold start) and handed to the steps as narrow ports."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from intacct_sync.adapters.aws import AwsClients
from intacct_sync.adapters.events import ExportEvents
from intacct_sync.adapters.executions import ExportExecutions
from intacct_sync.adapters.export_data import ExportData
from intacct_sync.adapters.glue import GlueCatalog
from intacct_sync.settings import Settings
from intacct_sync.tenant import TenantIntacct


@dataclass
class Runtime(ExportData):
    """The ports: ``store`` (bucket), ``state`` (table), ``events``, ``intacct``, and ``settings``.
    Build with ``Runtime.from_env()`` at module load; tests build one over moto-backed clients."""

    settings: Settings
    aws: AwsClients

    @classmethod
    def from_env(cls) -> Runtime:
        return cls(Settings.from_env(), AwsClients())

    @cached_property
    def events(self) -> ExportEvents:
        return ExportEvents(self.aws.events, self.settings.event_bus_name)

    @cached_property
    def catalog(self) -> GlueCatalog | None:
        """The Glue database of the exports' tables and views; None when GLUE_DATABASE is not set."""
        database = self.settings.glue_database
        return GlueCatalog(self.aws.glue, database) if database else None

    @cached_property
    def executions(self) -> ExportExecutions:
        """Executions of the export workflow (EXPORT_STATE_MACHINE_ARN: the sync's steps)."""
        return ExportExecutions(self.aws.stepfunctions, self.settings.export_state_machine_arn)

    def sync_executions(self, state_machine_arn: str) -> ExportExecutions:
        """Executions of the sync workflow (its ARN comes with the sync's first step: the workflow names
        its functions, so they cannot name it)."""
        return ExportExecutions(self.aws.stepfunctions, state_machine_arn)

    @cached_property
    def intacct(self) -> TenantIntacct:
        return TenantIntacct(self.settings, self.aws.secrets, self.aws.ssm, self.state, self.aws.dynamodb)
