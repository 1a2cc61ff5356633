"""Function settings, read from the environment once at cold start and validated.

Environment variables carry names (bucket, secret id, parameter path), never secret values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from intacct_sync.errors import SettingsError
from intacct_sync.intacct import DEFAULT_GATEWAY_URL, MAX_QUERY_PAGE_SIZE
from intacct_sync.objects import Catalogue


class Env:
    """Reads environment variables for a settings model; every problem raises SettingsError naming the
    variable. The one loader behind every function's settings (export steps, API)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env

    def text(self, name: str, default: str = "") -> str:
        return self._env.get(name, "").strip() or default

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise SettingsError(f"environment variable {name} is required but not set")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"environment variable {name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(f"environment variable {name} must be between {low} and {high}, got {value}")
        return value

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name, default).lower()
        if value not in allowed:
            raise SettingsError(
                f"environment variable {name} must be one of {', '.join(allowed)}, got {value!r}"
            )
        return value

    def catalogue(self) -> Catalogue:
        return Catalogue.from_env(self._env)

    # The settings the export steps and the API both read, each by one rule.

    def export_bucket(self) -> str:
        return self.required("EXPORT_BUCKET")

    def state_table(self) -> str:
        return self.required("STATE_TABLE")

    def page_size(self) -> int:
        """Records per ``query`` page (the PageSize parameter): Intacct's maximum unless set lower."""
        return self.integer("PAGE_SIZE", MAX_QUERY_PAGE_SIZE, 1, MAX_QUERY_PAGE_SIZE)


@dataclass(frozen=True)
class Settings:
    """Everything the export functions need to know about their deployment."""

    export_bucket: str
    credentials_secret_id: str
    session_parameter_name: str
    gateway_url: str
    state_table: str
    tenant_concurrency: int
    page_size: int
    tenant_timezone: str
    monthly_transaction_budget: int
    session_refresh_margin_seconds: int
    session_cache_max_age_seconds: int
    incremental_lookback_minutes: int
    event_bus_name: str
    lease_seconds: int
    retry_max_attempts: int
    retry_base_delay_ms: int
    read_timeout_seconds: int
    objects: Catalogue
    filter_date_format: str = "auto"
    strict_reconciliation: bool = False
    history_event_budget: int = 20_000
    glue_database: str = ""  # where the exports' Athena tables and views go ("" = none)
    # The sync of several objects: the export workflow it runs per object, how many objects at once (0:
    # the tenant's concurrency; more would only wait for its slots), and the pause between looks at a run
    # that continues in new executions.
    export_state_machine_arn: str = ""
    sync_object_concurrency: int = 1
    sync_follow_seconds: int = 60

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; raise SettingsError naming the first bad variable."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        read = Env(env)
        timezone = read.text("TENANT_TIMEZONE")
        try:
            if timezone:
                ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"environment variable TENANT_TIMEZONE must be an IANA time zone such as "
                f"America/Los_Angeles, got {timezone!r}"
            ) from None
        gateway_url = read.text("GATEWAY_URL", DEFAULT_GATEWAY_URL)
        if not gateway_url.startswith(("https://", "http://")):
            raise SettingsError(
                f"environment variable GATEWAY_URL must be an http(s) URL, got {gateway_url!r}"
            )
        return cls(
            export_bucket=read.export_bucket(),
            credentials_secret_id=read.required("CREDENTIALS_SECRET_ID"),
            session_parameter_name=read.required("SESSION_PARAMETER_NAME"),
            gateway_url=gateway_url,
            state_table=read.state_table(),
            tenant_concurrency=read.integer("TENANT_CONCURRENCY", 2, 1, 64),
            page_size=read.page_size(),
            tenant_timezone=timezone,
            monthly_transaction_budget=read.integer("MONTHLY_TRANSACTION_BUDGET", 0, 0, 10**9),
            session_refresh_margin_seconds=read.integer("SESSION_REFRESH_MARGIN_SECONDS", 300, 0, 86400),
            session_cache_max_age_seconds=read.integer("SESSION_CACHE_MAX_AGE_SECONDS", 60, 0, 3600),
            incremental_lookback_minutes=read.integer("INCREMENTAL_LOOKBACK_MINUTES", 120, 0, 10080),
            event_bus_name=read.text("EVENT_BUS_NAME", "default"),
            lease_seconds=read.integer("LEASE_SECONDS", 300, 5, 3600),
            retry_max_attempts=read.integer("INTACCT_MAX_ATTEMPTS", 6, 1, 10),
            retry_base_delay_ms=read.integer("INTACCT_RETRY_BASE_DELAY_MS", 1000, 1, 60_000),
            read_timeout_seconds=read.integer("INTACCT_READ_TIMEOUT_SECONDS", 120, 1, 840),
            objects=read.catalogue(),
            filter_date_format=read.choice("FILTER_DATE_FORMAT", "auto", ("auto", "standard", "user")),
            strict_reconciliation=read.choice("STRICT_RECONCILIATION", "false", ("true", "false")) == "true",
            history_event_budget=read.integer("HISTORY_EVENT_BUDGET", 20_000, 200, 24_000),
            glue_database=read.text("GLUE_DATABASE"),
            export_state_machine_arn=read.text("EXPORT_STATE_MACHINE_ARN"),
            sync_object_concurrency=read.integer("SYNC_OBJECT_CONCURRENCY", 1, 0, 40),
            sync_follow_seconds=read.integer("SYNC_FOLLOW_SECONDS", 60, 1, 3600),
        )
