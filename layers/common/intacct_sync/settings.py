"""Function settings, read from the environment once at cold start and validated.

Environment variables carry names (bucket, secret id, parameter path), never secret values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from intacct_sync.errors import SettingsError
from intacct_sync.objects import Catalogue

DEFAULT_GATEWAY_URL = "https://api.intacct.com/ia/xml/xmlgw.phtml"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is required but not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"environment variable {name} must be between {low} and {high}, got {value}")
    return value


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; raise SettingsError naming the first bad variable."""
        env = os.environ if env is None else env
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        timezone = env.get("TENANT_TIMEZONE", "").strip() or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"environment variable TENANT_TIMEZONE must be an IANA time zone such as "
                f"America/Los_Angeles, got {timezone!r}"
            ) from None
        gateway_url = env.get("GATEWAY_URL", "").strip() or DEFAULT_GATEWAY_URL
        if not gateway_url.startswith(("https://", "http://")):
            raise SettingsError(
                f"environment variable GATEWAY_URL must be an http(s) URL, got {gateway_url!r}"
            )
        return cls(
            export_bucket=_required(env, "EXPORT_BUCKET"),
            credentials_secret_id=_required(env, "CREDENTIALS_SECRET_ID"),
            session_parameter_name=_required(env, "SESSION_PARAMETER_NAME"),
            gateway_url=gateway_url,
            state_table=_required(env, "STATE_TABLE"),
            tenant_concurrency=_int(env, "TENANT_CONCURRENCY", 2, 1, 64),
            page_size=_int(env, "PAGE_SIZE", 2000, 1, 2000),
            tenant_timezone=timezone,
            monthly_transaction_budget=_int(env, "MONTHLY_TRANSACTION_BUDGET", 0, 0, 10**9),
            session_refresh_margin_seconds=_int(env, "SESSION_REFRESH_MARGIN_SECONDS", 300, 0, 86400),
            session_cache_max_age_seconds=_int(env, "SESSION_CACHE_MAX_AGE_SECONDS", 60, 0, 3600),
            incremental_lookback_minutes=_int(env, "INCREMENTAL_LOOKBACK_MINUTES", 120, 0, 10080),
            event_bus_name=env.get("EVENT_BUS_NAME", "").strip() or "default",
            lease_seconds=_int(env, "LEASE_SECONDS", 300, 5, 3600),
            retry_max_attempts=_int(env, "INTACCT_MAX_ATTEMPTS", 6, 1, 10),
            retry_base_delay_ms=_int(env, "INTACCT_RETRY_BASE_DELAY_MS", 1000, 1, 60_000),
            read_timeout_seconds=_int(env, "INTACCT_READ_TIMEOUT_SECONDS", 120, 1, 840),
            objects=Catalogue.from_env(env),
        )
