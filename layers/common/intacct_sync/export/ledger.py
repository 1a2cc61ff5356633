"""A run's counters written in batches: the page Task's ledger of transactions charged and pages landed,
kept off the hot path (one background thread) and written through whatever ``write`` is given (the state
table's ``record_run``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from intacct_sync.observability import logger


class BatchedLedger:
    """A run's counters — transactions charged, pages and records landed — written through ``write``
    (``StateTable.record_run``) from one background thread, adding up what arrives while a write is
    made or its interval has not passed.

    A page Task makes a call and lands a page every few hundred milliseconds; writing the ledger and the
    progress each time would cost more DynamoDB requests than Intacct calls. At most one write per run
    every ``interval`` seconds (the first straight away) keeps the ledger and the progress that status
    queries and the local progress bar read at most that far behind (the monthly budget is checked when
    an export starts, so seconds do not matter), and ``close`` writes the rest before the Task returns
    and gives back the first failed write, if any.
    """

    def __init__(self, write: Callable[[str, dict[str, int]], None], interval: float = 2.0) -> None:
        self._write = write
        self._interval = interval
        self._pending: dict[str, dict[str, int]] = {}
        self._changed = threading.Condition()
        self._closed = False
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
        self._thread.start()

    def record(self, run_id: str, count: int) -> None:
        """Charge ``count`` transactions (a ``tenant.TenantIntacct.charged`` recorder)."""
        self._add(run_id, transactions=count)

    def record_pages(self, run_id: str, pages: int, records: int) -> None:
        """Progress: pages and records landed (a ``fetch_pages`` progress sink)."""
        self._add(run_id, pages=pages, records=records)

    def _add(self, run_id: str, **counts: int) -> None:
        if not any(count > 0 for count in counts.values()):
            return
        with self._changed:
            if self._closed:
                raise RuntimeError("the ledger is closed")
            pending = self._pending.setdefault(run_id, {})
            for name, count in counts.items():
                pending[name] = pending.get(name, 0) + count
            self._changed.notify()

    def close(self) -> Exception | None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join()
        return self._error

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                batch, self._pending = self._pending, {}
            for run_id, counts in batch.items():
                try:
                    self._write(run_id, counts)
                except Exception as exc:  # handed to close(), in the Task's own thread
                    error = type(exc).__name__
                    logger.warning("could not write the run's counters", extra={"error": error})
                    self._error = self._error or exc
            with self._changed:
                self._changed.wait_for(lambda: self._closed, timeout=self._interval)
