"""The benchmark keeps working: one tiny run through its entry point reports real, exact figures.

Not a timed test: it asserts what must hold at any speed (transactions, records, that every section
has measurements), never how fast anything was.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.report import render
from benchmarks.run import BenchConfig, run_benchmarks

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECORDS = 6000
PAGES = math.ceil(RECORDS / 2000)


def test_a_tiny_benchmark_run_reports_exact_transactions_and_real_figures():
    # Given the smallest matrix that still splits into two segments, and probes of two-page Tasks
    config = BenchConfig(
        sizes=[RECORDS], latencies=[0.0], concurrency=[2], probe_pages=2, handlers=["FetchPageFunction"]
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
    # And CPU per page was measured for both field lists on real pages
    assert [(r.label, r.pages) for r in report.page_cpu] == [("benchmark fields", 2), ("all fields", 2)]
    assert all(r.cpu_ms_per_page > 0 and r.encode_ms > 0 and r.part_kib > 0 for r in report.page_cpu)
    # And the page handler was imported cold and run in a fresh interpreter
    imported = [h for h in report.handlers if not h.label]
    assert [(h.function, h.error) for h in imported] == [("FetchPageFunction", None)]
    assert imported[0].import_ms and imported[0].import_ms_source and imported[0].rss_after_import_mb
    runs = [h for h in report.handlers if h.label]
    assert [(h.label, h.invoke_pages, h.error) for h in runs] == [
        ("benchmark fields", 2, None),
        ("all fields", 2, None),
    ]
    assert all((h.peak_rss_mb or 0) >= (h.rss_after_import_mb or 0) > 0 for h in runs)
    # And the tables carry the figures
    table = render(report)
    assert f"| 6k | 0 | 2 | {export.seconds:.2f} |" in table
    assert "sageintacctsdk" in table and "FetchPageFunction (all fields)" in table
