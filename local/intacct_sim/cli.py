"""``intacct-sim`` command line: start the simulator and serve until interrupted."""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import threading
from typing import Any

from .config import SimulatorConfig
from .server import start_simulator

DEFAULT_PORT = 8085
PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when the thread that started it ends
PARENT_POLL_SECONDS = 0.5


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (defaults match SimulatorConfig, except the port)."""
    d = SimulatorConfig()
    p = argparse.ArgumentParser(prog="intacct-sim", description="Local Sage Intacct XML gateway simulator")
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    p.add_argument("--records", type=int, default=d.records, help="records per object")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--latency-ms", type=float, default=d.latency_ms, help="added to every gateway call")
    p.add_argument("--latency-per-record-ms", type=float, default=d.latency_per_record_ms)
    p.add_argument("--concurrency-limit", type=int, default=None, help="HTTP 429 GW-0010 beyond this")
    p.add_argument("--session-seconds", type=float, default=None)
    p.add_argument("--session-minutes", type=float, default=None)
    p.add_argument("--timezone", default=d.timezone, help="tenant time zone of WHENCREATED/WHENMODIFIED")
    p.add_argument("--entities", default=",".join(d.entities), help="comma-separated MEGAENTITYIDs")
    p.add_argument("--sender-id", default=d.sender_id)
    p.add_argument("--sender-password", default=d.sender_password)
    p.add_argument("--company-id", default=d.company_id)
    p.add_argument("--user-id", default=d.user_id)
    p.add_argument("--user-password", default=d.user_password)
    p.add_argument("--endpoint-url", default=None, help="endpoint returned by getAPISession")
    p.add_argument("--faults", type=_json_list, default=[], help="JSON list of fault rules")
    p.add_argument("--mutations", type=_json_any, default=[], help="JSON mutations_per_query rule(s)")
    p.add_argument("--readmore-ttl-seconds", type=float, default=d.readmore_ttl_seconds)
    p.add_argument(
        "--refused-fields",
        type=_json_any,
        default=d.refused_fields,
        help='JSON {"OBJECT": [fields]}: listed by lookup, refused by query',
    )
    p.add_argument("--audit-objectkey", choices=("name", "rec"), default=d.audit_objectkey)
    p.add_argument("--audit-bare-key-percent", type=float, default=d.audit_bare_key_percent)
    p.add_argument("--audit-recordno", choices=("empty", "absent", "present"), default=d.audit_recordno)
    p.add_argument("--denied-objects", default="", help="comma-separated objects the user may not query")
    p.add_argument("--audit-denial-errorno", default=d.audit_denial_errorno, help="'' or PL04000005")
    p.add_argument(
        "--omitted-fields",
        type=_json_any,
        default=d.omitted_fields,
        help='JSON {"OBJECT": [fields]}: silently absent from every record',
    )
    p.add_argument(
        "--custom-fields",
        type=_json_any,
        default=d.custom_fields,
        help='JSON {"OBJECT": {"count": n, "name_length": characters}}: tenant custom fields added',
    )
    p.add_argument("--date-format", default=d.date_format, help="user dateformat, e.g. /mdY, .dmy, -Ymd")
    p.add_argument("--clock", type=int, choices=(12, 24), default=d.clock, help="user clock")
    p.add_argument("--locale", default=d.locale)
    p.add_argument(
        "--top-level-percent",
        type=float,
        default=d.top_level_percent,
        help="share of records created at the top level of the multi-entity company",
    )
    p.add_argument(
        "--private-needs-showprivate",
        choices=("true", "false"),
        default=str(d.private_needs_showprivate).lower(),
        help="top-level queries see entity-owned records only with <showprivate>true</showprivate>",
    )
    p.add_argument(
        "--never-modified-percent",
        type=float,
        default=d.never_modified_percent,
        help="share of records never modified (empty WHENMODIFIED); 0 = none",
    )
    p.add_argument(
        "--filter-date-format",
        choices=("standard", "user"),
        default=d.filter_date_format,
        help="how date filter values are read: MM/DD/YYYY [HH:MM:SS] or the user's format",
    )
    p.add_argument("--gmtoffset-style", choices=("colon", "compact"), default=d.gmtoffset_style)
    p.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    p.add_argument(
        "--exit-with-parent",
        type=int,
        metavar="PID",
        help="stop when process PID (the one that started this) ends, even by kill -9",
    )
    return p


def _json_any(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"invalid JSON: {exc}") from None


def _json_list(text: str) -> list[Any]:
    value = _json_any(text)
    if not isinstance(value, list):
        raise argparse.ArgumentTypeError("expected a JSON list")
    return value


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """SimulatorConfig from parsed arguments."""
    session_seconds = SimulatorConfig.session_seconds
    if args.session_minutes is not None:
        session_seconds = args.session_minutes * 60
    if args.session_seconds is not None:
        session_seconds = args.session_seconds
    return SimulatorConfig(
        records=args.records,
        seed=args.seed,
        port=args.port,
        host=args.host,
        latency_ms=args.latency_ms,
        latency_per_record_ms=args.latency_per_record_ms,
        concurrency_limit=args.concurrency_limit or None,
        session_seconds=session_seconds,
        timezone=args.timezone,
        sender_id=args.sender_id,
        sender_password=args.sender_password,
        company_id=args.company_id,
        user_id=args.user_id,
        user_password=args.user_password,
        entities=tuple(e.strip() for e in args.entities.split(",") if e.strip()),
        faults=args.faults,
        mutations_per_query=args.mutations,
        readmore_ttl_seconds=args.readmore_ttl_seconds,
        refused_fields=args.refused_fields,
        omitted_fields=args.omitted_fields,
        custom_fields=args.custom_fields,
        audit_objectkey=args.audit_objectkey,
        audit_bare_key_percent=args.audit_bare_key_percent,
        audit_recordno=args.audit_recordno,
        denied_objects=[o.strip() for o in args.denied_objects.split(",") if o.strip()],
        audit_denial_errorno=args.audit_denial_errorno,
        endpoint_url=args.endpoint_url,
        verbose=args.verbose,
        date_format=args.date_format,
        clock=args.clock,
        locale=args.locale,
        gmtoffset_style=args.gmtoffset_style,
        filter_date_format=args.filter_date_format,
        never_modified_percent=args.never_modified_percent,
        top_level_percent=args.top_level_percent,
        private_needs_showprivate=args.private_needs_showprivate == "true",
    )


def exit_with_parent(parent: int, done: threading.Event) -> None:
    """End with process ``parent`` however it ends (``kill -9`` included, which leaves it no chance to stop
    its children). On Linux the kernel sends SIGTERM when the parent goes (``PR_SET_PDEATHSIG``, which
    follows the thread that started this process: start it from one that lives as long); elsewhere, or
    should prctl fail, a thread looks every half second whether the parent is still there. A parent gone
    before this ran is seen at once."""
    if os.getppid() != parent:
        done.set()
        return
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
                if os.getppid() != parent:  # it went between the check above and prctl
                    done.set()
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while not done.wait(PARENT_POLL_SECONDS):
            if os.getppid() != parent:
                done.set()

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Start, print one ready line, serve until SIGINT/SIGTERM (or, with ``--exit-with-parent``, until
    that process ends)."""
    args = build_parser().parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    if args.exit_with_parent is not None:
        exit_with_parent(args.exit_with_parent, done)
        if done.is_set():
            return 0
    try:
        config = config_from_args(args)
        sim = start_simulator(config)
    except (ValueError, OSError) as exc:
        print(f"intacct-sim: {exc}", file=sys.stderr)
        return 2
    if done.is_set():  # stopped while the data was being generated
        sim.stop()
        return 0
    print(
        f"intacct-sim ready at {sim.url} ({config.records} records per object, seed {config.seed}, "
        f"timezone {config.timezone}; started in {sim.startup_seconds:.2f} s)",
        flush=True,
    )
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
