"""Retry policy and timeouts for gateway calls.

Policy (the official SDKs' plus what the Intacct error-handling guide asks for):
- retried: HTTP 5xx except 524; HTTP 429 / ``GW-0010``; HTML pages (Cloudflare); empty, truncated or
  malformed bodies; connection errors, resets and read timeouts;
- not retried: 524 (Intacct may still be running the request; ``getAPISession`` is the exception, as in
  the SDKs' session provider, because it is idempotent), other 4xx, and every XML-level error (control,
  authentication, function), which are answers, not glitches;
- delays: exponential ``base_delay * 2**(n-1)`` capped at ``max_delay`` with *full jitter* (a uniform
  draw between 0 and that cap); a ``Retry-After`` header is honoured as a minimum, and when it asks for
  more than ``max_delay`` the client stops and raises ``ThrottledError`` with ``retry_after`` set, so the
  caller (a Step Functions Retry) can wait instead of the Lambda;
- one budget per call: at most ``max_attempts`` attempts (``connect_attempts`` while no connection can
  even be opened: a wrong URL or a refusing host fails in seconds) within ``max_elapsed`` seconds, or
  the caller's deadline when sooner; each attempt's read timeout is cut to what is left. A call the
  client gave up on is final: nothing above it retries it again (retries never multiply across layers).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# The time an invocation has left (the Lambda context's ``get_remaining_time_in_millis``), in milliseconds:
# every call is bounded by it.
RemainingMs = Callable[[], int]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: ``max_attempts`` counts the first try (6 = the SDKs' 5 retries)."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    retry_on_rate_limit: bool = True
    connect_attempts: int = 3  # attempts while the connection cannot be opened at all
    max_elapsed: float = 300.0  # seconds for all attempts and waits of one call

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.connect_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts and connect_attempts must be at least 1")
        if self.max_elapsed <= 0:
            raise ValueError("RetryPolicy.max_elapsed must be positive")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter delay after failed attempt number ``attempt`` (1-based)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        draw = (rng or _RANDOM).random()
        return draw * cap


_RANDOM = random.Random()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None when absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds == float("inf"):  # NaN or infinite
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for the TCP/TLS connection and then between bytes of the response."""

    connect: float = 5.0
    read: float = 120.0

    def as_tuple(self, left: float | None = None) -> tuple[float, float]:
        """The ``timeout=`` argument for requests, the read timeout cut to ``left`` seconds if given."""
        read = self.read if left is None else max(0.1, min(self.read, left))
        return (self.connect, read)
