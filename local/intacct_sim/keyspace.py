"""Which records exist and when they were created and changed, as pure functions of a slot index.

Every object owns a sequence of candidate slots; slot ``i`` holds key ``start + i * stride`` unless it is
a gap (about 9 % are: records deleted long ago, which AUDITHISTORY remembers). Creation times rise with the
slot, modification times follow from hashes of it. Because all of this is closed form, an object's
records are materialised only when the object is first queried, and AUDITHISTORY can sample any object's
keys and times without building that object at all.

Line objects (invoice lines, journal entry lines...) hang off their header's slots: header slot ``h`` owns
line slots ``h * stride + j`` for ``j < lines(h)``; lines of a deleted header are deleted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from .hashing import below, stream, uniform
from .timeutil import NULL_TIME, utc_to_local_naive

# Generated history spans these UTC instants; run-time changes happen "now", after all of it.
HISTORY_START = int(datetime(2015, 1, 1, tzinfo=UTC).timestamp())
HISTORY_END = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
BULK_UPDATE_AT = HISTORY_END - 30 * 86_400
GAP_SHARE = 0.09  # slots that are gaps (deleted records)
CHANGED_SHARE = 0.55  # records modified after creation


@dataclass
class Materialised:
    """The existing records of an object, in key order (arrays share one length)."""

    slot: np.ndarray  # slot index (int64)
    key: np.ndarray  # RECORDNO / id (int64)
    created_utc: np.ndarray
    modified_utc: np.ndarray  # NULL_TIME for records never modified
    entity: np.ndarray  # entity code (int32)
    private: np.ndarray  # owned by that entity (True) or a top-level record (False)
    header_slot: np.ndarray | None = None  # line objects: the header's slot
    line_no: np.ndarray | None = None  # line objects: 1-based line number within the header

    @property
    def n(self) -> int:
        return len(self.key)


class KeySpace:
    """Slots of a header or standalone object holding exactly ``count`` records."""

    def __init__(
        self,
        seed: int,
        name: str,
        count: int,
        entities: int,
        start_key: int | None = None,
        never_modified: float = 0.0,
        top_level: float = 0.0,
    ) -> None:
        self.seed = seed
        self.top_level = top_level
        self.never_modified = never_modified
        self.name = name
        self.count = count
        self.entities = max(1, entities)
        self._salt = stream(name, "keys")
        self.start = (
            start_key if start_key is not None else 1 + int(below(seed, self._salt, np.zeros(1), 59)[0])
        )
        self.stride = 1
        # The smallest slot range holding `count` non-gap slots (vectorised, chunk by chunk).
        size, found = 0, 0
        while found < count:
            chunk = max(1024, int((count - found) / (1 - GAP_SHARE) * 1.05) + 64)
            present = self.present(np.arange(size, size + chunk, dtype=np.int64))
            cumulative = np.cumsum(present)
            if found + int(cumulative[-1]) >= count:
                size += int(np.searchsorted(cumulative, count - found)) + 1
                found = count
            else:
                size += chunk
                found += int(cumulative[-1])
        self.slots = size
        bulk = min(2500, count // 10)
        self.bulk_share = bulk / count if count else 0.0

    # ----- closed forms -------------------------------------------------------------------------

    def present(self, slot: np.ndarray) -> np.ndarray:
        """Slots holding a record (not a gap)."""
        return uniform(self.seed, self._salt ^ 1, slot) >= GAP_SHARE

    def key(self, slot: np.ndarray) -> np.ndarray:
        return self.start + slot * self.stride

    def created_utc(self, slot: np.ndarray) -> np.ndarray:
        span = (HISTORY_END - HISTORY_START) * 0.98
        step = span / max(1, self.slots)
        jitter = uniform(self.seed, self._salt ^ 2, slot) * 0.9
        return (HISTORY_START + (slot + jitter) * step).astype(np.int64)

    def never_modified_mask(self, slot: np.ndarray) -> np.ndarray:
        """Records created and never modified: their WHENMODIFIED is empty (NULL)."""
        return uniform(self.seed, self._salt ^ 7, slot) < self.never_modified

    def modified_utc(self, slot: np.ndarray) -> np.ndarray:
        """Modification times; NULL_TIME for records never modified."""
        created = self.created_utc(slot)
        changed = uniform(self.seed, self._salt ^ 3, slot) < CHANGED_SHARE
        later = created + (uniform(self.seed, self._salt ^ 4, slot) * (HISTORY_END - created)).astype(
            np.int64
        )
        modified = np.where(changed, later, created)
        # A bulk update: many records share one WHENMODIFIED second (keyset paging must tie-break).
        bulk = (uniform(self.seed, self._salt ^ 5, slot) < self.bulk_share) & (created < BULK_UPDATE_AT)
        modified = np.where(bulk, BULK_UPDATE_AT, modified)
        return np.where(self.never_modified_mask(slot) & ~bulk, NULL_TIME, modified)

    def entity(self, slot: np.ndarray) -> np.ndarray:
        return below(self.seed, self._salt ^ 6, slot, self.entities).astype(np.int32)

    def private(self, slot: np.ndarray) -> np.ndarray:
        """Records owned by an entity (the rest were created at the top level: MEGAENTITY* empty)."""
        return uniform(self.seed, self._salt ^ 8, slot) >= self.top_level

    # ----- sets of records ----------------------------------------------------------------------

    def present_slots(self) -> np.ndarray:
        slots = np.arange(self.slots, dtype=np.int64)
        return slots[self.present(slots)]

    def gap_slots(self) -> np.ndarray:
        slots = np.arange(self.slots, dtype=np.int64)
        return slots[~self.present(slots)]

    def materialise(self) -> Materialised:
        slot = self.present_slots()
        return Materialised(
            slot=slot,
            key=self.key(slot),
            created_utc=self.created_utc(slot),
            modified_utc=self.modified_utc(slot),
            entity=self.entity(slot),
            private=self.private(slot),
        )


class LineSpace:
    """Line slots hanging off a header KeySpace: header slot h owns ``lines(h)`` consecutive keys."""

    def __init__(self, seed: int, name: str, header: KeySpace, lines: tuple[int, int]) -> None:
        self.seed = seed
        self.name = name
        self.header = header
        self.low, self.high = lines
        self._salt = stream(name, "lines")
        self.stride = self.high + 1  # one spare key per header: lines are not contiguous across headers
        self.start = 1 + int(below(seed, self._salt, np.zeros(1), 997)[0]) * 10
        self.slots = header.slots * self.stride

    def lines(self, header_slot: np.ndarray) -> np.ndarray:
        return self.low + below(self.seed, self._salt ^ 1, header_slot, self.high - self.low + 1)

    def split(self, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(header slot, 0-based line index) of line slots."""
        return slot // self.stride, slot % self.stride

    def present(self, slot: np.ndarray) -> np.ndarray:
        header_slot, j = self.split(slot)
        return self.header.present(header_slot) & (j < self.lines(header_slot))

    def key(self, slot: np.ndarray) -> np.ndarray:
        return self.start + slot

    def created_utc(self, slot: np.ndarray) -> np.ndarray:
        header_slot, j = self.split(slot)
        return self.header.created_utc(header_slot) + j

    def modified_utc(self, slot: np.ndarray) -> np.ndarray:
        header_slot, j = self.split(slot)
        created = self.header.created_utc(header_slot)
        modified = self.header.modified_utc(header_slot)
        return np.where(modified == created, created + j, modified)  # NULL stays NULL (lines follow)

    def entity(self, slot: np.ndarray) -> np.ndarray:
        return self.header.entity(self.split(slot)[0])

    def private(self, slot: np.ndarray) -> np.ndarray:
        return self.header.private(self.split(slot)[0])

    @property
    def count(self) -> int:
        return int(self.lines(self.header.present_slots()).sum())

    def materialise(self) -> Materialised:
        header_slots = self.header.present_slots()
        counts = self.lines(header_slots)
        header_slot = np.repeat(header_slots, counts)
        starts = np.cumsum(counts) - counts
        j = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
        slot = header_slot * self.stride + j
        return Materialised(
            slot=slot,
            key=self.key(slot),
            created_utc=self.created_utc(slot),
            modified_utc=self.modified_utc(slot),
            entity=self.entity(slot),
            private=self.private(slot),
            header_slot=header_slot,
            line_no=j + 1,
        )

    def gap_slots(self) -> np.ndarray:
        """Lines of deleted headers."""
        gaps = self.header.gap_slots()
        counts = self.lines(gaps)
        header_slot = np.repeat(gaps, counts)
        starts = np.cumsum(counts) - counts
        j = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
        return header_slot * self.stride + j


Space = KeySpace | LineSpace


def to_local(utc: np.ndarray, tz: ZoneInfo, date_only: bool = False) -> np.ndarray:
    """UTC seconds as tenant wall-clock naive seconds (midnight of the day when ``date_only``);
    NULL_TIME stays NULL_TIME."""
    nulls = utc == NULL_TIME
    local = utc_to_local_naive(np.where(nulls, HISTORY_START, utc), tz)
    if date_only:
        local = local // 86_400 * 86_400
    return np.where(nulls, NULL_TIME, local)
