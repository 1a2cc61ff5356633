"""A dependency-free progress bar: redrawn in place on a terminal, one line every few seconds elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO = sys.stderr, width: int = 30, plain_interval_s: float = 2.0) -> None:
        self._stream, self._width, self._interval = stream, width, plain_interval_s
        self._tty = stream.isatty()
        self._started = time.monotonic()
        self._last_plain = 0.0
        self._unprinted = ""  # the newest line when not on a terminal, until it is printed

    def update(self, records: int, total: int | None, pages: int, transactions: int) -> None:
        elapsed = time.monotonic() - self._started
        rate = records / elapsed if elapsed > 0 else 0.0
        if total and total > 0:
            fraction = min(1.0, records / total)
            filled = int(fraction * self._width)
            bar = "█" * filled + "░" * (self._width - filled)
            head = f"{bar} {fraction:4.0%} {records:,}/{total:,} records"
        else:
            head = f"{records:,} records"
        line = (
            f"{head} · {pages:,} pages · {transactions:,} Intacct calls · {rate:,.0f} rec/s · {elapsed:5.1f}s"
        )
        if self._tty:
            self._stream.write("\r" + line + "\x1b[K")
            self._stream.flush()
        elif time.monotonic() - self._last_plain >= self._interval:
            self._stream.write(line + "\n")
            self._stream.flush()
            self._last_plain, self._unprinted = time.monotonic(), ""
        else:
            self._unprinted = line

    def close(self) -> None:
        """End the bar: a newline on a terminal, elsewhere the last state if it was not printed yet."""
        if self._tty:
            self._stream.write("\n")
        elif self._unprinted:
            self._stream.write(self._unprinted + "\n")
        self._stream.flush()
