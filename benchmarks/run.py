"""``make bench`` / ``python -m benchmarks.run``: the benchmark matrix, printed as Markdown tables.

    python -m benchmarks.run --quick
    python -m benchmarks.run --sizes 1M --latencies 300 --concurrency 2,4 --sdk-sizes 1M --json out.json

For every N a simulator process holds N records; for every C one local pipeline (emulated AWS with the
template deployed) runs a warm-up export and then one export per latency L. The floor for an export is
⌈N/2000⌉·L/C. The SDK runs once per N and L (it has no concurrency). See benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.exports import BENCH_FIELDS, PAGE_SIZE, ExportRow, SdkRow, export_rows, sdk_row
from benchmarks.probes import HandlerRow, PageCpuRow, field_types, handler_rows, page_cpu
from benchmarks.report import machine, render, size_label
from intacct_sim.process import SimulatorProcess


@dataclass
class BenchConfig:
    """What to run. ``sdk_sizes`` None means every size; ``handlers`` None means every function."""

    sizes: list[int] = field(default_factory=lambda: [10_000, 100_000, 1_000_000])
    latencies: list[float] = field(default_factory=lambda: [0.0, 300.0])
    concurrency: list[int] = field(default_factory=lambda: [1, 2, 4])
    fields: tuple[str, ...] = BENCH_FIELDS
    sdk: bool = True
    sdk_sizes: list[int] | None = None
    probes: bool = True
    probe_pages: int = 10
    handlers: list[str] | None = None
    seed: int = 1


@dataclass
class BenchReport:
    config: BenchConfig
    machine: dict[str, Any]
    exports: list[ExportRow] = field(default_factory=list)
    sdk: list[SdkRow] = field(default_factory=list)
    page_cpu: list[PageCpuRow] = field(default_factory=list)
    handlers: list[HandlerRow] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for row, raw in zip(self.exports, data["exports"], strict=True):
            raw.update(floor=row.floor, ratio=row.ratio, records_per_second=row.records_per_second)
        return data


def _probe_size(sizes: Sequence[int], pages: int) -> int:
    """The first size with a full Task of pages to probe, else the largest."""
    for size in sorted(sizes):
        if math.ceil(size / PAGE_SIZE) > pages:
            return size
    return max(sizes)


def run_benchmarks(config: BenchConfig, log: Callable[[str], None] = print) -> BenchReport:
    """Run the configured matrix and probes; returns every figure (tables: ``report.render``)."""
    report = BenchReport(config, machine())
    started = time.monotonic()
    sdk_sizes = config.sizes if config.sdk_sizes is None else config.sdk_sizes
    probe_size = _probe_size(config.sizes, config.probe_pages)
    for records in sorted(set(config.sizes) | (set(sdk_sizes) if config.sdk else set())):
        log(f"N = {size_label(records)}: starting the simulator")
        with SimulatorProcess(records=records, seed=config.seed) as sim:
            if records in config.sizes:
                for concurrency in config.concurrency:
                    rows = export_rows(sim, records, config.latencies, concurrency, config.fields, log)
                    report.exports += rows
            if config.sdk and records in sdk_sizes:
                for latency in config.latencies:
                    row = sdk_row(sim, records, latency, config.fields)
                    report.sdk.append(row)
                    log(
                        f"  sageintacctsdk N={records:,} L={latency:g}ms: {row.seconds:.2f}s, "
                        f"{row.transactions} transactions{' ERROR ' + row.error if row.error else ''}"
                    )
            if config.probes and records == probe_size:
                pages = max(1, min(config.probe_pages, math.ceil(records / PAGE_SIZE) - 1))
                types = field_types(sim)
                every = tuple(types)
                for label, fields in (("benchmark fields", config.fields), ("all fields", every)):
                    cpu = page_cpu(sim, fields, label, pages, types)
                    report.page_cpu.append(cpu)
                    log(f"  CPU per page, {label}: {cpu.cpu_ms_per_page:.1f} ms")
                tasks = {"benchmark fields": config.fields, "all fields": every}
                report.handlers += handler_rows(sim, tasks, pages, log, config.handlers, types)
    report.seconds = time.monotonic() - started
    return report


def parse_size(text: str) -> int:
    """10k, 1M, 2500 → records."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    return int(float(number) * scale)


def _list(parse: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    return lambda text: [parse(part) for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    d = BenchConfig()
    p = argparse.ArgumentParser(prog="benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=_list(parse_size), default=d.sizes, help="records, e.g. 10k,100k,1M")
    p.add_argument("--latencies", type=_list(float), default=d.latencies, help="simulator ms per call")
    p.add_argument("--concurrency", type=_list(int), default=d.concurrency, help="tenant concurrency C")
    p.add_argument("--sdk-sizes", type=_list(parse_size), default=None, help="SDK sizes (default: all)")
    p.add_argument("--no-sdk", action="store_true", help="skip sageintacctsdk")
    p.add_argument("--no-probes", action="store_true", help="skip CPU per page and handler probes")
    p.add_argument("--probe-pages", type=int, default=d.probe_pages, help="pages per probe Task")
    p.add_argument("--fields", default=",".join(d.fields), help="comma-separated fields to export")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--quick", action="store_true", help="tiny run: 10k records, L 0 and 300 ms, C 2")
    p.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    return p


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    config = BenchConfig(
        sizes=args.sizes,
        latencies=args.latencies,
        concurrency=args.concurrency,
        fields=tuple(f.strip().upper() for f in args.fields.split(",") if f.strip()),
        sdk=not args.no_sdk,
        sdk_sizes=args.sdk_sizes,
        probes=not args.no_probes,
        probe_pages=args.probe_pages,
        seed=args.seed,
    )
    if args.quick:
        config.sizes, config.latencies, config.concurrency = [10_000], [0.0, 300.0], [2]
        config.sdk_sizes, config.probe_pages = None, 5
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = run_benchmarks(config, log)
    print(render(report))
    print(f"\n(benchmark took {report.seconds:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=1, default=str))
    failed = [r for r in report.exports if r.status != "SUCCEEDED"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
