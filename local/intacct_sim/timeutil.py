"""Tenant-local time handling.

Intacct stores WHENCREATED/WHENMODIFIED as naive wall-clock values in the tenant's time zone and renders
them as ``MM/DD/YYYY HH:MM:SS``. The simulator keeps them the same way: int64 "naive seconds" (the local
wall-clock time read as if it were UTC). Comparisons and ordering therefore happen on wall-clock values,
exactly like the real service, including the repeated hour when daylight saving time ends.
"""

from __future__ import annotations

import calendar
import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

# Marks a NULL timestamp inside an int64 column (smaller than every real value).
NULL_TIME = np.iinfo(np.int64).min


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
