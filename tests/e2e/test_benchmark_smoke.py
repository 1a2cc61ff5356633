"""The benchmark keeps working: one tiny run through its entry point reports real, exact figures.

Not a timed test: it asserts what must hold at any speed (transactions, records, that every section
has measurements), never how fast anything was.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.report import memory_verdict, render
from benchmarks.run import BenchConfig, run_benchmarks

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECORDS = 6000
PAGES = math.ceil(RECORDS / 2000)


def test_a_tiny_benchmark_run_reports_exact_transactions_and_real_figures():
    # Given the smallest matrix that still splits into two segments, and probes of two-page Tasks of the
    # widest object only (PODOCUMENT, 284 fields; the other objects run the same code)
    config = BenchConfig(
        sizes=[RECORDS],
        latencies=[0.0],
        concurrency=[2],
        probe_pages=2,
        probe_objects=("PODOCUMENT",),
        handlers=["FetchPageFunction"],
    )
    # When the benchmark runs
    report = run_benchmarks(config, log=lambda line: None)
    # Then the export through the local state machine cost exactly one query per page (the warm-up
    # export cached the session, and explicit fields need no lookup)
    (export,) = report.exports
    assert (export.status, export.reconciled, export.records_written) == ("SUCCEEDED", True, RECORDS)
    assert export.transactions == export.queries == PAGES
    assert export.by_function == {"query": PAGES}
    assert export.peak_concurrency <= 2
    assert export.seconds > 0 and export.records_per_second > 0
    # And the SDK exported the same records: login, count, and every page twice (its own quirk)
    (sdk,) = report.sdk
    assert (sdk.error, sdk.records_written) == (None, RECORDS)
    assert sdk.by_function == {"getAPISession": 1, "query": 1 + 2 * PAGES}
    # And CPU per page was measured on real PODOCUMENT pages, every field, in both formats, with the
    # next page's query sent while the page before it was encoded
    (cpu,) = report.page_cpu
    assert (cpu.object, cpu.label, cpu.pages, cpu.records) == ("PODOCUMENT", "all fields", 2, 4000)
    assert cpu.cpu_ms_per_page > 0 and cpu.encode_ms > 0 and cpu.part_kib > 0
    assert cpu.body_bytes["xml"] > cpu.body_bytes["json"] > 0
    assert cpu.encodes_overlapped == cpu.encodes_with_next == 1
    # And the page handler was imported cold and run in a fresh interpreter
    imported = [h for h in report.handlers if not h.label]
    assert [(h.function, h.error) for h in imported] == [("FetchPageFunction", None)]
    assert imported[0].import_ms and imported[0].import_ms_source and imported[0].rss_after_import_mb
    # And it ran a Task of PODOCUMENT pages as deployed, its peak RSS set against half its MemorySize
    (run,) = [h for h in report.handlers if h.label]
    assert (run.object, run.label, run.invoke_pages, run.error) == ("PODOCUMENT", "all fields", 2, None)
    assert (run.peak_rss_mb or 0) >= (run.rss_after_import_mb or 0) > 0
    assert run.memory_size_mb and memory_verdict(run) in ("PASS", "OVER")
    # And the tables carry the figures
    table = render(report)
    assert f"| 6k | 0 | 2 | {export.seconds:.2f} |" in table
    assert "sageintacctsdk" in table and "FetchPageFunction (PODOCUMENT, all fields)" in table
    assert f"| PODOCUMENT, all fields ({cpu.field_count}) | {cpu.body_bytes['xml'] / 1e6:.1f} |" in table
