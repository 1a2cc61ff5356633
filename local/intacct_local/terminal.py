"""What reaches the terminal during a local run: the tool's own lines, nothing else.

The handlers' JSON logs, the client's retry warnings, the emulator's own error dumps and anything a thread
prints go to a log file: file descriptors 1 and 2 point at it for the run, and the tool writes its
progress bar and summary through copies of the real ones. Signals (Ctrl-C, ``kill``, a closed terminal)
ask for a stop instead of raising wherever the main thread happens to be.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Loggers whose INFO lines belong in the log: the runner's (Lambda REPORT lines) and the layer's plain
# loggers (the client's retry warnings). Others (boto, moto) only from WARNING.
INFO_LOGGERS = ("intacct_local", "intacct_sync")


class _LogFilter(logging.Filter):
    def __init__(self, own_handlers: tuple[str, ...]) -> None:
        super().__init__()
        self._own = own_handlers

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in self._own:  # it has a handler of its own on the same file (Powertools' JSON)
            return False
        return record.levelno >= logging.WARNING or record.name.startswith(INFO_LOGGERS)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived while nothing was polling for it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def shell_command(*args: str) -> str:
    """A command to paste into a shell: intacct-sync as this process was started (``intacct-sync`` when
    that is the one on PATH, else the path it was run by, e.g. ``.venv/bin/intacct-sync``), then
    ``args``, each quoted where a shell needs it (a path with a space)."""
    return shlex.join([*_program(), *args])


def _program() -> list[str]:
    started_as = sys.argv[0] if sys.argv else ""
    if os.path.basename(started_as) != "intacct-sync":  # python -m intacct_local (tests, by hand)
        return [sys.executable, "-m", "intacct_local"]
    on_path = shutil.which("intacct-sync")
    try:
        if on_path and os.path.samefile(on_path, started_as):
            return ["intacct-sync"]
    except OSError:
        pass
    return [started_as]


@dataclass
class StopRequest:
    """Set by a stop signal; loops that can stop cleanly poll it (``polling``), elsewhere it raises.
    A second signal ends the process at once, with ``at_once`` (what was kept, how to go on) if given."""

    event: threading.Event = field(default_factory=threading.Event)
    signum: int | None = None
    polling: bool = False
    terminal: TextIO | None = None
    at_once: str = ""

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    def request(self, signum: int) -> None:
        if self.event.is_set():  # a second signal: the first one's clean stop is taking too long
            if self.terminal is not None:
                self.terminal.write(
                    "\nintacct-sync: stopped at once" + (f"; {self.at_once}" if self.at_once else "") + "\n"
                )
                self.terminal.flush()
            os._exit(128 + signum)
        self.signum = signum
        self.event.set()
        if not self.polling:
            raise Interrupted(signum)


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[StopRequest]:
    """Route Ctrl-C, SIGTERM and SIGHUP to `stop` (main thread only); the previous handlers come back."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.request(signum)

    previous = {s: signal.signal(s, handle) for s in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@dataclass
class Terminal:
    """The real standard output and error, while the file descriptors point at the log."""

    out: TextIO
    err: TextIO


# The log file output goes to now (``output_to_log``): where an internal error's details are.
current_log: Path | None = None


@contextmanager
def output_to_log(
    path: Path, *, restore: bool = True, own_handlers: tuple[str, ...] = ()
) -> Iterator[Terminal]:
    """Send everything written to fds 1 and 2 (and Python's warnings and logging) to `path`.
    `own_handlers`: loggers that write there by themselves (skipped by the handler added here).
    A log still empty at the end (a command refused before anything ran) is removed.

    With ``restore=False`` (the command line, which then exits) the descriptors stay on the log, so a
    thread still running at exit cannot print to the terminal either."""
    global current_log
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    terminal = Terminal(
        os.fdopen(saved_out, "w", encoding="utf-8", errors="replace", buffering=1),
        os.fdopen(saved_err, "w", encoding="utf-8", errors="replace", buffering=1),
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(_LogFilter(own_handlers))
    root = logging.getLogger()
    root.addHandler(handler)
    quiet_levels = {name: logging.getLogger(name).level for name in INFO_LOGGERS}
    for name in quiet_levels:
        logging.getLogger(name).setLevel(logging.INFO)
    current_log = path
    try:
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        with suppress(OSError):
            if path.stat().st_size == 0:
                path.unlink()
                current_log = None
        if restore:
            current_log = None
            root.removeHandler(handler)
            for name, level in quiet_levels.items():
                logging.getLogger(name).setLevel(level)
            os.dup2(terminal.out.fileno(), 1)
            os.dup2(terminal.err.fileno(), 2)
            terminal.out.close()
            terminal.err.close()


# Exit status of a command whose reader stopped reading (``| head``): what a shell reports for a tool that
# SIGPIPE ended (128 + 13), as ``cat`` or ``grep`` would give.
READER_LEFT = 128 + signal.SIGPIPE


@dataclass
class Reader:
    """Whoever reads a stream; ``left`` once it stopped reading (the pipe closed)."""

    left: bool = False


@contextmanager
def reader_may_leave(stream: TextIO) -> Iterator[Reader]:
    """Write to ``stream`` for a reader that may stop reading (``| head``): a closed pipe ends the output
    quietly (``Reader.left``) instead of being an error, and whatever is still buffered, or written later,
    goes to /dev/null (as Python's documentation advises for SIGPIPE), so no flush fails at exit either."""
    reader = Reader()
    try:
        yield reader
        stream.flush()
    except BrokenPipeError:
        reader.left = True
        reader_gone(stream)


def reader_gone(stream: TextIO) -> None:
    """Point ``stream`` at /dev/null: its reader closed the pipe, and nothing written to it can fail now."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


def exit_now(code: int) -> None:
    """End the process with `code` without waiting for its threads.

    A handler abandoned at a timeout or a stop may sit in a call or a retry's back-off for many seconds
    (its executor's threads too, which Python joins at exit whether daemon or not); the run is over and
    nothing it does can land any more, so nobody waits for it. Everything written so far is flushed."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(code)
