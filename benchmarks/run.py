"""``make bench`` / ``python -m benchmarks.run``: the benchmark matrix, printed as Markdown tables.

    python -m benchmarks.run --quick
    python -m benchmarks.run --sizes 1M --latencies 300 --concurrency 2,4 --sdk-sizes 1M --json out.json
    python -m benchmarks.run --probes-only --probe-objects CUSTOMER,VENDOR,PODOCUMENT

For every N a simulator process holds N records; for every C one local pipeline (emulated AWS with the
template deployed) runs a warm-up export and then one export per latency L. The floor for an export is
⌈N/2000⌉·L/C. The SDK runs once per N and L (it has no concurrency). The probes (CPU per page, and the
handlers' cold import and peak memory) run afterwards, per probed object at its real width, in a
simulator of their own sized for a whole Task of each object's pages. See benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.exports import BENCH_FIELDS, OBJECT, ExportRow, SdkRow, export_rows, sdk_row
from benchmarks.probes import (
    PROBE_OBJECTS,
    HandlerRow,
    PageCpuRow,
    ProbeFields,
    field_types,
    handler_rows,
    page_cpu,
    probe_records,
)
from benchmarks.report import machine, render, size_label
from intacct_sim.process import SimulatorProcess

# --quick probes Tasks of 3 pages: from the second page on, one page is landed while the next has arrived
# (benchmarks/RESULTS.md compares their peak RSS with 10-page Tasks').
QUICK_PROBE_PAGES = 3


@dataclass
class BenchConfig:
    """What to run. ``sdk_sizes`` None means every size; ``handlers`` None means every function (cold
    import); ``probe_objects`` are the objects whose pages are probed, each with all its fields (and
    the export object with the benchmark fields too)."""

    sizes: list[int] = field(default_factory=lambda: [10_000, 100_000, 1_000_000])
    latencies: list[float] = field(default_factory=lambda: [0.0, 300.0])
    concurrency: list[int] = field(default_factory=lambda: [1, 2, 4])
    fields: tuple[str, ...] = BENCH_FIELDS
    sdk: bool = True
    sdk_sizes: list[int] | None = None
    probes: bool = True
    probe_pages: int = 10
    probe_objects: tuple[str, ...] = PROBE_OBJECTS
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
    probe_records: int = 0  # the probes' simulator --records
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for row, raw in zip(self.exports, data["exports"], strict=True):
            raw.update(floor=row.floor, ratio=row.ratio, records_per_second=row.records_per_second)
        return data


def run_benchmarks(config: BenchConfig, log: Callable[[str], None] = print) -> BenchReport:
    """Run the configured matrix and probes; returns every figure (tables: ``report.render``)."""
    report = BenchReport(config, machine())
    started = time.monotonic()
    sdk_sizes = config.sizes if config.sdk_sizes is None else config.sdk_sizes
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
    if config.probes and config.probe_objects:
        _run_probes(config, report, log)
    report.seconds = time.monotonic() - started
    return report


def _run_probes(config: BenchConfig, report: BenchReport, log: Callable[[str], None]) -> None:
    """CPU per page and the handlers, per probed object, in a simulator sized for a Task of each."""
    report.probe_records = probe_records(config.probe_objects, config.probe_pages)
    log(f"Probes: starting the simulator with N = {size_label(report.probe_records)}")
    with SimulatorProcess(records=report.probe_records, seed=config.seed) as sim:
        probes = []
        for name in config.probe_objects:
            types = field_types(sim, name)
            if name == OBJECT:
                probes.append(ProbeFields(name, "benchmark fields", config.fields, types))
            probes.append(ProbeFields(name, "all fields", tuple(types), types))
        for probe in probes:
            cpu = page_cpu(sim, probe, config.probe_pages)
            report.page_cpu.append(cpu)
            log(
                f"  CPU per page, {probe.name} ({cpu.field_count}): {cpu.cpu_ms_per_page:.1f} ms, "
                f"part {cpu.part_kib:.0f} KiB"
            )
        report.handlers += handler_rows(sim, probes, config.probe_pages, log, config.handlers)


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
    p.add_argument("--probes-only", action="store_true", help="only the probes: no exports, no SDK")
    p.add_argument("--probe-pages", type=int, default=None, help=f"pages per probe Task ({d.probe_pages})")
    p.add_argument(
        "--probe-objects",
        default=None,
        help=f"objects whose pages are probed, all fields typed ({','.join(d.probe_objects)})",
    )
    p.add_argument("--fields", default=",".join(d.fields), help="comma-separated fields to export")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--quick", action="store_true", help="tiny run: 10k records, L 0 and 300 ms, C 2, 3-page probe Tasks"
    )
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
        seed=args.seed,
    )
    if args.quick:
        config.sizes, config.latencies, config.concurrency = [10_000], [0.0, 300.0], [2]
        config.sdk_sizes, config.probe_pages = None, QUICK_PROBE_PAGES
    if args.probe_pages is not None:
        config.probe_pages = args.probe_pages
    if args.probe_objects is not None:
        config.probe_objects = tuple(o.strip().upper() for o in args.probe_objects.split(",") if o.strip())
    if args.probes_only:
        config.sizes, config.sdk = [], False
    return config


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_from_args(args)
    if config.probes:
        try:
            probe_records(config.probe_objects, config.probe_pages)
        except ValueError as exc:
            parser.error(f"--probe-objects: {exc}")

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
