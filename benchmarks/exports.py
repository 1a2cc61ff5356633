"""Whole exports: intacct-sync through the real local state machine, and sageintacctsdk's get_all_generator.

Both talk to the same simulator process. intacct-sync runs on the local runner (moto executes
statemachine/export.asl.json, Lambda tasks run the real handlers in this process); each pipeline first
runs a one-page warm-up export, so handlers are imported and a session is cached as in a warm
deployment, and the measured exports cost exactly their ``query`` pages.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intacct_sim.process import SIM_CREDENTIALS, SIM_ENV, SimulatorProcess

PAGE_SIZE = 2000
OBJECT = "CUSTOMER"
# A typical customer-master extract (12 of the simulator's 48 CUSTOMER fields). Every benchmark names
# its fields, so no run spends a `lookup`; the "all fields" cost per page is measured separately.
BENCH_FIELDS = (
    "RECORDNO",
    "CUSTOMERID",
    "NAME",
    "ENTITY",
    "STATUS",
    "CUSTTYPE",
    "CURRENCY",
    "TOTALDUE",
    "CREDITLIMIT",
    "TERMNAME",
    "WHENCREATED",
    "WHENMODIFIED",
)
WARM_UP_FILTER = {"field": "RECORDNO", "op": "lessthan", "value": "1000"}


def floor_seconds(records: int, latency_ms: float, concurrency: int, page_size: int = PAGE_SIZE) -> float:
    """No export can beat ceil(N / page size) calls of latency L, C at a time."""
    return math.ceil(records / page_size) * latency_ms / 1000 / concurrency


def load_average() -> float:
    """The one-minute load average (other work on the machine skews wall times)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


@dataclass
class ExportRow:
    """One intacct-sync export."""

    records: int
    latency_ms: float
    concurrency: int
    status: str
    seconds: float
    records_written: int
    transactions: int
    by_function: dict[str, int]
    peak_concurrency: int
    reconciled: bool
    load_before: float
    load_after: float
    error: str | None = None
    page_size: int = PAGE_SIZE

    @property
    def floor(self) -> float:
        return floor_seconds(self.records, self.latency_ms, self.concurrency, self.page_size)

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor if self.floor > 0 else None

    @property
    def queries(self) -> int:
        return self.by_function.get("query", 0)

    @property
    def records_per_second(self) -> float:
        return self.records_written / self.seconds if self.seconds else 0.0


@dataclass
class SdkRow:
    """The same export with sageintacctsdk (sequential: it has no concurrency)."""

    records: int
    latency_ms: float
    seconds: float
    records_written: int
    transactions: int
    by_function: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def records_per_second(self) -> float:
        return self.records_written / self.seconds if self.seconds else 0.0


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _execution_seconds(pipeline: Any, run_id: str, fallback: float) -> float:
    """The execution's own start-to-stop time (the runner polls every 0.2 s, so its clock is coarser)."""
    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    for item in sfn.list_executions(stateMachineArn=pipeline.stack.state_machine_arn)["executions"]:
        if item["name"] == run_id and item.get("stopDate") and item.get("startDate"):
            return float((item["stopDate"] - item["startDate"]).total_seconds())
    return fallback


def export_rows(
    sim: SimulatorProcess,
    records: int,
    latencies: Sequence[float],
    concurrency: int,
    fields: Sequence[str],
    log: Callable[[str], None] = print,
) -> list[ExportRow]:
    """One pipeline at tenant concurrency C; one export per latency (after a warm-up export)."""
    from intacct_local.runner import RunOptions, local_pipeline

    rows: list[ExportRow] = []
    options = RunOptions(
        object=OBJECT,
        records=records,
        page_size=PAGE_SIZE,
        concurrency=concurrency,
        gateway_url=sim.url,
        out=None,
        quiet=True,
        fields=list(fields),
    )
    with _environment(SIM_ENV), local_pipeline(options) as pipeline:
        sim.configure(latency_ms=0, concurrency_limit=concurrency)
        warm = pipeline.export({"object": OBJECT, "fields": list(fields), "filter": WARM_UP_FILTER})
        if warm.status != "SUCCEEDED":
            raise RuntimeError(f"warm-up export failed: {warm.error}")
        for latency in latencies:
            sim.configure(latency_ms=latency)
            sim.reset_stats()
            load_before = load_average()
            result = pipeline.export()
            stats = sim.stats()
            manifest = result.manifest or {}
            row = ExportRow(
                records=records,
                latency_ms=latency,
                concurrency=concurrency,
                status=result.status,
                seconds=_execution_seconds(pipeline, result.run_id, result.seconds),
                records_written=int(manifest.get("records_written", 0)),
                transactions=int(stats["transactions"]),
                by_function=dict(stats["transactions_by_function"]),
                peak_concurrency=int(stats["peak_concurrency"]),
                reconciled=bool(manifest.get("reconciled", False)),
                load_before=load_before,
                load_after=load_average(),
                error=result.error,
            )
            rows.append(row)
            ratio = f"{row.ratio:.2f}x floor" if row.ratio is not None else "no floor at L=0"
            log(
                f"  intacct-sync N={records:,} L={latency:g}ms C={concurrency}: {row.status} "
                f"{row.seconds:.2f}s ({ratio}), {row.transactions} transactions"
            )
    return rows


def sdk_row(sim: SimulatorProcess, records: int, latency_ms: float, fields: Sequence[str]) -> SdkRow:
    """sageintacctsdk's Customers.get_all_generator, pages landed as gzip NDJSON files like ours.

    The SDK hard-codes its gateway in the name-mangled ``_ApiBase__api_url``; pointing it at the
    simulator is the only change (it moves to the session's endpoint after login by itself).
    """
    from sageintacctsdk.apis.customers import Customers

    sim.configure(latency_ms=latency_ms, concurrency_limit=None)
    sim.reset_stats()
    written = 0
    error = None
    started = time.monotonic()
    try:
        api = Customers()
        api.set_sender_id(SIM_CREDENTIALS["sender_id"])
        api.set_sender_password(SIM_CREDENTIALS["sender_password"])
        api.set_show_private(True)  # the same records as ours: entity-owned ones included
        api._ApiBase__api_url = sim.url
        api.get_session_id(
            SIM_CREDENTIALS["user_id"], SIM_CREDENTIALS["company_id"], SIM_CREDENTIALS["user_password"]
        )
        with tempfile.TemporaryDirectory(prefix="bench-sdk-") as tmp:
            for number, page in enumerate(api.get_all_generator(fields=list(fields))):
                rows = page if isinstance(page, list) else [page]  # xmltodict: one record is a dict
                lines = "\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
                body = gzip.compress((lines + "\n").encode("utf-8"), mtime=0)
                (Path(tmp) / f"part-{number:06d}.ndjson.gz").write_bytes(body)
                written += len(rows)
    except Exception as exc:  # report, do not abort the other benchmarks
        error = f"{type(exc).__name__}: {exc}"[:300]
    seconds = time.monotonic() - started
    stats = sim.stats()
    return SdkRow(
        records=records,
        latency_ms=latency_ms,
        seconds=seconds,
        records_written=written,
        transactions=int(stats["transactions"]),
        by_function=dict(stats["transactions_by_function"]),
        error=error,
    )
