"""The fault matrix: every kind of failure Intacct, the network or Lambda can throw at an export, end to end
through the real state machine against the simulator.

Each run ends either complete and exact (every source key exported once, the manifest reconciled), or
failed with a clear reason and no manifest claiming success; a failed run is then resumed from its last
landed page and must complete exactly without fetching the landed pages again.

Kept fast: 2,400 records in 200-record pages (12 pages in two segments), client retries 5 ms apart. Faults
the Intacct client absorbs never reach the state machine's Task Retry (which sleeps for real: 2 s, 4 s,
8 s); only the 524 case takes one Task retry and only the two "outlasts every retry" cases wait through
all of them.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from intacct_local.emulated_aws import REGION
from intacct_local.runner import LocalPipeline, RunOptions, RunResult, local_pipeline
from intacct_sim.faults import DEFAULT_PHASE
from intacct_sync.adapters.export_store import ExportStore
from intacct_sync.export import layout
from intacct_sync.export.parts import decode_part

pytestmark = pytest.mark.e2e

RECORDS, PAGE_SIZE = 2400, 200
PAGES = math.ceil(RECORDS / PAGE_SIZE)
FIELDS = ["RECORDNO", "CUSTOMERID", "NAME", "WHENMODIFIED"]
REQUEST = {"object": "CUSTOMER", "fields": FIELDS}
FAST = {"INTACCT_RETRY_BASE_DELAY_MS": "5"}
# Every gateway call from the 7th on (1-4: login, the user's date preferences, lookup): some pages land,
# then nothing does.
FOREVER = list(range(7, 5000))


Arm = Callable[[LocalPipeline, pytest.MonkeyPatch], None]
# How Lambda reports a runtime that died (out of memory, killed): not an exception the handler raised.
RuntimeExit = type("Runtime.ExitError", (Exception,), {})


def expire_sessions_before_invocation(n: int) -> Arm:
    """Invalidate every Intacct session just before the n-th page Lambda runs (mid-run, deterministic)."""

    def arm(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
        stack, original = pipeline.stack, pipeline.stack.invoke

        def invoke(logical_id: str, payload: dict[str, Any]) -> tuple[bool, Any]:
            if logical_id == "FetchPageFunction" and stack.invocations.get(logical_id, 0) == n - 1:
                pipeline.sim.expire_sessions()
            return original(logical_id, payload)

        monkeypatch.setattr(stack, "invoke", invoke)

    return arm


def crash_before_invocation(n: int) -> Arm:
    """The n-th page Lambda dies as it starts, as a runtime exit would."""

    def arm(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
        pipeline.stack.crashes["FetchPageFunction"] = {n}

    return arm


def crash_after_landing_part(n: int) -> Arm:
    """The runtime dies right after the n-th page part reached S3: that part landed, but the Task that
    wrote it never returns, so the state machine does not know about it."""

    def arm(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
        original, written = ExportStore.put_part, itertools.count(1)

        def put_part(self: ExportStore, summary: Any, body: bytes) -> str:
            etag = original(self, summary, body)
            if next(written) == n:
                raise RuntimeExit("RequestId: local Error: Runtime exited with error: signal: killed")
            return etag

        monkeypatch.setattr(ExportStore, "put_part", put_part)

    return arm


@dataclass(frozen=True)
class Case:
    name: str
    faults: list[dict[str, Any]] = field(default_factory=list)
    arm: Arm | None = None
    env: dict[str, str] = field(default_factory=dict)
    mutations: dict[str, Any] | None = None
    # "complete": the run absorbs the fault; "resumed": it fails for good, then a resume completes it
    outcome: str = "complete"
    reason: tuple[str, ...] = ()  # what the failed run's manifest must say
    task_retries: bool = False  # the fault reaches the state machine's Task Retry (not absorbed in Lambda)
    logins: range | None = None  # sessions Intacct must have created, when the case is about them

    def answers_lost(self, fired: dict[str, int], function: str | None = None) -> int:
        """Calls Intacct ran (and billed) whose answers the fault then spoiled ("after" phase)."""
        return sum(
            fired.get(r["kind"], 0)
            for r in self.faults
            if r.get("phase", DEFAULT_PHASE[r["kind"]]) == "after"
            and (function is None or r.get("function") == function)
        )


MATRIX = [
    # The segments that meet the expired session log in again once between them (a second login).
    Case("session expires mid-run", arm=expire_sessions_before_invocation(4), logins=range(2, 3)),
    Case("burst of HTTP 500 HTML pages", [{"kind": "http_500", "count": 4, "function": "query"}]),
    Case("HTTP 502 Cloudflare page", [{"kind": "http_502", "count": 2, "function": "query"}]),
    Case(
        "HTTP 502 after the query ran (answer lost)",
        [{"kind": "http_502", "count": 2, "function": "query", "phase": "after"}],
    ),
    Case("HTTP 503 on the login", [{"kind": "http_503", "count": 3, "function": "getAPISession"}]),
    Case("HTTP 524 on the login", [{"kind": "http_524", "count": 1, "function": "getAPISession"}]),
    Case(
        "HTTP 524 on a query (may still be running)",
        [{"kind": "http_524", "count": 1, "function": "query"}],
        task_retries=True,
    ),
    Case("HTTP 429 GW-0010 rate limit", [{"kind": "http_429", "count": 2, "function": "query"}]),
    Case("truncated XML", [{"kind": "truncated_xml", "count": 2, "function": "query"}]),
    Case("malformed XML", [{"kind": "malformed_xml", "count": 2, "function": "query"}]),
    Case("connection reset", [{"kind": "connection_reset", "count": 3}]),
    Case(
        "answers slower than the read timeout",
        [{"kind": "slow", "delay_ms": 1800, "count": 2, "function": "query"}],
        env={"INTACCT_READ_TIMEOUT_SECONDS": "1"},
    ),
    Case(
        "records edited during the export",
        mutations={"object": "CUSTOMER", "inserts": 3, "updates": 5, "deletes": 2},
    ),
    Case(
        "page Lambda dies as it starts",
        arm=crash_before_invocation(3),
        outcome="resumed",
        reason=("Runtime.ExitError",),
    ),
    Case(
        "page Lambda dies after landing a page, before returning",
        arm=crash_after_landing_part(4),
        outcome="resumed",
        reason=("Runtime.ExitError", "Runtime exited"),
    ),
    Case(
        "HTTP 503 outlasting every retry",
        [{"kind": "http_503", "function": "query", "on_calls": FOREVER}],
        env={"INTACCT_MAX_ATTEMPTS": "2"},
        outcome="resumed",
        reason=("GatewayError", "HTTP 503", "gave up after 2 attempts"),
        task_retries=True,
    ),
    Case(
        "truncated answers outlasting every retry",
        [{"kind": "truncated_xml", "function": "query", "on_calls": FOREVER}],
        env={"INTACCT_MAX_ATTEMPTS": "2"},
        outcome="resumed",
        reason=("GatewayError", "malformed or truncated response", "gave up after 2 attempts"),
        task_retries=True,
    ),
]


def landed(pipeline: LocalPipeline, run_id: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(part keys, records) the run has in the bucket, read back from S3."""
    s3 = boto3.client("s3", region_name=REGION)
    prefix = layout.run_prefix("CUSTOMER", run_id)
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=pipeline.stack.bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].rsplit("/", 1)[-1].startswith("part-")
    ]
    records: list[dict[str, Any]] = []
    for key in keys:
        body = s3.get_object(Bucket=pipeline.stack.bucket, Key=key)["Body"].read()
        records.extend(decode_part(body))
    return keys, records


def assert_complete_and_exact(result: RunResult, records: list[dict[str, Any]], source: set[str]) -> None:
    assert result.status == "SUCCEEDED", result.error
    keys = Counter(str(r["RECORDNO"]) for r in records)
    assert not [k for k, n in keys.items() if n > 1], "a record was exported twice"
    assert set(keys) == source, "lost or invented records"
    manifest = result.manifest
    assert manifest is not None
    assert manifest["status"] == "succeeded" and manifest["reconciled"] is True
    assert manifest["records_written"] == len(source)


def query_calls(sim: Any) -> int:
    return int(sim.stats()["transactions_by_function"].get("query", 0))


@pytest.mark.parametrize("case", MATRIX, ids=[c.name for c in MATRIX])
def test_fault_matrix(case: Case, make_sim, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a tenant that misbehaves as the case says
    sim = make_sim(records=RECORDS, seed=31)
    start = {r["RECORDNO"] for r in sim.records("CUSTOMER")}
    options = RunOptions(page_size=PAGE_SIZE, concurrency=2, quiet=True)
    with local_pipeline(options, sim=sim, function_env={**FAST, **case.env}) as pipeline:
        if case.arm:
            case.arm(pipeline, monkeypatch)
        if case.mutations:
            sim.configure(mutations_per_query=[case.mutations])
        sim.set_faults(case.faults)
        sim.reset_stats()
        # When the export runs
        result = pipeline.export(REQUEST)
        stats = sim.stats()
        fired = stats["faults_injected"]
        for rule in case.faults:  # the fault really happened (a case that injects nothing proves nothing)
            assert fired.get(rule["kind"], 0) >= 1, f"{rule['kind']} never fired"
        task_failures = [f["errorType"] for f in result.failures]

        if case.outcome == "complete":
            # Then it completes, exactly: every record once, none lost, none invented
            _, records = landed(pipeline, result.run_id)
            if case.mutations:
                end = {r["RECORDNO"] for r in sim.records("CUSTOMER")}
                created = {r["OBJECTKEY"] for r in sim.records("AUDITHISTORY") if r["ACCESSMODE"] == "C"}
                keys = Counter(str(r["RECORDNO"]) for r in records)
                assert result.status == "SUCCEEDED", result.error
                assert stats["mutations"], "the source never changed"
                assert not [k for k, n in keys.items() if n > 1]
                assert start & end <= set(keys) <= start | end | created
                assert result.manifest["reconciled"] is True
                return
            assert_complete_and_exact(result, records, start)
            # And the fault was absorbed where it belongs: in the client, or by one Task retry
            assert bool(task_failures) == case.task_retries, task_failures
            # And Intacct billed one query per page, plus only the queries whose answers were lost
            assert query_calls(sim) == PAGES + case.answers_lost(fired, "query")
            # And the manifest counts every billed transaction except those lost answers
            assert result.manifest["intacct_transactions"] == stats["transactions"] - case.answers_lost(fired)
            if case.logins is not None:
                assert stats["sessions_created"] in case.logins
            return

        # Then it fails with a clear reason, and nothing claims success
        assert result.status == "FAILED"
        manifest = result.manifest
        assert manifest is not None and manifest["status"] == "failed"
        assert manifest["reconciled"] is False
        problem = f"{manifest['error']['error']}: {manifest['error']['cause']}"
        for words in case.reason:
            assert words in problem, problem
        assert (len(task_failures) > 1) == case.task_retries, task_failures
        # (as on AWS, a Task still running when the execution failed carries on and may land pages)
        pipeline.stack.wait_idle()
        parts, records = landed(pipeline, result.run_id)
        assert 0 < len(parts) < PAGES, "expected a partial export to resume"
        assert manifest["records_written"] == sum(p["records"] for p in manifest["parts"]) > 0
        assert {p["key"] for p in manifest["parts"]} <= set(parts)

        # When the fault is gone and the run is resumed
        sim.clear_faults()
        sim.reset_stats()
        resumed = pipeline.export({"object": "CUSTOMER", "resume_run_id": result.run_id})
        _, records = landed(pipeline, result.run_id)
    # Then the same run completes exactly, and only the pages that had not landed were fetched
    assert resumed.run_id == result.run_id
    assert_complete_and_exact(resumed, records, start)
    assert query_calls(sim) == PAGES - len(parts)
