"""Tenant-local time handling.

Intacct stores WHENCREATED/WHENMODIFIED as naive wall-clock values in the tenant's time zone and renders
them as ``MM/DD/YYYY HH:MM:SS``. The simulator keeps them the same way: int64 "naive seconds" (the local
wall-clock time read as if it were UTC). Comparisons and ordering therefore happen on wall-clock values,
exactly like the real service, including the repeated hour when daylight saving time ends.
"""

from __future__ import annotations

import calendar
import functools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

# Marks a NULL timestamp inside an int64 column (smaller than every real value).
NULL_TIME = np.iinfo(np.int64).min

_DATETIME_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_intacct_datetime(text: str) -> int:
    """Parse ``MM/DD/YYYY`` or ``MM/DD/YYYY HH:MM[:SS]`` into naive seconds; raise ValueError otherwise."""
    match = _DATETIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a date in MM/DD/YYYY [HH:MM:SS] format")
    month, day, year, hour, minute, second = match.groups()
    value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    return calendar.timegm(value.timetuple())


def format_naive(seconds: np.ndarray, date_only: bool = False) -> list[str]:
    """Render naive seconds as Intacct strings; NULL_TIME becomes ''."""
    if len(seconds) == 0:
        return []
    nulls = seconds == NULL_TIME
    iso = np.datetime_as_string(np.where(nulls, 0, seconds).astype("datetime64[s]"), unit="s")
    if date_only:
        out = [f"{s[5:7]}/{s[8:10]}/{s[0:4]}" for s in iso.tolist()]
    else:
        out = [f"{s[5:7]}/{s[8:10]}/{s[0:4]} {s[11:19]}" for s in iso.tolist()]
    if nulls.any():
        for i in np.flatnonzero(nulls).tolist():
            out[i] = ""
    return out


def format_one(seconds: int, date_only: bool = False) -> str:
    """Render a single naive-seconds value."""
    return format_naive(np.array([seconds], dtype=np.int64), date_only)[0]


def utc_to_local_naive(utc_seconds: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """Convert UTC epoch seconds to tenant wall-clock naive seconds, vectorised.

    Offsets are found per DST period (probing zoneinfo once per day, then bisecting to the exact
    transition second) and applied with searchsorted, so a million values convert in milliseconds.
    """
    if len(utc_seconds) == 0:
        return utc_seconds.astype(np.int64)
    day = 86_400
    lo, hi = int(utc_seconds.min()) // day * day, (int(utc_seconds.max()) // day + 1) * day
    starts, offsets = _offset_periods(lo, hi, tz)
    idx = np.searchsorted(np.asarray(starts, dtype=np.int64), utc_seconds, side="right") - 1
    return utc_seconds + np.asarray(offsets, dtype=np.int64)[idx]


def _offset(tz: ZoneInfo, utc_second: int) -> int:
    delta = datetime.fromtimestamp(utc_second, UTC).astimezone(tz).utcoffset() or timedelta(0)
    return int(delta.total_seconds())


@functools.lru_cache(maxsize=64)
def _offset_periods(lo: int, hi: int, tz: ZoneInfo) -> tuple[list[int], list[int]]:
    """Start seconds and UTC offsets of each constant-offset period covering [lo, hi].

    Probes every 3 days (no zone changes its offset twice within that), bisects each change.
    """
    starts, offsets = [lo], [_offset(tz, lo)]
    step = 3 * 86_400
    t = lo
    while t < hi:
        nxt = min(t + step, hi)
        if _offset(tz, nxt) != offsets[-1]:
            a, b = t, nxt  # offset(a) == current, offset(b) differs: bisect the transition
            while b - a > 1:
                mid = (a + b) // 2
                if _offset(tz, mid) == offsets[-1]:
                    a = mid
                else:
                    b = mid
            starts.append(b)
            offsets.append(_offset(tz, b))
        t = nxt
    return starts, offsets


def now_naive(tz: ZoneInfo) -> int:
    """Current tenant wall-clock time as naive seconds."""
    local = datetime.now(tz).replace(tzinfo=None)
    return calendar.timegm(local.timetuple())


def iso_with_offset(moment: datetime, tz: ZoneInfo) -> str:
    """ISO-8601 with UTC offset in the tenant zone, e.g. ``2015-12-06T15:57:08-08:00``."""
    return moment.astimezone(tz).isoformat(timespec="seconds")
