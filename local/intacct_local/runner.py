"""`intacct-sync run`: the whole export locally — simulator, emulated AWS, the real state machine."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import boto3

from intacct_local import layer
from intacct_local.emulated_aws import REGION, LocalStack, local_aws
from intacct_local.errors import RunError
from intacct_local.failures import Failure, explain
from intacct_local.layer import (
    Continued,
    CredentialsError,
    StateTable,
    credentials_mapping,
    layout,
    logger,
)
from intacct_local.outdir import OutDir
from intacct_local.progress import ProgressBar
from intacct_local.terminal import StopRequest, shell_command
from intacct_sim.config import SimulatorConfig
from intacct_sim.process import SIM_CREDENTIALS, SimulatorProcess

__all__ = ["SIM_CREDENTIALS", "RunError", "RunOptions", "RunResult", "local_pipeline", "run_export"]
# How long the local runner waits to open a TCP connection to a gateway before it gives up.
REACH_TIMEOUT_S = 5.0
# At a stop, how long the stopped invocations may take to wind down: Intacct calls already sent are
# answered and counted, and what the page Tasks counted is written (their ledgers write every 2 s). A
# call still unanswered after it is counted as billed (``LocalStack.stop``).
STOP_GRACE_S = 2.5


@dataclass
class RunOptions:
    object: str = "CUSTOMER"
    records: int = 50_000
    page_size: int = 2000
    concurrency: int = 2
    gateway_url: str | None = None
    out: Path | None = Path("out")
    seed: int = 1
    mode: str = "full"
    fields: list[str] | None = None
    latency_ms: int = 0
    # The tenant's IANA zone (TenantTimezone). None: the simulator's zone for a simulator (SIMULATOR_ZONE),
    # and for a real gateway what the template does, the fixed offset the API user's gmtoffset gives.
    timezone: str | None = None
    quiet: bool = False
    log_level: str = "ERROR"  # the functions' Powertools log level (their JSON logs go to stdout)
    extra_request: dict[str, Any] = field(default_factory=dict)
    filter: dict[str, Any] | None = None  # an Intacct query filter, as the workflow's input takes it
    resume_run_id: str | None = None  # continue this run (its parts are loaded back from `out`)
    name: str | None = None  # the execution name (default: local-<object>-<ms>)
    stop: StopRequest | None = None  # a stop request (signals) the run polls while it waits

    def request(self) -> dict[str, Any]:
        """The state machine's input for these options."""
        if self.resume_run_id:  # the run's own request is kept with it (_meta/runs/)
            return {"object": self.object, layer.RESUME_KEY: self.resume_run_id, **self.extra_request}
        request: dict[str, Any] = {"object": self.object, "mode": self.mode, **self.extra_request}
        if self.fields:
            request["fields"] = self.fields
        if self.filter:
            request["filter"] = self.filter
        return request

    def settings(self) -> dict[str, Any]:
        """What a resume needs to reach the same source with the same request."""
        keep = {"object", "records", "page_size", "concurrency", "gateway_url", "seed", "mode", "fields"}
        keep |= {"latency_ms", "timezone", "filter"}
        return {k: getattr(self, k) for k in sorted(keep)}


SIMULATOR_ZONE = SimulatorConfig.timezone  # the zone the simulator writes its dates in, by default


def tenant_timezone(given: str | None, real_gateway: bool) -> str:
    """The TenantTimezone a local stack gets: the zone given; else the simulator's own zone for a
    simulator, and nothing for a real gateway (the template's default: the API user's gmtoffset)."""
    return given or ("" if real_gateway else SIMULATOR_ZONE)


def new_run_name(object_name: str) -> str:
    """A fresh execution name (Step Functions allows 80 characters of [A-Za-z0-9-_])."""
    return f"local-{object_name.lower()}-{time.time_ns() // 1_000_000}"


@dataclass
class RunResult:
    status: str
    run_id: str
    seconds: float
    manifest: dict[str, Any] | None
    output: dict[str, Any] | None
    error: str | None
    transactions_seen_by_gateway: int | None
    files_written: list[str]
    failures: list[dict[str, str]]
    failure: Failure | None = None  # the error name and cause, parsed
    stopped: bool = False  # stopped on request (a signal) before it finished
    progress: dict[str, int] = field(default_factory=dict)  # pages, records, transactions, total_count
    object: str = ""
    out: Path | None = None
    log_path: Path | None = None
    gateway: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def run_folder(self) -> str:
        return layout.run_prefix(self.object, self.run_id)


def credentials_from_env(env: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, str]:
    """Credentials for a real gateway, from the official SDKs' variable names, as the secret holds them."""
    try:
        return credentials_mapping(*layer.credentials_from_env(env))
    except CredentialsError as exc:
        raise RunError(f"--gateway-url needs {exc}") from None


@contextmanager
def simulator(options: RunOptions) -> Iterator[SimulatorProcess]:
    """The simulator in a process of its own: building and sending pages never takes the GIL from the
    local pipeline (the figure is in benchmarks/RESULTS.md). It stops
    with the run, however the run ends (an interrupt while it starts included)."""
    flags = ["--latency-ms", str(options.latency_ms), "--timezone", options.timezone or SIMULATOR_ZONE]
    flags += ["--concurrency-limit", str(options.concurrency)]
    sim = SimulatorProcess(records=options.records, seed=options.seed, options=flags)
    try:
        sim.start()
    except RuntimeError as exc:
        sim.stop()
        raise RunError(f"the simulator did not start: {str(exc)[:300]}") from None
    except BaseException:
        sim.stop()
        raise
    try:
        yield sim
    finally:
        sim.stop()


def check_reachable(url: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """Open (and close) a TCP connection to the gateway, so that an unreachable one is one clear line in
    seconds instead of a run that retries every call. No request is sent: nothing is billed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except socket.gaierror:
        raise RunError(f"cannot reach the gateway: no such host {host!r}; check --gateway-url") from None
    except TimeoutError:
        raise RunError(
            f"cannot reach the gateway {host}:{port}: no answer within {timeout_s:.0f} s; check "
            "--gateway-url and the network"
        ) from None
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise RunError(
            f"cannot reach the gateway {host}:{port} ({reason}); check --gateway-url and the network"
        ) from None


def mirror_bucket(stack: LocalStack, out: Path) -> list[str]:
    """Copy every object of the emulated bucket to `out`, keeping keys as paths."""
    s3 = boto3.client("s3", region_name=REGION)
    written = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket):
        for item in page.get("Contents", []):
            target = out / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=stack.bucket, Key=item["Key"])["Body"].read())
            written.append(str(target))
    return written


def wait_for(
    stack: LocalStack,
    execution_arn: str,
    run_id: str,
    bar: ProgressBar | None,
    stop: threading.Event | None = None,
    tick: Callable[[], Any] | None = None,
    tick_interval_s: float = 2.0,
) -> dict[str, Any] | None:
    """Poll the execution until it ends (its description) or `stop` is set (None); `tick` runs every
    `tick_interval_s` meanwhile (e.g. writing what has landed)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    state = StateTable(boto3.client("dynamodb", region_name=REGION), stack.table)
    stop = stop or threading.Event()
    ticked = time.monotonic()
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if bar:
            p = state.run_progress(run_id)
            bar.update(
                p["records"],
                p["total_count"] if p["total_count"] >= 0 else None,
                p["pages"],
                p["transactions"],
            )
        if described["status"] != "RUNNING":
            # As on AWS, the execution's end reaches ExportEndedFunction (its EventBridge rule), which
            # settles the run: wait for that too, so the watermark and events are in place.
            if stack.endings is not None:
                stack.endings.wait(execution_arn, timeout=120)
            continued = Continued.of_output(described.get("output"))
            if described["status"] != "SUCCEEDED" or continued is None:
                return described
            # the run goes on in a new execution (its history would have passed the cap): follow it
            execution_arn = continued.execution_arn
            continue
        if tick is not None and time.monotonic() - ticked >= tick_interval_s:
            tick()
            ticked = time.monotonic()
        if stop.wait(0.2):
            return None


@dataclass
class LocalPipeline:
    """A simulator (or a real gateway) plus emulated AWS with the template deployed: run exports on it."""

    stack: LocalStack
    sim: Any
    options: RunOptions

    def export(
        self,
        request: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        stream: TextIO | None = None,
        tick: Callable[[], Any] | None = None,
        count_landed: bool = True,
    ) -> RunResult:
        """Start one execution of the real state machine and wait for it (a failed export is returned,
        not raised). `request` defaults to the options' request. When the options' `stop` is set (or the
        wait is interrupted) the run stops at once: running invocations end, the execution is stopped,
        and the result says what had landed (counted in the bucket, unless `count_landed` is off because
        the caller counts it). `tick` runs every two seconds while the execution runs."""
        options = self.options
        if request is None:
            request = options.request()
        started = time.monotonic()
        object_name = str(request.get("object", "x")).upper()
        name = name or new_run_name(object_name)
        run_id = layer.run_of(name, request)
        arn = self.stack.start_export(request, name=name)
        bar = ProgressBar(stream) if stream is not None else None
        stop = options.stop
        if stop is not None:
            stop.polling = True  # a signal now asks the loop below to stop, instead of raising
        try:
            described = wait_for(self.stack, arn, run_id, bar, stop.event if stop else None, tick)
        except KeyboardInterrupt:
            described = None
        finally:
            if stop is not None:
                stop.polling = False
        if bar:
            bar.close()
        stopped = described is None
        state = StateTable(boto3.client("dynamodb", region_name=REGION), self.stack.table)
        if stopped:
            # Every Intacct call the run made is counted (those given up on as billed) before the
            # execution's end is settled: the failed manifest then says what landed and what it cost.
            for billed_run, calls in self.stack.stop(STOP_GRACE_S).items():
                state.record_run(billed_run, {"transactions": calls})
            sfn = boto3.client("stepfunctions", region_name=REGION)
            with suppress(sfn.exceptions.ClientError):
                sfn.stop_execution(executionArn=arn, error="States.Aborted", cause="stopped by the user")
            described = sfn.describe_execution(executionArn=arn)
            self.stack.settle_stopped(arn)
        assert described is not None
        seconds = time.monotonic() - started
        s3 = boto3.client("s3", region_name=REGION)
        manifest = None
        key = layout.manifest_key(object_name, run_id)
        with suppress(s3.exceptions.NoSuchKey, s3.exceptions.ClientError):
            manifest = json.loads(s3.get_object(Bucket=self.stack.bucket, Key=key)["Body"].read())
        output = json.loads(described["output"]) if described.get("output") else None
        error, failure = None, None
        if described["status"] != "SUCCEEDED":
            recorded = (manifest or {}).get("error") or {}
            failure = Failure.parse(
                str(recorded.get("error") or described.get("error") or ""),
                str(recorded.get("cause") or described.get("cause") or ""),
            )
            error = (manifest or {}).get("error") or described.get("cause") or described.get("error")
            error = json.dumps(error) if isinstance(error, dict) else str(error)
        progress = state.run_progress(run_id)
        if stopped and count_landed:  # the counters are written every 2 s: count what is in the bucket
            progress.update(self.landed(object_name, run_id))
        return RunResult(
            status="ABORTED" if stopped else described["status"],  # as StopExecution leaves it
            run_id=run_id,
            seconds=seconds,
            manifest=manifest,
            output=output,
            error=error,
            transactions_seen_by_gateway=self.gateway_transactions(),
            files_written=[],
            failures=list(self.stack.failures),
            failure=failure,
            stopped=stopped,
            progress=progress,
            object=object_name,
            gateway=self.sim.url if self.sim else str(options.gateway_url or ""),
        )

    def landed(self, object_name: str, run_id: str) -> dict[str, int]:
        """The pages (parts) and records a run has in the bucket."""
        store = layer.ExportStore(boto3.client("s3", region_name=REGION), self.stack.bucket)
        parts = layer.landed_parts(store, object_name, run_id)
        return {"pages": len(parts), "records": sum(part.records for part in parts)}

    def gateway_transactions(self) -> int | None:
        if not self.sim:
            return None
        try:
            return int(self.sim.stats()["transactions"])
        except OSError:  # the simulator went with a Ctrl-C (the terminal signals its process group too)
            return None


@contextmanager
def local_pipeline(
    options: RunOptions, sim: Any = None, function_env: dict[str, str] | None = None
) -> Iterator[LocalPipeline]:
    """Start (or use) the simulator and deploy the template into emulated AWS.

    `sim` is an already running simulator (tests keep it to compare the source with the export);
    `function_env` adds environment variables for every function (e.g. faster retries in tests).
    """
    if sim is not None:
        creds = dict(SIM_CREDENTIALS)
        sim_ctx: Any = nullcontext(sim)
    elif options.gateway_url:
        creds = credentials_from_env()
        sim_ctx = nullcontext(None)
    else:
        creds = dict(SIM_CREDENTIALS)
        sim_ctx = simulator(options)
    with sim_ctx as running_sim:
        gateway = running_sim.url if running_sim is not None else options.gateway_url
        parameters = {
            "GatewayUrl": str(gateway),
            "PageSize": str(options.page_size),
            "TenantConcurrency": str(options.concurrency),
            "TenantTimezone": tenant_timezone(options.timezone, real_gateway=running_sim is None),
        }
        env = {"POWERTOOLS_LOG_LEVEL": options.log_level, "POWERTOOLS_METRICS_DISABLED": "true"}
        env.update(function_env or {})
        # The shared logger exists already (imported above); the env var only reaches new ones.
        logger.setLevel(options.log_level)
        with local_aws(creds, parameters, env) as stack:
            yield LocalPipeline(stack, running_sim, options)


def restorable_prefixes(object_name: str, resume_run_id: str | None = None) -> list[str]:
    """The bucket keys a run of `object_name` reads that an earlier run left in `out`: the object's cached
    field list, its table schema and succeeded runs (the current views build on them) and, to resume a
    run, everything that run wrote (parts, summaries, its request, its deletes)."""
    fields_prefix = layout.field_cache_key(object_name, None).rsplit("/", 1)[0] + "/"
    schema_prefix = layout.table_schema_key(object_name).rsplit("/", 1)[0] + "/"
    succeeded_prefix = layout.succeeded_runs_key(object_name, None).rsplit("/", 2)[0] + "/"
    prefixes = [fields_prefix, schema_prefix, succeeded_prefix]
    if resume_run_id:
        run_id = resume_run_id
        prefixes += [layout.run_prefix(object_name, run_id), layout.summaries_prefix(object_name, run_id)]
        prefixes += [layout.run_state_key(run_id), layout.deletes_key(object_name, run_id)]
    return prefixes


def _restorable(options: RunOptions, object_name: str) -> Callable[[str], bool]:
    prefixes = tuple(restorable_prefixes(object_name, options.resume_run_id))
    return lambda key: key.startswith(prefixes)


def run_export(
    options: RunOptions,
    stream: TextIO = sys.stderr,
    sim: Any = None,
    function_env: dict[str, str] | None = None,
) -> RunResult:
    """Run one export end to end and return what happened (`function_env`: settings for every function,
    e.g. those the user set, ``function_settings``).

    With `options.out`, the folder keeps the run between invocations: the state table and the objects a
    later run reads are loaded from it first, and afterwards the bucket's new objects, the table and the
    run's options are written back (nothing in it is deleted). The files written are in the result."""
    if options.gateway_url and sim is None:
        credentials_from_env()  # say what is missing before anything starts
        check_reachable(options.gateway_url)
    out = OutDir(options.out) if options.out else None
    name = options.name or new_run_name(options.object)
    with out.locked() if out else nullcontext(), local_pipeline(options, sim, function_env) as pipeline:
        if out:
            out.restore(pipeline.stack, _restorable(options, options.object.upper()))
            out.save_run(name, options.settings())
        if pipeline.sim is not None:
            pipeline.sim.reset_stats()
        written: list[Path] = []
        stack = pipeline.stack
        try:
            result = pipeline.export(
                name=name,
                stream=None if options.quiet else stream,
                tick=(lambda: written.extend(out.sync(stack))) if out else None,
                count_landed=out is None,
            )
        finally:
            stack.stop()  # an ended run's leftover invocations land nothing more
            if out:
                written += out.save(stack)
        if out:
            if result.stopped:
                result.progress.update(out.landed(result.run_folder))
            result.files_written = [str(p) for p in written]
            result.out, result.warnings = out.root, list(out.warnings)
            result.log_path = out.log_path(name)
        return result


def summary_table(result: RunResult) -> str:
    """A short human summary of a run."""
    m = result.manifest or {}
    records = m.get("records_written", result.progress.get("records", 0))
    total = m.get("total_count")
    if total is None and result.progress.get("total_count", -1) >= 0:
        total = result.progress["total_count"]
    status = result.status + (" (stopped on request)" if result.stopped else "")
    rows = [
        ("status", status),
        ("run id", result.run_id),
        ("object", m.get("object", result.object)),
        ("records written", f"{records:,}"),
    ]
    if total is not None:
        rows.append(("Intacct total count", f"{total:,}"))
    rows += [
        ("reconciled", str(m.get("reconciled", False))),
        ("pages (parts)", f"{m.get('pages', result.progress.get('pages', 0)):,}"),
        (
            "Intacct transactions",
            f"{m.get('intacct_transactions', result.progress.get('transactions', 0)):,}",
        ),
        ("wall time", f"{result.seconds:.1f} s"),
        ("records/s", f"{(records / result.seconds) if result.seconds else 0:,.0f}"),
    ]
    if result.transactions_seen_by_gateway is not None:
        rows.append(("calls seen by simulator", f"{result.transactions_seen_by_gateway:,}"))
    if result.out is not None:
        folder = result.out / result.run_folder
        rows.append(("files", f"{folder}{os.sep} ({len(result.files_written):,} new in {result.out})"))
    if result.log_path is not None and (result.status == "SUCCEEDED" or result.stopped):
        rows.append(("log", str(result.log_path)))  # a failure's line names it
    if m.get("warnings"):
        rows.append(("warnings", "; ".join(m["warnings"])))
    if result.failure and not result.stopped:
        rows.append(("error", result.failure.short()))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def resume_command(run_id: str, out_arg: str) -> str:
    """The command that continues a run, ready to paste."""
    return shell_command("run", "--resume", run_id, "--out", out_arg)


def what_happened(result: RunResult, out_arg: str, request: dict[str, Any] | None = None) -> str | None:
    """The one line after the summary of a run that did not succeed: what went wrong and what to do.
    ``request``: the run's request as given (to point at the option that caused a failure)."""
    resume = resume_command(result.run_id, out_arg)
    if result.stopped:
        landed = result.progress.get("pages", 0)
        records = result.progress.get("records", 0)
        total = result.progress.get("total_count", -1)
        of_total = f" of {total:,}" if total >= 0 else ""
        where = f" in {result.out / result.run_folder}{os.sep}" if result.out else ""
        return (
            f"stopped: {landed:,} pages ({records:,}{of_total} records) had landed{where}; "
            f"continue with: {resume}"
        )
    if result.status == "SUCCEEDED":
        return None
    failure = result.failure or Failure("Unknown", "")
    landed = (result.manifest or {}).get("records_written") or result.progress.get("records", 0)
    return explain(
        failure, result.gateway or "the gateway", request=request, resume=resume if landed else None
    )
