"""Intacct's dates and incremental windows.

Intacct writes every TIMESTAMP and DATE in the API user's preferences and wall-clock time
(docs/intacct/PROTOCOL.md §9): a run reads them with the ``TenantTime`` it started with (the session's
``readUserFormatting`` and how filter values must be written, in ``TenantTimezone`` when set, else the user's
``gmtoffset``). Watermarks are UTC instants. Records created and never modified have an empty modified field,
so an incremental window also takes records whose modified field is empty and whose creation date is in it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from intacct_sync.intacct import STANDARD, DateFormat, UserFormatting

_FIXED = re.compile(r"^([+-])(\d{2}):(\d{2})\Z")


@dataclass(frozen=True)
class TenantTime:
    """How one run reads and writes Intacct's dates: the format Intacct writes values in (``output``),
    the one filter values must take (``filters``), and the zone of their wall-clock time (an IANA name,
    DST-aware, or a fixed offset such as ``-08:00``)."""

    output: DateFormat = STANDARD
    filters: DateFormat = STANDARD
    zone: str = "UTC"

    @classmethod
    def of(
        cls, formatting: UserFormatting | None, filter_dates: str | None, configured_zone: str
    ) -> TenantTime:
        """The run's dates from the session's preferences; ``configured_zone`` (TenantTimezone) wins over
        the user's gmtoffset. Raises UnreadableFormattingError when the preferences cannot be read."""
        output = formatting.date_format if formatting is not None else STANDARD
        offset = formatting.offset if formatting is not None else None
        zone = configured_zone or (_offset_text(offset) if offset is not None else "UTC")
        return cls(output, output if filter_dates == "user" else STANDARD, zone)

    @property
    def tz(self) -> tzinfo:
        found = _FIXED.match(self.zone)
        if found is None:
            return ZoneInfo(self.zone)
        sign, hours, minutes = found.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)

    def to_utc(self, text: str) -> datetime:
        """An Intacct date or timestamp as a UTC instant. In the repeated hour of a DST fall-back the
        earlier instant is chosen, so a watermark derived from it can only be early, never late.
        ValueError when ``text`` is not a date in the output format."""
        return self.output.parse(text).replace(tzinfo=self.tz, fold=0).astimezone(UTC)

    def sort_key(self, text: str) -> str | None:
        """A sortable form of an Intacct date or timestamp (wall-clock), or None if it is not one."""
        return self.output.sort_key(text)

    def filter_timestamp(self, instant: datetime) -> str:
        """An aware instant as the tenant's wall-clock text, in the form filter values take."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        return self.filters.format_timestamp(instant.astimezone(self.tz))

    def filter_date(self, instant: datetime) -> str:
        """The tenant's local date of an instant, in the form filter values take."""
        return self.filters.format_date(instant.astimezone(self.tz).date())

    def to_dict(self) -> dict[str, str]:
        return {"output": self.output.code, "filters": self.filters.code, "zone": self.zone}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TenantTime:
        if not data:
            return cls()
        return cls(
            DateFormat.from_code(str(data["output"])),
            DateFormat.from_code(str(data["filters"])),
            str(data["zone"]),
        )


def _offset_text(offset: timezone) -> str:
    total = int(offset.utcoffset(None).total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def window_start(watermark: datetime, lookback: timedelta) -> datetime:
    """Where an incremental run starts reading: the watermark minus the lookback (Intacct is eventually
    consistent and its timestamps have one-second granularity, so late writes land behind it)."""
    return watermark - lookback


def window_filter(
    modified_field: str, created_field: str, start: datetime, time: TenantTime
) -> dict[str, Any]:
    """The filter (JSON form) selecting records modified at or after ``start``, and records never modified
    (empty modified field: Estuary's source-sage-intacct reads them by WHENCREATED) created on or after
    its date. A date, not a timestamp: WHENCREATED is date-only on some objects, and the day's start
    only widens the window."""
    modified = {"field": modified_field, "op": "greaterthanorequalto", "value": time.filter_timestamp(start)}
    if not created_field:
        return modified
    never_modified = {
        "and": [
            {"field": modified_field, "op": "isnull"},
            {"field": created_field, "op": "greaterthanorequalto", "value": time.filter_date(start)},
        ]
    }
    return {"or": [modified, never_modified]}


def watermark_scope(request_filter: Mapping[str, Any] | None) -> str:
    """Whose watermark a run continues from and advances: ``""``, the object's, for a run without a
    request filter; else its filter's own, ``filter-<sha256 of the filter's JSON, 16 hex>``. A filtered
    run reads only what its filter matches, so its newest change says nothing of the other records: it
    must neither move the object's watermark nor read from it. (The catalogue's filter is part of the
    object: it is in every run of it, and is not a request filter.)"""
    if not request_filter:
        return ""
    canonical = json.dumps(request_filter, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "filter-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def combine_filters(*filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """AND together the filters that are present (JSON form)."""
    present = [f for f in filters if f]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return {"and": present}
