"""The DynamoDB state table: tenant concurrency leases, transaction ledger, run progress and watermarks.

One table, one string partition key `pk`:
  lease#<tenant>#<slot>      a concurrency slot held by one in-flight Intacct call
  run#<run_id>               progress of one export (transactions, pages, records)
  month#<YYYY-MM>            Intacct transactions used this calendar month (UTC)
  watermark#<object>#<entity> the last incremental watermark (UTC ISO-8601)
  object#<object>            what the last complete export saw (for budget estimates)
  sync#<object>              when a sync last started the object's run, and which run
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from intacct_sync.observability import logger

_RUN_TTL_SECONDS = 90 * 86400


def _is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class TenantSemaphore:
    """At most `limit` Intacct calls in flight for a tenant, across every export and every worker.

    Slots are separate items claimed with a conditional write; a slot whose holder crashed is
    reclaimed once its lease expires, so a lost Lambda cannot block the tenant for longer than that.
    """

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        tenant: str,
        limit: int,
        lease_seconds: int = 300,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 600.0,
    ) -> None:
        self._db, self._table, self._tenant, self._limit = dynamodb, table, tenant, limit
        self._lease, self._clock, self._sleep, self._max_wait = lease_seconds, clock, sleep, max_wait_seconds
        self._last_slot = threading.local()

    def _try_claim(self, owner: str) -> str | None:
        now = self._clock()
        order = random.sample(range(self._limit), self._limit)
        # A worker paging back to back most likely finds free the slot it released a moment ago; trying it
        # first saves the conditional writes that probing slots other workers hold would cost per call.
        last = getattr(self._last_slot, "slot", None)
        if last in order:
            order.remove(last)
            order.insert(0, last)
        for slot in order:
            pk = f"lease#{self._tenant}#{slot}"
            try:
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": pk},
                        "owner": {"S": owner},
                        "expires_at": {"N": str(now + self._lease)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
                self._last_slot.slot = slot
                return pk
            except ClientError as exc:
                if not _is_conditional_failure(exc):
                    raise
        return None

    @contextmanager
    def slot(self, max_wait: float | None = None) -> Iterator[None]:
        """Hold one slot for the duration of the block; wait (with jittered backoff) until one is free,
        at most ``max_wait`` seconds (default: the semaphore's), then raise TimeoutError."""
        owner = uuid.uuid4().hex
        wait = self._max_wait if max_wait is None else min(self._max_wait, max_wait)
        deadline = self._clock() + wait
        delay = 0.05
        while (pk := self._try_claim(owner)) is None:
            if self._clock() > deadline:
                raise TimeoutError(f"no Intacct concurrency slot free for {wait:.0f} s")
            self._sleep(random.uniform(0, delay))
            delay = min(delay * 2, 2.0)
        try:
            yield
        finally:
            try:
                self._db.delete_item(
                    TableName=self._table,
                    Key={"pk": {"S": pk}},
                    ConditionExpression="#o = :owner",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":owner": {"S": owner}},
                )
            except ClientError as exc:
                if not _is_conditional_failure(exc):  # expired and taken over: nothing to release
                    raise


def _month(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


class StateTable:
    """Ledger, progress and watermarks; every write is a single atomic DynamoDB update."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db, self._table = dynamodb, table

    def _add(self, pk: str, counts: dict[str, int], extra: dict[str, Any] | None = None) -> None:
        names = {f"#c{i}": k for i, k in enumerate(counts)}
        values: dict[str, Any] = {f":c{i}": {"N": str(v)} for i, v in enumerate(counts.values())}
        expr = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        if extra:
            sets = []
            for j, (k, v) in enumerate(extra.items()):
                names[f"#e{j}"] = k
                values[f":e{j}"] = v
                sets.append(f"#e{j} = if_not_exists(#e{j}, :e{j})")
            expr += " SET " + ", ".join(sets)
        self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": pk}},
            UpdateExpression=expr,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def record_transactions(self, run_id: str, count: int) -> None:
        """Charge `count` Intacct transactions to the run and to this month's ledger."""
        self.record_run(run_id, {"transactions": count})

    def record_run(self, run_id: str, counts: Mapping[str, int]) -> None:
        """Add to a run's counters (``transactions``, ``pages``, ``records``) in one write; transactions
        are charged to this month's ledger too."""
        added = {name: count for name, count in counts.items() if count > 0}
        if not added:
            return
        ttl = {"expires_ttl": {"N": str(int(time.time()) + _RUN_TTL_SECONDS)}}
        self._add(f"run#{run_id}", added, ttl)
        if added.get("transactions"):
            self._add(f"month#{_month()}", {"transactions": added["transactions"]})

    def record_total(self, run_id: str, total: int) -> None:
        """The number of matching records Intacct reported on the run's first page."""
        self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"run#{run_id}"}},
            UpdateExpression="SET total_count = :t",
            ExpressionAttributeValues={":t": {"N": str(total)}},
        )

    def run_progress(self, run_id: str) -> dict[str, int]:
        """Transactions, pages, records (and total_count, -1 until known) recorded so far for a run."""
        item = self._get(f"run#{run_id}")
        progress = {k: int(item.get(k, {}).get("N", "0")) for k in ("transactions", "pages", "records")}
        progress["total_count"] = int(item.get("total_count", {}).get("N", "-1"))
        return progress

    def month_transactions(self, now: datetime | None = None) -> int:
        """Intacct transactions used in the current calendar month (UTC)."""
        return int(self._get(f"month#{_month(now)}").get("transactions", {}).get("N", "0"))

    def _get(self, pk: str) -> dict[str, Any]:
        response = self._db.get_item(TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        item: dict[str, Any] = response.get("Item", {})
        return item

    @staticmethod
    def _watermark_key(object_name: str, entity: str | None, scope: str) -> str:
        return f"watermark#{object_name}#{entity or '-'}" + (f"#{scope}" if scope else "")

    def watermark(self, object_name: str, entity: str | None, scope: str = "") -> str | None:
        """The stored incremental watermark (UTC ISO-8601), or None before the first complete export.
        ``scope``: "" for the object's (runs without a request filter), else a request filter's own
        (``export.window.watermark_scope``), which only runs with that filter read and advance."""
        item = self._get(self._watermark_key(object_name, entity, scope))
        value = item.get("value", {}).get("S")
        return str(value) if value else None

    def set_watermark(
        self, object_name: str, entity: str | None, value: str, run_id: str, scope: str = ""
    ) -> None:
        """Advance the watermark of ``scope``; called only after the run's manifest is written."""
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": self._watermark_key(object_name, entity, scope)},
                "value": {"S": value},
                "run_id": {"S": run_id},
                "updated_at": {"S": datetime.now(UTC).isoformat()},
            },
        )
        logger.info(
            "watermark advanced",
            extra={"object": object_name, "entity": entity, "watermark": value, "scope": scope or None},
        )

    def last_total(self, object_name: str) -> int | None:
        """The record count seen by the object's last complete export, for budget estimates."""
        raw = self._get(f"object#{object_name}").get("total_count", {}).get("N")
        return int(raw) if raw is not None else None

    def set_last_total(self, object_name: str, total: int) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={"pk": {"S": f"object#{object_name}"}, "total_count": {"N": str(total)}},
        )

    def last_sync(self, object_name: str) -> tuple[datetime, str] | None:
        """When a sync last started the object's run (UTC) and that run's id; None if none ever did."""
        item = self._get(f"sync#{object_name}")
        if "started_at" not in item:
            return None
        return datetime.fromisoformat(item["started_at"]["S"]), str(item.get("run_id", {}).get("S", ""))

    def set_last_sync(self, object_name: str, started_at: datetime, run_id: str, sync_id: str) -> None:
        """A sync started the object's run (what makes an object with a frequency due again)."""
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"sync#{object_name}"},
                "started_at": {"S": started_at.isoformat()},
                "run_id": {"S": run_id},
                "sync_id": {"S": sync_id},
            },
        )
