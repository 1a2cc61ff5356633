"""The API function's settings, read from the environment once at cold start and validated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from intacct_sync.errors import SettingsError
from intacct_sync.objects import Catalogue
from intacct_sync.settings import Env

STATE_MACHINE_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True)
class ApiSettings:
    """What the API needs: where exports and syncs are started, where their data and progress live, what is
    offered."""

    state_machine_arn: str
    sync_state_machine_arn: str
    export_bucket: str
    state_table: str
    page_size: int
    objects: Catalogue

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Read and validate; raise SettingsError naming the first bad variable."""
        read = Env(env)
        arns = {}
        for name in ("EXPORT_STATE_MACHINE_ARN", "SYNC_STATE_MACHINE_ARN"):
            arns[name] = read.required(name)
            if not STATE_MACHINE_ARN.match(arns[name]):
                raise SettingsError(
                    f"environment variable {name} must be a state machine ARN, got {arns[name]!r}"
                )
        return cls(
            state_machine_arn=arns["EXPORT_STATE_MACHINE_ARN"],
            sync_state_machine_arn=arns["SYNC_STATE_MACHINE_ARN"],
            export_bucket=read.export_bucket(),
            state_table=read.state_table(),
            page_size=read.page_size(),
            objects=read.catalogue(),
        )
