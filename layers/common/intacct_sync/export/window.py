"""Incremental windows: Intacct writes timestamps as naive `MM/DD/YYYY HH:MM:SS` in the tenant's time
zone, while watermarks are stored as UTC instants. These functions convert between the two."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

INTACCT_FORMAT = "%m/%d/%Y %H:%M:%S"


def modified_sort_key(text: str) -> str | None:
    """A cheap sortable form of an Intacct timestamp (YYYYMMDDhh:mm:ss), or None if it is not one."""
    if len(text) >= 10 and text[2] == "/" and text[5] == "/":
        return text[6:10] + text[0:2] + text[3:5] + text[10:]
    return None


def intacct_to_utc(text: str, timezone: str) -> datetime:
    """Interpret an Intacct timestamp in the tenant's zone. In the repeated hour of a DST fall-back the
    earlier instant is chosen, so a watermark derived from it can only be early, never late."""
    fmt = INTACCT_FORMAT if len(text.strip()) > 10 else "%m/%d/%Y"
    local = datetime.strptime(text.strip(), fmt).replace(tzinfo=ZoneInfo(timezone), fold=0)
    return local.astimezone(UTC)


def utc_to_intacct(instant: datetime, timezone: str) -> str:
    """An aware instant as the tenant's wall-clock text, the form Intacct filters compare against."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(ZoneInfo(timezone)).strftime(INTACCT_FORMAT)


def window_start(watermark: datetime, lookback: timedelta) -> datetime:
    """Where an incremental run starts reading: the watermark minus the lookback (Intacct is eventually
    consistent and its timestamps have one-second granularity, so late writes land behind it)."""
    return watermark - lookback


def window_filter(modified_field: str, start: datetime, timezone: str) -> dict[str, Any]:
    """The filter (JSON form) selecting records modified at or after `start`."""
    return {"field": modified_field, "op": "greaterthanorequalto", "value": utc_to_intacct(start, timezone)}


def combine_filters(*filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """AND together the filters that are present (JSON form)."""
    present = [f for f in filters if f]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return {"and": present}
