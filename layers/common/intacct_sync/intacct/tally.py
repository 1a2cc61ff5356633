"""Counting billed Intacct transactions: every function the gateway executed is one."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class TransactionTally:
    """Transactions counted by one ``TransactionCounter.tally()`` block."""

    by_function: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """All transactions counted in the block."""
        return sum(self.by_function.values())


class TransactionCounter:
    """Executed (billed) functions by name, overall and per ``tally()`` block of the calling thread."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._tallies = threading.local()

    def count(self, function: str) -> None:
        """One executed ``function``: counted overall and in every open tally of this thread."""
        with self._lock:
            self._counts[function] += 1
        for tally in self._tallies.__dict__.get("active", ()):
            tally.by_function[function] += 1

    @property
    def counts(self) -> Counter[str]:
        """A copy of the counts since creation."""
        with self._lock:
            return Counter(self._counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    @contextmanager
    def tally(self) -> Iterator[TransactionTally]:
        """Count the transactions this thread runs inside the ``with`` block (logins included).

        Tallies are per thread, so concurrent calls on a shared client are not mixed up; they nest.
        """
        tally = TransactionTally()
        active: list[TransactionTally] = self._tallies.__dict__.setdefault("active", [])
        active.append(tally)
        try:
            yield tally
        finally:
            active.remove(tally)
