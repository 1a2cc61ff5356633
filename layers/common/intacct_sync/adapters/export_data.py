"""The export bucket and the state table, for any wiring whose settings name them (export steps and API)."""

from __future__ import annotations

from functools import cached_property
from typing import Protocol

from intacct_sync.adapters.aws import AwsClients
from intacct_sync.adapters.export_store import ExportStore
from intacct_sync.adapters.state_table import StateTable


class NamesExportData(Protocol):
    @property
    def export_bucket(self) -> str: ...

    @property
    def state_table(self) -> str: ...


class ExportData:
    """Mixin: `store` and `state` built once from `settings` and `aws`."""

    settings: NamesExportData
    aws: AwsClients

    @cached_property
    def store(self) -> ExportStore:
        return ExportStore(self.aws.s3, self.settings.export_bucket)

    @cached_property
    def state(self) -> StateTable:
        return StateTable(self.aws.dynamodb, self.settings.state_table)
