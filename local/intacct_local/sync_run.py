"""`intacct-sync run --all`: the sync of several objects locally — the real sync workflow, which runs the
real export workflow once per object, on emulated AWS against the simulator (or a real gateway).

A line per object as its run ends, then a table: each object's status, records and Intacct transactions,
and the totals; ``--plan`` (a dry run) prints what a full sync would cost instead. A sync with a failed
object exits 1 and says how to rerun only what failed (``--resume-sync``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import boto3

from intacct_local.emulated_aws import REGION, LocalStack
from intacct_local.failures import Failure, explain
from intacct_local.layer import (
    Catalogue,
    ExportExecutions,
    ExportStore,
    ObjectSynced,
    StateTable,
    layout,
    stop_sync,
)
from intacct_local.outdir import OutDir
from intacct_local.runner import (
    RunOptions,
    check_reachable,
    credentials_from_env,
    local_pipeline,
    restorable_prefixes,
)

STOPPED_CAUSE = "stopped by the user"


def new_sync_name() -> str:
    return f"local-sync-{time.time_ns() // 1_000_000}"


@dataclass
class SyncResult:
    status: str  # the sync execution's (SUCCEEDED, FAILED, ABORTED when stopped)
    sync_id: str
    document: dict[str, Any]  # _meta/syncs/<id>.json: objects, then the summary or the plan
    seconds: float
    transactions_seen_by_gateway: int | None = None
    error: str | None = None  # the sync execution's own failure (a bad request), not an object's
    stopped: bool = False
    out: Path | None = None
    log_path: Path | None = None
    files_written: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return list((self.document.get("totals") or {}).get("failed") or [])


def _read_json(stack: LocalStack, key: str) -> dict[str, Any] | None:
    s3 = boto3.client("s3", region_name=REGION)
    with suppress(s3.exceptions.NoSuchKey):
        document: dict[str, Any] = json.loads(s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read())
        return document
    return None


def _watch(
    stack: LocalStack,
    sync_arn: str,
    sync_id: str,
    on_object: Callable[[dict[str, Any]], None],
    stop: threading.Event,
) -> dict[str, Any] | None:
    """Poll the sync until it ends (its description) or `stop` is set (None); `on_object(line)` is called
    once per object as its run ends and is settled (``{"object", "run_id", "status", "manifest",
    "execution_arn", "failure", "seconds", "transactions"}``: the run's own time, from its export
    execution's start to the end of the last execution it continued in, and the Intacct transactions
    this sync spent on it, less what a resumed run had used before)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    exports = ExportExecutions(sfn, stack.state_machine_arn)
    reported: set[str] = set()
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=sync_arn)
        document = _read_json(stack, layout.sync_key(sync_id)) or {}
        for item in document.get("objects", []):
            name = str(item["object"])
            if name in reported:
                continue
            first = exports.describe(str(item["execution"]))
            last = exports.follow(first) if first is not None else None
            if first is None or last is None or last.status == "RUNNING" or last.continued is not None:
                continue
            assert stack.endings is not None  # settled from the status change, as on AWS
            stack.endings.wait(last.arn, timeout=120)
            manifest = _read_json(stack, layout.manifest_key(name, str(item["run_id"])))
            reported.add(name)
            spent = int((manifest or {}).get("intacct_transactions", 0))
            on_object(
                {
                    "object": name,
                    "run_id": item["run_id"],
                    "execution": item["execution"],
                    "execution_arn": last.arn,
                    "status": last.status,
                    "manifest": manifest,
                    "failure": Failure.parse(last.error, last.cause) if last.status != "SUCCEEDED" else None,
                    "seconds": _seconds(first.started_at, last.stopped_at),
                    "transactions": max(0, spent - int(item.get("transactions_before", 0))),
                }
            )
        if described["status"] != "RUNNING":
            return described
        if stop.wait(0.2):
            return None


def _seconds(started: datetime | None, stopped: datetime | None) -> float:
    return (stopped - started).total_seconds() if started and stopped else 0.0


def _settle_stopped(stack: LocalStack, sync_id: str, ended: list[dict[str, Any]]) -> None:
    """The sync document of a sync stopped by the user, settled as the layer settles one (``stop_sync``):
    the objects whose runs had ended as they ended, the others ``stopped``."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    stop_sync(
        ExportStore(boto3.client("s3", region_name=REGION), stack.bucket),
        StateTable(boto3.client("dynamodb", region_name=REGION), stack.table),
        ExportExecutions(sfn, stack.state_machine_arn),
        sync_id,
        [
            ObjectSynced(
                object=line["object"],
                run_id=str(line["run_id"]),
                execution=str(line["execution"]),
                status=line["status"],
                execution_arn=line["execution_arn"],
            )
            for line in ended
        ],
        STOPPED_CAUSE,
    )


def run_sync(
    options: RunOptions,
    request: dict[str, Any],
    stream: TextIO = sys.stderr,
    sim: Any = None,
    function_env: dict[str, str] | None = None,
    announce: Callable[[str], None] | None = None,
) -> SyncResult:
    """Run one sync end to end (``request``: the sync workflow's input, e.g. ``{"objects": "all"}``) and
    return what happened. With `options.out`, as for one export: what later runs read is loaded from it
    first, and everything the sync wrote lands there afterwards. `announce(sync_id)` is called once the
    sync has started (a run refused before, e.g. on a folder another run holds, announces nothing)."""
    if options.gateway_url and sim is None:
        credentials_from_env()
        check_reachable(options.gateway_url)
    out = OutDir(options.out) if options.out else None
    name = options.name or new_sync_name()
    with out.locked() if out else nullcontext(), local_pipeline(options, sim, function_env) as pipeline:
        stack = pipeline.stack
        if out:
            out.restore(stack, _restorable(out, request, Catalogue.from_env(stack.env).names()))
            out.save_run(name, {**options.settings(), "sync": request})
        if pipeline.sim is not None:
            pipeline.sim.reset_stats()
        started = time.monotonic()
        arn = stack.start_sync(request, name=name)
        stop = options.stop.event if options.stop else threading.Event()
        if options.stop is not None:
            options.stop.polling = True  # from here a signal stops the sync cleanly
        if announce is not None:
            announce(name)
        written: list[Path] = []
        ended: list[dict[str, Any]] = []

        def on_object(line: dict[str, Any]) -> None:
            ended.append(line)
            _print_line(stream, line)

        described: dict[str, Any] | None = None
        try:
            described = _watch(stack, arn, name, on_object, stop)
        except KeyboardInterrupt:
            pass
        finally:
            if options.stop is not None:
                options.stop.polling = False
            stack.stop()
            try:
                if described is None:  # stopped: the execution too, and its document settled as stopped
                    sfn = boto3.client("stepfunctions", region_name=REGION)
                    with suppress(sfn.exceptions.ClientError):
                        sfn.stop_execution(
                            executionArn=arn, error="States.Aborted", cause="stopped by the user"
                        )
                    _settle_stopped(stack, name, ended)
            finally:
                if out:
                    written += out.save(stack)
        stopped = described is None
        if described is None:
            described = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)
        result = SyncResult(
            status="ABORTED" if stopped else described["status"],
            sync_id=name,
            document=_read_json(stack, layout.sync_key(name)) or {},
            seconds=time.monotonic() - started,
            transactions_seen_by_gateway=pipeline.gateway_transactions(),
            error=None
            if described["status"] == "SUCCEEDED" or stopped
            else Failure.parse(described.get("error"), described.get("cause")).short(),
            stopped=stopped,
        )
    if out:
        result.out, result.log_path = out.root, out.log_path(name)
        result.files_written = [str(p) for p in written]
    return result


def _restorable(out: OutDir, request: dict[str, Any], names: list[str]) -> Callable[[str], bool]:
    """What a sync reads that earlier runs left in `out`: every catalogue object's field cache, schema and
    succeeded runs, the sync documents, and for a rerun the runs of the sync it reruns."""
    prefixes = ["_meta/syncs/"]
    for name in names:
        prefixes += restorable_prefixes(name)
    resumed = request.get("resume_sync_id")
    if isinstance(resumed, str):
        path = out.root / layout.sync_key(resumed)
        earlier = json.loads(path.read_text()) if path.is_file() else {}
        for item in earlier.get("objects", []):
            prefixes += restorable_prefixes(str(item["object"]), str(item["run_id"]))
    chosen = tuple(prefixes)
    return lambda key: key.startswith(chosen)


# --- what the terminal shows ---------------------------------------------------------------------------


def _print_line(stream: TextIO, line: dict[str, Any]) -> None:
    manifest = line["manifest"] or {}
    if line["status"] == "SUCCEEDED":
        pages, records = manifest.get("pages", 0), manifest.get("records_written", 0)
        text = (
            f"  ok      {line['object']:<14} {records:>10,} record{'s' if records != 1 else ''} · "
            f"{pages:,} page{'s' if pages != 1 else ''} · "
            f"{line['transactions']:,} Intacct transactions · {line['seconds']:.1f} s"
        )
    else:
        failure = line["failure"] or Failure(line["status"], "")
        text = f"  FAILED  {line['object']:<14} {failure.short(160)}"
    stream.write(text + "\n")
    stream.flush()


def summary_table(result: SyncResult) -> str:
    """The sync's summary (or its plan) as a table; empty when the sync did not run at all (a request
    the workflow refused: ``what_happened`` says why)."""
    document = result.document
    if not document:
        return ""
    if document.get("status") == "planned":
        return plan_table(document.get("plan") or {})
    if "results" not in document and document.get("error"):  # refused before any export (what_happened)
        error = document["error"]
        return f"  sync {result.sync_id} failed before any export: {error.get('error')}: {error.get('cause')}"
    if "results" not in document and document.get("reason"):  # skipped
        return f"  sync {result.sync_id} {document.get('status')}: {document.get('reason')}"
    rows = [("object", "mode", "status", "records", "transactions", "run id")]
    for o in document.get("results") or []:
        rows.append(
            (
                o["object"],
                str(o.get("mode")),
                o["status"],
                f"{o['records']:,}",
                f"{o['transactions']:,}",
                o["run_id"],
            )
        )
    for o in document.get("earlier") or []:
        rows.append((o["object"], "", "synced earlier", "", "", f"{o['run_id']} (sync {o['sync_id']})"))
    totals = document.get("totals") or {}
    if totals.get("sync_transactions"):
        rows.append(("(sign-in)", "", "", "", f"{totals['sync_transactions']:,}", ""))
    rows.append(("total", "", "", f"{totals.get('records', 0):,}", f"{totals.get('transactions', 0):,}", ""))
    lines = _columns(rows, right={3, 4})
    done = totals.get("objects_succeeded", 0)
    failed = totals.get("failed") or []
    stopped = totals.get("stopped") or []
    head = f"  sync {result.sync_id}" + (" stopped" if document.get("status") == "stopped" else "")
    head += f": {done} object{'s' if done != 1 else ''} synced"
    head += f", {len(failed)} failed ({', '.join(failed)})" if failed else ""
    head += f", {len(stopped)} stopped before they finished" if stopped else ""
    tail = [f"  wall time {result.seconds:.1f} s"]
    if result.transactions_seen_by_gateway is not None:
        tail.append(f"calls seen by simulator {result.transactions_seen_by_gateway:,}")
    if result.out is not None:
        tail.append(f"files in {result.out}{os.sep}")
    return "\n".join([head, *lines, " · ".join(tail)])


def plan_table(plan: dict[str, Any]) -> str:
    """What a full sync would cost, object by object, against the month's budget."""
    rows = [("object", "sync mode", "records", "pages", "full-sync transactions", "")]
    for o in plan.get("objects", []):
        counted = o["records"] is not None
        rows.append(
            (
                o["object"],
                o["mode"] + ("" if o["mode"] == "full" or o.get("watermark") else " (first: all)"),
                f"{o['records']:,}" if counted else "-",
                f"{o['pages']:,}" if counted else "-",
                f"{o['full_sync_transactions']:,}" if counted else "-",
                "" if counted else f"not counted: {' '.join(str(o.get('error')).split())[:100]}",
            )
        )
    totals = plan.get("totals") or {}
    rows.append(
        ("total", "", f"{totals.get('records', 0):,}", "", f"{totals.get('full_sync_transactions', 0):,}", "")
    )
    budget = totals.get("monthly_budget")
    used = totals.get("month_transactions_used", 0)
    if budget:
        verdict = "fits" if totals.get("fits_budget") else "does NOT fit"
        month = f"{used:,} of the monthly budget of {budget:,} used: a full sync {verdict} in the rest"
    else:
        month = f"{used:,} used this month (no MonthlyTransactionBudget set)"
    note = f"  counting cost {totals.get('plan_transactions', 0):,} Intacct transactions; {month}"
    return "\n".join(
        [f"  plan at page size {plan.get('page_size')}:", *_columns(rows, right={2, 3, 4}), note]
    )


def _columns(rows: Sequence[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def what_happened(result: SyncResult, out_arg: str) -> str | None:
    """The one line after the table when something did not sync: what, and how to rerun only that."""
    rerun = f"intacct-sync run --resume-sync {result.sync_id} --out {out_arg}"
    if result.stopped:
        return f"stopped; what had landed is kept; rerun what did not finish with: {rerun}"
    if result.error:
        return f"the sync did not run: {result.error}"
    document = result.document
    if document.get("status") == "failed" and "results" not in document:  # refused before any export
        error = document.get("error") or {}
        failure = Failure(
            str(error.get("error") or "Unknown"), str(error.get("cause") or document.get("reason"))
        )
        return f"no object was exported: {explain(failure, 'the gateway')}"
    if result.failed:
        failed = ", ".join(result.failed)
        return f"{len(result.failed)} object(s) failed ({failed}); rerun only those with: {rerun}"
    return None
