"""BatchedLedger: every charge and every landed page is written, in fewer writes than calls, by close."""

from __future__ import annotations

import threading

import pytest

from intacct_sync.export.ledger import BatchedLedger


class _Writes:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[tuple[str, int]] = []  # (run, transactions) of each write
        self.counts: list[tuple[str, dict[str, int]]] = []
        self.fail_on = fail_on
        self.first = threading.Event()

    def __call__(self, run_id: str, counts: dict[str, int]) -> None:
        self.calls.append((run_id, counts.get("transactions", 0)))
        self.counts.append((run_id, dict(counts)))
        self.first.set()
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise ConnectionError("DynamoDB unreachable")

    def total(self, run_id: str, name: str = "transactions") -> int:
        return sum(counts.get(name, 0) for run, counts in self.counts if run == run_id)


def test_every_charge_is_written_in_batches_by_close() -> None:
    # Given a ledger whose interval is longer than the Task
    writes = _Writes()
    ledger = BatchedLedger(writes, interval=60)
    # When a Task charges 500 calls to one run and 3 to another
    for _ in range(500):
        ledger.record("run-a", 1)
    for _ in range(3):
        ledger.record("run-b", 2)
    ledger.record("run-a", 0)  # a call that cost nothing is not a write
    error = ledger.close()
    # Then the totals are exact, written in a handful of writes, not one per call
    assert error is None
    assert writes.total("run-a") == 500
    assert writes.total("run-b") == 6
    assert len(writes.calls) <= 4
    assert all(count > 0 for _, count in writes.calls)


def test_the_first_charge_is_written_without_waiting_for_close() -> None:
    writes = _Writes()
    ledger = BatchedLedger(writes, interval=60)
    ledger.record("run-a", 1)
    # The ledger lags by at most an interval, and the first write is not delayed at all.
    assert writes.first.wait(timeout=5)
    assert writes.counts == [("run-a", {"transactions": 1})]
    assert ledger.close() is None


def test_charges_made_during_a_write_go_out_together_in_the_next_one_before_close() -> None:
    # Given a ledger whose first write is held up (DynamoDB slow)
    writes = _Writes()
    release, second = threading.Event(), threading.Event()
    original = writes.__call__

    def slow_first(run_id: str, counts: dict[str, int]) -> None:
        original(run_id, counts)
        if len(writes.calls) == 1:
            release.wait(timeout=10)
        else:
            second.set()

    ledger = BatchedLedger(slow_first, interval=0)
    ledger.record("run-a", 1)
    assert writes.first.wait(timeout=10)
    # When 19 more calls are charged meanwhile
    for _ in range(19):
        ledger.record("run-a", 1)
    release.set()
    # Then they go out as one write while the Task runs, not one per call and not only at close
    assert second.wait(timeout=10)
    assert writes.calls == [("run-a", 1), ("run-a", 19)]
    assert ledger.close() is None
    assert writes.total("run-a") == 20


def test_a_failed_write_is_returned_by_close_and_later_charges_still_written() -> None:
    writes = _Writes(fail_on=1)
    ledger = BatchedLedger(writes, interval=0)
    ledger.record("run-a", 1)
    assert writes.first.wait(timeout=5)
    ledger.record("run-a", 2)
    error = ledger.close()
    assert isinstance(error, ConnectionError)
    assert writes.calls[-1] == ("run-a", 2)


def test_no_charge_after_close() -> None:
    ledger = BatchedLedger(_Writes())
    assert ledger.close() is None
    with pytest.raises(RuntimeError, match="closed"):
        ledger.record("run-a", 1)


def test_pages_and_transactions_of_a_run_share_its_writes() -> None:
    # Given a Task that charges a call and lands its page, 40 times
    writes = _Writes()
    ledger = BatchedLedger(writes, interval=60)
    for _ in range(40):
        ledger.record("run-a", 1)
        ledger.record_pages("run-a", 1, 2000)
    assert ledger.close() is None
    # Then the run's three counters are exact, and travel together in a couple of writes
    assert (writes.total("run-a"), writes.total("run-a", "pages"), writes.total("run-a", "records")) == (
        40,
        40,
        80_000,
    )
    assert len(writes.counts) <= 3
    assert any(set(counts) == {"transactions", "pages", "records"} for _, counts in writes.counts)
