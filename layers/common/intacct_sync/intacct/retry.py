"""The retry loop of a gateway call, under a ``policy.RetryPolicy``."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from .classify import Call, Decode, Retryable, interpret
from .errors import GatewayError, IntacctError, RateLimitError, ThrottledError, TransportError
from .policy import RetryPolicy, Timeouts, parse_retry_after
from .transport import HEADERS, transport_failure

logger = logging.getLogger(__name__)
T = TypeVar("T")
# No attempt starts with less time than this left in the call's budget.
MIN_ATTEMPT_SECONDS = 1.0


def call_with_retries(
    call: Call,
    payload: bytes,
    decode: Decode[T],
    *,
    http: Any,
    policy: RetryPolicy,
    timeouts: Timeouts,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    deadline: float | None = None,
) -> T:
    """POST ``payload`` to ``call.url`` and return what ``decode`` makes of the answer, retrying transient
    failures under ``policy``; raise the ``IntacctError`` that ends the call.

    ``deadline`` (``time.monotonic()`` seconds) ends the call's budget sooner than ``policy.max_elapsed``
    when the caller must be done by then (a Lambda's timeout); the last attempt's read timeout is cut to
    fit. Errors are raised outside ``except`` blocks, so they never keep a ``requests`` exception (whose
    request body holds the credentials) as their context."""
    began = time.monotonic()
    ends = began + policy.max_elapsed if deadline is None else min(began + policy.max_elapsed, deadline)
    attempt = 0
    while True:
        attempt += 1
        failure: Retryable | None = None
        answered: IntacctError | None = None
        started = time.monotonic()
        try:
            timeout = timeouts.as_tuple(ends - started)
            response = http.post(call.url, data=payload, headers=HEADERS, timeout=timeout)
            status = response.status_code
            body = response.content
            content_type = response.headers.get("Content-Type", "")
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            logger.debug(
                "Intacct %s: HTTP %s, %d bytes in %.3fs",
                call.function,
                status,
                len(body),
                time.monotonic() - started,
            )
            return interpret(call, status, content_type, body, retry_after, decode)
        except Retryable as exc:
            failure = exc
        except requests.RequestException as exc:
            failure = transport_failure(call, exc, timeouts)
        except IntacctError as exc:
            answered = exc
        if answered is not None:
            answered.attempts = attempt
            raise answered
        assert failure is not None
        delay = policy.backoff(attempt, rng)
        if failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        final = _give_up(
            call, failure, attempt, policy, time.monotonic() + delay + MIN_ATTEMPT_SECONDS > ends
        )
        if final is not None:
            raise final
        logger.warning(
            "Intacct %s attempt %d/%d failed (%s, HTTP status %s, errorno %s); retrying in %.3fs",
            call.function,
            attempt,
            policy.max_attempts,
            failure.reason,
            failure.status,
            failure.error.errorno,
            delay,
            extra={
                "intacct_function": call.function,
                "attempt": attempt,
                "max_attempts": policy.max_attempts,
                "http_status": failure.status,
                "errorno": failure.error.errorno,
                "delay_s": round(delay, 3),
            },
        )
        sleep(delay)


def _give_up(
    call: Call, failure: Retryable, attempt: int, policy: RetryPolicy, out_of_time: bool
) -> IntacctError | None:
    """The error to raise now, or None to retry."""
    error = failure.error
    error.attempts = attempt
    if failure.final:
        return error
    if failure.rate_limited and not policy.retry_on_rate_limit:
        return error
    if failure.retry_after is not None and failure.retry_after > policy.max_delay:
        throttled = ThrottledError(
            error.errorno,
            f"{error.description} (Intacct asked to wait {failure.retry_after:.0f} s)",
            http_status=error.http_status,
            function=error.function,
        )
        throttled.retry_after, throttled.attempts = failure.retry_after, attempt
        return throttled
    limit = (
        policy.connect_attempts if failure.not_executed and not failure.rate_limited else policy.max_attempts
    )
    if attempt >= limit or out_of_time:
        if isinstance(error, GatewayError | TransportError | RateLimitError):
            why = "its time budget ran out" if attempt < limit else f"{attempt} attempts"
            error.description = f"{error.description} (gave up after {why})"
        return error
    return None
