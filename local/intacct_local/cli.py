"""`intacct-sync`: run an export locally (`run`) or serve the export API locally (`api`)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intacct_local.runner import RunError, RunOptions, run_export, summary_table
from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.spec import ExportSpec, validate_fields


def _positive(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


# Checked while parsing, so a bad value is a one-line usage error (exit 2) and nothing starts.
def _object_name(text: str) -> str:
    try:
        return ExportSpec.from_payload({"object": text}).object
    except InvalidExportRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _field_list(text: str) -> list[str]:
    try:
        return list(validate_fields([f.strip() for f in text.split(",") if f.strip()]))
    except InvalidExportRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _timezone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"not an IANA time zone such as America/Los_Angeles: {text[:100]!r}"
        ) from None
    return text


def _gateway_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"expected an http(s) URL, got {text[:200]!r}")
    return text


def _out_dir(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text[:200]!r} exists and is not a directory")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="intacct-sync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="export one object locally: simulator + emulated AWS + the real state machine"
    )
    run.add_argument(
        "--object", type=_object_name, default="CUSTOMER", help="Intacct object to export (default CUSTOMER)"
    )
    run.add_argument(
        "--records",
        type=_positive(0, 5_000_000),
        default=50_000,
        help="simulated records per object (ignored with --gateway-url)",
    )
    run.add_argument(
        "--page-size", type=_positive(1, 2000), default=2000, help="records per query page (1-2000)"
    )
    run.add_argument(
        "--concurrency", type=_positive(1, 64), default=2, help="tenant concurrency limit (default 2)"
    )
    run.add_argument(
        "--gateway-url",
        type=_gateway_url,
        help="export from this gateway (e.g. a real tenant) instead of the simulator; "
        "credentials come from INTACCT_SENDER_ID, INTACCT_SENDER_PASSWORD, INTACCT_COMPANY_ID, "
        "INTACCT_USER_ID, INTACCT_USER_PASSWORD (and optional INTACCT_ENTITY_ID)",
    )
    run.add_argument(
        "--out", type=_out_dir, default=Path("out"), help="mirror the bucket here (default ./out)"
    )
    run.add_argument("--seed", type=int, default=1, help="simulator data seed")
    run.add_argument("--mode", choices=["full", "incremental"], default="full")
    run.add_argument("--fields", type=_field_list, help="comma-separated field names (default: all fields)")
    run.add_argument("--latency-ms", type=_positive(0, 60_000), default=0, help="simulated latency per call")
    run.add_argument(
        "--timezone", type=_timezone, default="America/Los_Angeles", help="simulated tenant time zone"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--json", action="store_true", help="print the manifest as JSON instead of a table")
    api = sub.add_parser(
        "api",
        help="serve the export API on loopback: the real ApiFunction handler, emulated AWS, the simulator",
    )
    api.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    api.add_argument("--port", type=_positive(0, 65535), default=8787, help="port (default 8787; 0 = any)")
    api.add_argument(
        "--records",
        type=_positive(0, 5_000_000),
        default=10_000,
        help="simulated records per object (ignored with --gateway-url)",
    )
    api.add_argument("--seed", type=int, default=1, help="simulator data seed")
    api.add_argument(
        "--page-size", type=_positive(1, 2000), default=2000, help="default records per query page"
    )
    api.add_argument(
        "--concurrency", type=_positive(1, 64), default=2, help="tenant concurrency limit (default 2)"
    )
    api.add_argument("--latency-ms", type=_positive(0, 60_000), default=0, help="simulated latency per call")
    api.add_argument(
        "--timezone", type=_timezone, default="America/Los_Angeles", help="simulated tenant time zone"
    )
    api.add_argument(
        "--gateway-url",
        type=_gateway_url,
        help="export from this gateway instead of the simulator (credentials from INTACCT_* variables)",
    )
    api.add_argument("--verbose", action="store_true", help="show the functions' INFO logs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        if args.out.exists():
            shutil.rmtree(args.out / "exports", ignore_errors=True)
            shutil.rmtree(args.out / "deletes", ignore_errors=True)
        options = RunOptions(
            object=args.object,
            records=args.records,
            page_size=args.page_size,
            concurrency=args.concurrency,
            gateway_url=args.gateway_url,
            out=args.out,
            seed=args.seed,
            mode=args.mode,
            fields=args.fields or None,
            latency_ms=args.latency_ms,
            timezone=args.timezone,
            quiet=args.quiet,
        )
        try:
            result = run_export(options)
        except RunError as exc:
            print(f"intacct-sync: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(result.manifest, indent=2))
        else:
            print(summary_table(result))
        return 0 if result.status == "SUCCEEDED" else 1
    if args.command == "api":
        from intacct_local.api_server import ApiOptions, run_api

        try:
            return run_api(
                ApiOptions(
                    host=args.host,
                    port=args.port,
                    records=args.records,
                    seed=args.seed,
                    page_size=args.page_size,
                    concurrency=args.concurrency,
                    latency_ms=args.latency_ms,
                    timezone=args.timezone,
                    gateway_url=args.gateway_url,
                    verbose=args.verbose,
                )
            )
        except RunError as exc:
            print(f"intacct-sync: {exc}", file=sys.stderr)
            return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
