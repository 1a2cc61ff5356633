"""Markdown tables of a benchmark run, and the machine it ran on."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.exports import ExportRow, SdkRow
from benchmarks.probes import HandlerRow, PageCpuRow


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, OS and Python of this machine."""
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    return info


def size_label(records: int) -> str:
    if records >= 1_000_000 and records % 1_000_000 == 0:
        return f"{records // 1_000_000}M"
    if records >= 1000 and records % 1000 == 0:
        return f"{records // 1000}k"
    return f"{records:,}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _opt(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def exports_table(rows: Sequence[ExportRow]) -> str:
    header = [
        "N",
        "L ms",
        "C",
        "wall s",
        "floor s",
        "wall/floor",
        "transactions",
        "⌈N/2000⌉",
        "records/s",
        "peak in flight",
        "load",
        "status",
    ]
    body = []
    for r in rows:
        calls = ", ".join(f"{k} {v}" for k, v in sorted(r.by_function.items()) if k != "query")
        body.append(
            [
                size_label(r.records),
                f"{r.latency_ms:g}",
                str(r.concurrency),
                f"{r.seconds:.2f}",
                f"{r.floor:.2f}" if r.floor else "0",
                _opt(r.ratio, ".3f"),
                f"{r.transactions}" + (f" ({calls})" if calls else ""),
                str(-(-r.records // r.page_size)),
                f"{r.records_per_second:,.0f}",
                str(r.peak_concurrency),
                f"{r.load_before:.1f}",
                r.status + ("" if r.reconciled else " (not reconciled)"),
            ]
        )
    return _table(header, body)


def sdk_table(sdk: Sequence[SdkRow], exports: Sequence[ExportRow]) -> str:
    header = ["N", "L ms", "SDK wall s", "SDK transactions", "SDK records/s"]
    concurrencies = sorted({e.concurrency for e in exports})
    header += [f"intacct-sync C={c}: s (x faster, transactions)" for c in concurrencies]
    body = []
    for s in sdk:
        row = [
            size_label(s.records),
            f"{s.latency_ms:g}",
            f"{s.seconds:.2f}",
            str(s.transactions),
            f"{s.records_per_second:,.0f}" + (f" ERROR {s.error}" if s.error else ""),
        ]
        for c in concurrencies:
            match = [
                e for e in exports if (e.records, e.latency_ms, e.concurrency) == (s.records, s.latency_ms, c)
            ]
            if match:
                e = match[0]
                row.append(f"{e.seconds:.2f} (x{s.seconds / e.seconds:.1f}, {e.transactions})")
            else:
                row.append("—")
        body.append(row)
    return _table(header, body)


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e6:.1f}"


def page_cpu_table(rows: Sequence[PageCpuRow]) -> str:
    header = [
        "object, fields",
        "pages",
        "CPU ms/page",
        "fetch+parse ms",
        "encode+gzip ms",
        "wall ms/page",
        "formats",
        "XML MB/page",
        "JSON MB/page",
        "part KiB",
        "next page sent while encoding",
    ]
    body = [
        [
            f"{r.object}, {r.label} ({r.field_count})",
            str(r.pages),
            f"{r.cpu_ms_per_page:.1f}",
            f"{r.fetch_parse_ms:.1f}",
            f"{r.encode_ms:.1f}",
            f"{r.wall_ms_per_page:.1f}",
            ", ".join(f"{k} {v}" for k, v in sorted(r.formats.items())),
            _mb(r.body_bytes.get("xml")),
            _mb(r.body_bytes.get("json")),
            f"{r.part_kib:.0f}",
            f"{r.encodes_overlapped} of {r.encodes_with_next}",
        ]
        for r in rows
    ]
    return _table(header, body)


def _handler_name(r: HandlerRow) -> str:
    return r.function + (f" ({r.object}, {r.label})" if r.label else "")


def handlers_table(rows: Sequence[HandlerRow]) -> str:
    """The handlers' table, after a line saying what "as deployed" was."""
    header = [
        "handler",
        "cold import ms (as deployed)",
        "… layer as source only",
        "RSS after import MB",
        "peak RSS MB",
        "invoked",
    ]
    body = []
    for r in rows:
        invoked = "—"
        if r.invoke_pages is not None:
            invoked = f"{r.invoke_pages} pages in {r.invoke_ms or 0:.0f} ms"
        body.append(
            [
                _handler_name(r),
                _opt(r.import_ms, ".0f"),
                _opt(r.import_ms_source, ".0f"),
                _opt(r.rss_after_import_mb, ".0f"),
                _opt(r.peak_rss_mb, ".0f") + (f" ERROR {r.error}" if r.error else ""),
                invoked,
            ]
        )
    measured = sorted({r.deployed for r in rows if r.deployed})
    caption = "".join(f"As deployed: {what}.\n\n" for what in measured)
    return caption + _table(header, body)


def memory_verdict(row: HandlerRow) -> str:
    """PASS when the page Task's peak RSS stays within half the function's MemorySize, else OVER."""
    if row.peak_rss_mb is None or row.memory_size_mb is None or row.error:
        return "—"
    return "PASS" if row.peak_rss_mb <= row.memory_size_mb / 2 else "OVER"


def widths_table(cpu: Sequence[PageCpuRow], handlers: Sequence[HandlerRow]) -> str:
    """Per probed field list: the page's size and CPU, and the page handler's peak RSS for a Task of
    pages as deployed against half its MemorySize."""
    header = [
        "object, fields",
        "XML MB/page",
        "CPU ms/page",
        "part KiB",
        "page Task",
        "peak RSS MB",
        "½ MemorySize MB",
        "within ½",
    ]
    runs = {(h.object, h.label): h for h in handlers if h.label}
    body = []
    for r in cpu:
        h = runs.get((r.object, r.label))
        body.append(
            [
                f"{r.object}, {r.label} ({r.field_count})",
                _mb(r.body_bytes.get("xml")),
                f"{r.cpu_ms_per_page:.1f}",
                f"{r.part_kib:.0f}",
                "—" if h is None or h.invoke_pages is None else f"{h.invoke_pages} pages",
                "—" if h is None else _opt(h.peak_rss_mb, ".0f") + (f" ERROR {h.error}" if h.error else ""),
                "—" if h is None or h.memory_size_mb is None else f"{h.memory_size_mb / 2:.0f}",
                "—" if h is None else memory_verdict(h),
            ]
        )
    return _table(header, body)


IN_FLIGHT_NOTE = (
    "In flight: a page Task fetches on one thread and encodes and lands on the invocation's, with at most "
    "two pages fetched or in flight and not yet landed (`export/pages.py`, `PageFetcher`): when a page has "
    "landed, the query for the page after the one now being encoded leaves (sooner, from a JSON page's raw "
    "last key, when there is room), so every page is encoded with the next one's query in flight. The "
    "probes' simulator answers at once (L = 0), so that page arrives and is parsed during the encoding and "
    "the peak RSS includes both pages; *next page sent while encoding* below counts it."
)


def render(report: Any) -> str:
    """The whole report as Markdown."""
    m = report.machine
    parts = [
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib', '?')} GiB, "
        f"{m.get('platform')}, Python {m.get('python')}",
        f"Fields: {', '.join(report.config.fields)}",
    ]
    if report.exports:
        parts += ["", "### Exports through the local state machine (simulator in its own process)"]
        parts.append(exports_table(report.exports))
    if report.sdk:
        parts += ["", "### sageintacctsdk get_all_generator, same simulator"]
        parts.append(sdk_table(report.sdk, report.exports))
    if report.page_cpu:
        parts += [
            "",
            "### Page handler at real widths: peak RSS for a Task of pages against half its MemorySize",
            f"Probes in a simulator of {size_label(report.probe_records)} records, typed as runs type them. "
            "XML MB: a page's decoded body as Intacct's XML (the format of a segment's first page).",
            "",
            widths_table(report.page_cpu, report.handlers),
            "",
            IN_FLIGHT_NOTE,
            "",
            "### CPU per 2000-record page (fetch, parse, gzip NDJSON)",
            page_cpu_table(report.page_cpu),
        ]
    if report.handlers:
        parts += ["", "### Handlers: cold import and memory", handlers_table(report.handlers)]
    return "\n".join(parts)
