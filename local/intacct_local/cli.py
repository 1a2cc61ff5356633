"""`intacct-sync`: run an export locally (`run`) or serve the export API locally (`api`)."""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intacct_local import function_settings
from intacct_local import terminal as terminal_output
from intacct_local.errors import RunError
from intacct_local.function_settings import LocalSettings, SettingsProblem
from intacct_local.layer import (
    Catalogue,
    ExportSpec,
    InvalidExportRequest,
    layout,
    logger,
    rerun_refusal,
    validate_fields,
    validate_run_id,
)
from intacct_local.outdir import OutDir
from intacct_local.runner import (
    RunOptions,
    new_run_name,
    resume_command,
    run_export,
    summary_table,
    what_happened,
)
from intacct_local.terminal import (
    READER_LEFT,
    Interrupted,
    StopRequest,
    exit_now,
    output_to_log,
    reader_gone,
    reader_may_leave,
    shell_command,
    stop_on_signals,
)


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


@functools.cache
def user_settings() -> LocalSettings:
    """The documented function settings the user's environment sets (EXPORT_OBJECTS, ...), checked:
    SettingsProblem names a bad one before anything starts (``function_settings``)."""
    return function_settings.from_environment(os.environ)


def catalogue() -> Catalogue:
    """The object catalogue the functions get: EXPORT_OBJECTS from the user's environment, else the
    template's ExportObjects parameter (empty = the default catalogue)."""
    return user_settings().catalogue


# Checked while parsing, so a bad value is a one-line usage error (exit 2) and nothing starts.
def _object_name(text: str) -> str:
    try:
        name = ExportSpec.from_payload({"object": text}).object
    except InvalidExportRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if catalogue().get(name) is None:
        raise argparse.ArgumentTypeError(
            f"{name} is not in the object catalogue ({', '.join(catalogue().names())}); the catalogue is "
            "EXPORT_OBJECTS in your environment, else the ExportObjects parameter in template.yaml"
        )
    return name


def _filter(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            'expected a JSON object, e.g. \'{"field": "STATUS", "op": "equalto", "value": "active"}\''
        ) from None
    try:
        spec = ExportSpec.from_payload({"object": "CUSTOMER", "filter": value})
    except InvalidExportRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert spec.filter is not None
    return spec.filter


def _run_id(text: str) -> str:
    try:
        return validate_run_id(text, "the id")  # the workflow's own rule
    except InvalidExportRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _object_list(text: str) -> list[str]:
    names = [_object_name(name.strip()) for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected catalogue object names separated by commas")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"{', '.join(repeated)} listed more than once")
    return names


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


class _Given(argparse.Action):
    """Stores the value and notes it was given (``<dest>_given``): a sync's objects are incremental where
    possible unless ``--mode full`` is asked for."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_given", True)


def _add_tenant_time(parser: argparse.ArgumentParser) -> None:
    """The options `run` and `api` share on how the tenant answers: latency and time zone."""
    parser.add_argument(
        "--latency-ms", type=_positive(0, 60_000), default=0, help="simulated latency per call"
    )
    parser.add_argument(
        "--timezone",
        type=_timezone,
        default=None,
        help="the tenant's time zone (IANA), as the TenantTimezone parameter; default: the simulator's "
        "America/Los_Angeles, or with --gateway-url the API user's gmtoffset (a fixed offset: give the "
        "zone for daylight saving)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="intacct-sync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="export one object locally: simulator + emulated AWS + the real state machine"
    )
    run.set_defaults(command_parser=run)  # its errors show its own usage
    run.add_argument(
        "--object",
        type=_object_name,
        default="CUSTOMER",
        action=_Given,
        help="Intacct object to export (default CUSTOMER)",
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
        "--out",
        type=_out_dir,
        default=Path("out"),
        help="folder for the exported files, each run beside the others, and the state later runs "
        "continue from (default ./out; nothing in it is ever deleted)",
    )
    run.add_argument("--seed", type=int, default=1, help="simulator data seed")
    run.add_argument(
        "--mode",
        choices=["full", "incremental"],
        default="full",
        action=_Given,
        help="full (the default for one object) or incremental (from the watermark kept in --out); "
        "--all and --objects export each object incrementally where it can be, unless --mode full",
    )
    run.add_argument("--fields", type=_field_list, help="comma-separated field names (default: all fields)")
    run.add_argument(
        "--filter",
        type=_filter,
        help="an Intacct query filter as JSON (the workflow's filter input), e.g. "
        '\'{"field": "STATUS", "op": "equalto", "value": "active"}\'',
    )
    run.add_argument(
        "--resume",
        type=_run_id,
        metavar="RUN_ID",
        help="continue a stopped or failed run kept in --out, with that run's options",
    )
    run.add_argument(
        "--all",
        action="store_true",
        help="sync every catalogue object (the sync workflow: incremental where possible), a line per "
        "object and a summary table; exit 1 if any object failed",
    )
    run.add_argument(
        "--objects",
        type=_object_list,
        metavar="A,B",
        help="sync these catalogue objects (like --all, for a few)",
    )
    run.add_argument(
        "--plan",
        action="store_true",
        help="with --all or --objects: count each object (one query each) and print what a full sync "
        "would cost against the monthly budget; nothing is exported",
    )
    run.add_argument(
        "--resume-sync",
        type=_run_id,
        metavar="SYNC_ID",
        help="rerun only what failed in that sync (kept in --out), resuming runs where their parts landed",
    )
    _add_tenant_time(run)
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
    _add_tenant_time(api)
    api.add_argument(
        "--gateway-url",
        type=_gateway_url,
        help="export from this gateway instead of the simulator (credentials from INTACCT_* variables)",
    )
    api.add_argument("--verbose", action="store_true", help="show the functions' INFO logs here")
    api.add_argument("--log", type=Path, help="write the functions' and the emulator's logs here")
    sql = sub.add_parser(
        "sql",
        help="run SQL (DuckDB) over what runs landed in --out: the same tables and views as in Athena "
        "(<object>, <object>_tombstones, <object>_current, <object>_deletes)",
    )
    sql.add_argument(
        "query",
        help='e.g. "SELECT count(*) FROM customer_current" (Athena\'s database prefix, '
        "intacct_sync_<stage>., is accepted)",
    )
    sql.add_argument("--out", type=_out_dir, default=Path("out"), help="the runs' folder (default ./out)")
    sql.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table (default), csv, or json lines (decimals as JSON numbers where a double holds "
        "them exactly, else as text)",
    )
    return parser


def _source_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What reaches the source and how (the simulator's data, the gateway, paging): kept with each run and
    sync in --out, so that a resume or rerun reaches the same source the same way."""
    names = ("records", "page_size", "concurrency", "gateway_url", "seed", "latency_ms", "timezone")
    return {name: getattr(args, name) for name in names}


def _saved_settings(
    out: OutDir, flag: str, run_id: str, parser: argparse.ArgumentParser
) -> dict[str, Any] | None:
    try:
        return out.load_run(run_id)
    except RunError as exc:
        parser.error(f"argument {flag}: {exc}")


def _log_folder(out: OutDir, name: str, parser: argparse.ArgumentParser) -> None:
    try:
        out.log_path(name).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"argument --out: cannot write to {out.root}: {exc.strerror or exc}")


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser, exit_hard: bool) -> int:
    if args.all or args.objects or args.resume_sync or args.plan:
        return _run_sync(args, parser, exit_hard)
    out = OutDir(args.out)
    settings: dict[str, Any] = {
        "object": args.object,
        **_source_settings(args),
        "mode": args.mode,
        "fields": args.fields or None,
        "filter": args.filter,
    }
    if args.resume:
        saved = _saved_settings(out, "--resume", args.resume, parser)
        if saved is None:
            runs = out.known_runs()
            parser.error(
                f"argument --resume: no run {args.resume} in {args.out}"
                + (f" (runs there: {', '.join(runs[-5:])})" if runs else "")
            )
        settings.update({k: v for k, v in saved.items() if k in settings})
        finished = _finished_run(out, settings["object"], args.resume)
        if finished:
            print(f"intacct-sync: {finished}", file=sys.stderr)
            return 2
    name = new_run_name(settings["object"])
    run_id = args.resume or name
    stop = StopRequest(
        at_once=f"run {run_id}: what had landed is kept; continue with: "
        + resume_command(run_id, str(args.out))
    )
    _log_folder(out, name, parser)
    options = RunOptions(
        **settings,
        out=args.out,
        quiet=args.quiet,
        log_level="INFO",
        resume_run_id=args.resume,
        name=name,
        stop=stop,
    )
    with (
        stop_on_signals(stop),
        output_to_log(out.log_path(name), restore=not exit_hard, own_handlers=(logger.name,)) as terminal,
    ):
        stop.terminal = terminal.err
        try:
            result = run_export(options, stream=terminal.err, function_env=user_settings().env)
        except RunError as exc:
            terminal.err.write(f"intacct-sync: {exc}\n")
            return 2
        except KeyboardInterrupt as exc:  # a signal while the simulator or emulated AWS was starting
            terminal.err.write("\nintacct-sync: stopped before the export started; nothing was exported\n")
            return 128 + (exc.signum if isinstance(exc, Interrupted) else 2)
        stop.polling = True  # from here a signal only asks to stop: the summary is printed whole
        with reader_may_leave(terminal.out):  # `| head`: the run's outcome still sets the exit code
            if args.json:
                terminal.out.write(json.dumps(result.manifest, indent=2) + "\n")
            else:
                terminal.out.write(summary_table(result) + "\n")
                if result.status == "SUCCEEDED" and result.out is not None:
                    _show_current_state(result.object, result.out, terminal.out)
        if result.warnings:
            terminal.err.write(
                f"intacct-sync: {result.warnings[0]}"
                + (f" (and {len(result.warnings) - 1} more)" if len(result.warnings) > 1 else "")
                + "\n"
            )
        request = {key: settings[key] for key in ("object", "fields", "filter")}
        line = what_happened(result, str(args.out), request)
        _what_happened(terminal.err, line, result.log_path, result.stopped)
        if result.stopped or stop.event.is_set():
            return stop.exit_code
        return 0 if result.status == "SUCCEEDED" else 1


def _finished_run(out: OutDir, object_name: str, run_id: str) -> str | None:
    """Why a run cannot be resumed because it succeeded (its manifest in ``out`` says so), else None."""
    try:
        manifest = json.loads((out.root / layout.manifest_key(object_name, run_id)).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("status") != "succeeded":
        return None
    return (
        f"run {run_id} succeeded already ({manifest.get('records_written', 0):,} records, "
        f"manifest in {out.root / layout.manifest_key(object_name, run_id)}): there is nothing to resume; "
        "start a new run without --resume"
    )


def _what_happened(err: Any, line: str | None, log_path: Path | None, stopped: bool) -> None:
    """The line after a summary when something went wrong, and where the full log is."""
    if line:
        err.write(f"intacct-sync: {line}\n")
        if log_path and not stopped:
            err.write(f"intacct-sync: full log: {log_path}\n")
    err.flush()


def _sync_request(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The sync workflow's input for `run --all` / `--objects` / `--plan` / `--resume-sync`."""
    chosen = [name for name, given in (("--all", args.all), ("--objects", args.objects)) if given]
    if args.resume_sync:
        if chosen or args.plan or args.object_given or args.resume:
            parser.error(
                "argument --resume-sync: reruns what failed in that sync as it was asked; give it alone"
            )
        return {"resume_sync_id": args.resume_sync}
    if len(chosen) != 1:
        parser.error(
            "argument --plan: give --all or --objects too"
            if not chosen
            else "give --all or --objects, not both"
        )
    if args.resume:
        parser.error(
            "argument --resume: continues one export run; to rerun what failed in a sync, give "
            "--resume-sync SYNC_ID alone"
        )
    if args.object_given:
        parser.error(f"argument --object: give {chosen[0]} or --object (one export), not both")
    for flag, given in (("--fields", args.fields), ("--filter", args.filter)):
        if given:
            parser.error(f"argument {flag}: a sync exports each object as the catalogue describes it")
    request: dict[str, Any] = {"objects": "all" if args.all else args.objects}
    if args.mode == "full" and args.mode_given:
        request["mode"] = "full"
    if args.plan:
        request["dry_run"] = True
    return request


def _run_sync(args: argparse.Namespace, parser: argparse.ArgumentParser, exit_hard: bool) -> int:
    from intacct_local import sync_run

    request = _sync_request(args, parser)
    out = OutDir(args.out)
    settings = _source_settings(args)
    if args.resume_sync:
        saved = _saved_settings(out, "--resume-sync", args.resume_sync, parser)
        if saved is None or "sync" not in saved:
            parser.error(f"argument --resume-sync: no sync {args.resume_sync} in {args.out}")
        earlier = out.root / layout.sync_key(args.resume_sync)
        if earlier.is_file():
            refusal = rerun_refusal(args.resume_sync, json.loads(earlier.read_text()))
            if refusal is not None:
                parser.error(f"argument --resume-sync: {refusal}")
        settings.update({k: v for k, v in saved.items() if k in settings})
    name = sync_run.new_sync_name()
    _log_folder(out, name, parser)
    stop = StopRequest()
    options = RunOptions(**settings, out=args.out, quiet=True, log_level="INFO", name=name, stop=stop)
    with (
        stop_on_signals(stop),
        output_to_log(out.log_path(name), restore=not exit_hard, own_handlers=(logger.name,)) as terminal,
    ):
        stop.terminal = terminal.err
        what = "planning" if args.plan else "syncing"

        def announce(sync_id: str) -> None:  # once it has started: a refused run names no sync
            terminal.err.write(f"intacct-sync: {what} ({json.dumps(request)}), sync {sync_id}\n")
            terminal.err.flush()

        try:
            result = sync_run.run_sync(
                options, request, stream=terminal.err, function_env=user_settings().env, announce=announce
            )
        except RunError as exc:
            terminal.err.write(f"intacct-sync: {exc}\n")
            return 2
        except KeyboardInterrupt as exc:
            terminal.err.write("\nintacct-sync: stopped before the sync started; nothing was exported\n")
            return 128 + (exc.signum if isinstance(exc, Interrupted) else 2)
        with reader_may_leave(terminal.out):
            if args.json:
                terminal.out.write(json.dumps(result.document, indent=2) + "\n")
            elif table := sync_run.summary_table(result):
                terminal.out.write(table + "\n")
        line = sync_run.what_happened(result, str(args.out))
        _what_happened(terminal.err, line, result.log_path, result.stopped)
        if result.stopped:
            return stop.exit_code
        if result.error:
            return 2
        return 1 if result.failed or result.document.get("status") == "failed" else 0


def _show_current_state(object_name: str, out: Path, terminal: Any) -> None:
    """After a run that succeeded: one query of the current view, and how to ask more."""
    from intacct_local import sql

    try:
        text = sql.current_state_query(object_name, out)
        names, rows = sql.query(out, text)
    except (RunError, OSError, ValueError):
        return  # nothing to show (no typed tables, no DuckDB): the summary said what matters
    terminal.write(f"\n  the current state, with {shell_command('sql', '--out', str(out), text)}:\n")
    terminal.write(sql.render(names, rows) + "\n")


def _sql(args: argparse.Namespace) -> int:
    from intacct_local import sql

    try:
        names, rows = sql.query(args.out, args.query)
    except RunError as exc:
        print(f"intacct-sync sql: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, sql.EmptyQuery) else 1
    with reader_may_leave(sys.stdout) as reader:
        sql.write(names, rows, args.format, sys.stdout)
    return READER_LEFT if reader.left else 0


def _api(args: argparse.Namespace, exit_hard: bool) -> int:
    from intacct_local.api_server import ApiOptions, run_api

    options = ApiOptions(
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
        function_env=user_settings().env,
    )
    stop = StopRequest()
    with stop_on_signals(stop):
        try:
            if args.verbose and not args.log:
                return run_api(options)
            log = args.log or Path(tempfile.gettempdir()) / f"intacct-sync-api-{os.getpid()}.log"
            with output_to_log(log, restore=not exit_hard, own_handlers=(logger.name,)) as terminal:
                options.log_path = log
                try:
                    return run_api(options, stream=terminal.err)
                except RunError as exc:
                    terminal.err.write(f"intacct-sync: {exc}\n")
                    return 2
        except RunError as exc:
            print(f"intacct-sync: {exc}", file=sys.stderr)
            return 2
        except Interrupted as exc:
            return 128 + exc.signum


def main(argv: list[str] | None = None, *, exit_hard: bool = False) -> int:
    """The command line. `exit_hard` (the installed command): the process ends right after, so output
    stays on the log file to the end and nothing waits for leftover threads."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command in ("run", "api"):
            user_settings()  # a bad catalogue or budget is the user's to fix: one line, nothing starts
    except SettingsProblem as exc:
        print(f"intacct-sync: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        args.mode_given = getattr(args, "mode_given", False)
        args.object_given = getattr(args, "object_given", False)
        return _run(args, args.command_parser, exit_hard)
    if args.command == "api":
        return _api(args, exit_hard)
    if args.command == "sql":
        return _sql(args)
    return 2


def entrypoint() -> None:
    """`intacct-sync`: run main, then end the process without waiting for threads a stopped or timed-out
    handler left behind. A bug is one line on the terminal, its traceback in the log."""
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
    try:
        code = main(exit_hard=True)
    except BrokenPipeError:  # stdout's reader left where nothing else expected it (`--help | head`)
        reader_gone(sys.stdout)
        code = READER_LEFT
    except KeyboardInterrupt as exc:  # a stop signal where nothing polls for one (e.g. while parsing)
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        terminal.write(f"\nintacct-sync: stopped ({signal.Signals(signum).name})\n")
        code = 128 + signum
    except Exception as exc:
        where = str(terminal_output.current_log or "the run's log")
        if os.path.samestat(os.fstat(2), os.fstat(terminal.fileno())):  # not redirected yet
            fd, name = tempfile.mkstemp(prefix="intacct-sync-error-", suffix=".log")
            os.dup2(fd, 2)
            os.close(fd)
            where = name
        traceback.print_exc()
        sys.stderr.flush()
        terminal.write(
            f"intacct-sync: internal error ({type(exc).__name__}: {str(exc)[:200]}); details in {where}\n"
        )
        code = 70
    terminal.close()
    exit_now(code)


if __name__ == "__main__":
    entrypoint()
