"""Accounting of gateway traffic (``GET /__sim__/stats``)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Counters, all guarded by one lock.

    A *transaction* is one ``<function>`` the gateway executed (success or function-level failure);
    requests rejected before execution (control/auth failure, 401, 429, faults injected before
    execution) add none. ``peak_concurrency`` counts every gateway request in flight, including one
    that is being rejected with 429, so it shows how concurrent the client really was.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Zero every counter (requests in flight stay tracked)."""
        with self._lock:
            self.transactions = 0
            self.by_function: Counter[str] = Counter()
            self.http_requests = 0
            self.faults: Counter[str] = Counter()
            self.peak_concurrency = self.in_flight
            self.statuses: Counter[str] = Counter()
            self.sessions_created = 0
            self.records_returned = 0
            self.mutations: Counter[str] = Counter()

    def enter(self) -> int:
        """A gateway request arrived; returns how many are in flight including it."""
        with self._lock:
            self.http_requests += 1
            self.in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self.in_flight)
            return self.in_flight

    def leave(self) -> None:
        """A gateway request finished (answered, rejected or dropped)."""
        with self._lock:
            self.in_flight -= 1

    def transaction(self, function: str, records: int) -> None:
        """One executed function and the records it returned."""
        with self._lock:
            self.transactions += 1
            self.by_function[function] += 1
            self.records_returned += records

    def fault(self, kind: str) -> None:
        """An injected fault fired."""
        with self._lock:
            self.faults[kind] += 1

    def status(self, code: int) -> None:
        """An HTTP response was sent with this status."""
        with self._lock:
            self.statuses[str(code)] += 1

    def session_created(self) -> None:
        """getAPISession created a session."""
        with self._lock:
            self.sessions_created += 1

    def mutated(self, kind: str, count: int) -> None:
        """Records inserted/updated/deleted by mutations_per_query or /__sim__/mutate."""
        with self._lock:
            self.mutations[kind] += count

    def snapshot(self) -> dict[str, Any]:
        """The JSON document of ``GET /__sim__/stats``."""
        with self._lock:
            return {
                "transactions": self.transactions,
                "transactions_by_function": dict(self.by_function),
                "http_requests": self.http_requests,
                "faults_injected": dict(self.faults),
                "peak_concurrency": self.peak_concurrency,
                "responses_by_status": dict(self.statuses),
                "sessions_created": self.sessions_created,
                "records_returned": self.records_returned,
                "in_flight": self.in_flight,
                "mutations": dict(self.mutations),
            }
