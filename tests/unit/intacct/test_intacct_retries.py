"""Retry policy: what is retried, how often, how long the client waits, and what is raised at the end."""

from __future__ import annotations

import logging
from random import Random

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from intacct_sync.intacct import (
    GatewayError,
    PossiblyStillRunningError,
    Query,
    RateLimitError,
    RetryPolicy,
    TransportError,
)
from intacct_sync.intacct.retry import parse_retry_after
from tests.unit.intacct.intacct_unit_support import (
    SECRETS,
    SESSION,
    USER,
    Reply,
    data_file,
    make_harness,
    xml_reply,
)

QUERY = Query("CUSTOMER", ("RECORDNO", "CUSTOMERID", "STATUS"))
OK = xml_reply("query_single.xml")
HTML_502 = Reply(status=502, body=data_file("cloudflare_502.html"), headers={"Content-Type": "text/html"})
POLICY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


def refused_connection() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/ia/xml/xmlgw.phtml", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "failure",
    [
        Reply(status=500, body=b"Internal Server Error", headers={"Content-Type": "text/plain"}),
        Reply(status=503, body=b""),
        HTML_502,
        Reply(status=200, body=data_file("cloudflare_502.html"), headers={"Content-Type": "text/html"}),
        Reply(status=200, body=data_file("query_single.xml")[:-40]),  # truncated
        Reply(
            status=200, body=b"<response><control><status>success</status></contr></response>"
        ),  # malformed
        Reply(status=200, body=b""),
        Reply(status=429, body=data_file("rate_limit_gw0010.xml")),
        xml_reply("rate_limit_gw0010.xml"),
        requests.ConnectionError("Connection reset by peer"),
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
        requests.ReadTimeout("read timed out"),
        requests.ConnectTimeout("connect timed out"),
    ],
    ids=[
        "500",
        "503",
        "502-html",
        "200-html",
        "truncated",
        "malformed",
        "empty",
        "429",
        "gw0010-200",
        "reset",
        "chunked",
        "read-timeout",
        "connect-timeout",
    ],
)
def test_transient_failures_are_retried_then_succeed(failure: object) -> None:
    h = make_harness(failure, failure, OK, retry=POLICY)
    page = h.client.query(SESSION, QUERY)
    assert page.count == 1
    assert len(h.http.sent) == 3
    assert len(h.sleeps) == 2
    assert h.client.transactions == {"query": 1}  # failed attempts ran nothing billable


def test_5xx_exhausts_the_attempts_then_raises_a_retryable_gateway_error() -> None:
    h = make_harness(*[HTML_502] * 4, retry=POLICY)
    with pytest.raises(GatewayError) as info:
        h.client.query(SESSION, QUERY)
    assert len(h.http.sent) == 4
    assert info.value.http_status == 502
    assert info.value.retryable is True
    assert info.value.attempts == 4
    assert "gave up after 4 attempts" in str(info.value)
    assert "HTML" in str(info.value)


def test_524_is_not_retried_and_says_the_request_may_still_be_running() -> None:
    h = make_harness(Reply(status=524, body=b"", headers={}), OK, retry=POLICY)
    with pytest.raises(PossiblyStillRunningError) as info:
        h.client.query(SESSION, QUERY)
    assert len(h.http.sent) == 1
    assert info.value.http_status == 524
    assert info.value.attempts == 1
    assert "may still be processing" in str(info.value)


def test_524_after_retries_reports_every_attempt() -> None:
    h = make_harness(Reply(status=503, body=b""), Reply(status=524, body=b""), retry=POLICY)
    with pytest.raises(PossiblyStillRunningError) as info:
        h.client.query(SESSION, QUERY)
    assert info.value.attempts == 2
    assert info.value.__context__ is None


def test_524_on_get_api_session_is_retried_like_the_sdk_session_provider() -> None:
    h = make_harness(Reply(status=524, body=b""), xml_reply("session_success.xml"), retry=POLICY)
    assert h.client.get_api_session(USER).session_id == "fAkESesSiOnId.."
    assert len(h.http.sent) == 2


def test_other_4xx_without_xml_are_not_retried() -> None:
    h = make_harness(Reply(status=404, body=b"<html>not found</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(GatewayError) as info:
        h.client.query(SESSION, QUERY)
    assert info.value.retryable is False and info.value.http_status == 404
    assert len(h.http.sent) == 1


def test_rate_limit_exhausted_raises_rate_limit_error() -> None:
    limited = Reply(status=429, body=data_file("rate_limit_gw0010.xml"))
    h = make_harness(*[limited] * 4, retry=POLICY)
    with pytest.raises(RateLimitError) as info:
        h.client.query(SESSION, QUERY)
    assert info.value.errorno == "GW-0010" and info.value.http_status == 429
    assert len(h.http.sent) == 4


def test_rate_limit_retry_can_be_switched_off() -> None:
    limited = Reply(status=429, body=b"", headers={})
    h = make_harness(
        limited, OK, retry=RetryPolicy(max_attempts=4, base_delay=0.01, retry_on_rate_limit=False)
    )
    with pytest.raises(RateLimitError) as info:
        h.client.query(SESSION, QUERY)
    assert info.value.errorno == "GW-0010"
    assert len(h.http.sent) == 1


def test_retry_after_is_honoured_as_a_minimum_delay() -> None:
    limited = Reply(status=429, body=b"", headers={"Retry-After": "0.5"})
    h = make_harness(limited, OK, retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=1.0))
    h.client.query(SESSION, QUERY)
    assert h.sleeps == [0.5]


def test_retry_after_longer_than_max_delay_stops_and_reports_it() -> None:
    limited = Reply(status=429, body=b"", headers={"Retry-After": "120"})
    h = make_harness(limited, OK, retry=RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=30))
    with pytest.raises(RateLimitError) as info:
        h.client.query(SESSION, QUERY)
    assert info.value.retry_after == 120
    assert h.sleeps == [] and len(h.http.sent) == 1


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=5.0)
    rng = Random(7)
    for attempt, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (5, 5.0)]:
        draws = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in draws)
        assert max(draws) > cap * 0.8  # actually spread over the range, not a constant
        assert min(draws) < cap * 0.2


def test_sleeps_follow_the_policy() -> None:
    failure = Reply(status=500, body=b"")
    h = make_harness(*[failure] * 5, OK, retry=RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.03))
    h.client.query(SESSION, QUERY)
    assert len(h.sleeps) == 5
    for attempt, delay in enumerate(h.sleeps, start=1):
        assert 0 <= delay <= min(0.03, 0.01 * 2 ** (attempt - 1))


def test_transport_failures_exhausted_raise_transport_error() -> None:
    h = make_harness(*[requests.ReadTimeout("read timed out")] * 4, retry=POLICY)
    with pytest.raises(TransportError) as info:
        h.client.query(SESSION, QUERY)
    assert info.value.errorno == "READ_TIMEOUT"
    assert "gave up after 4 attempts" in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_max_attempts_one_means_no_retry() -> None:
    h = make_harness(Reply(status=503, body=b""), OK, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(GatewayError):
        h.client.query(SESSION, QUERY)
    assert len(h.http.sent) == 1


def test_request_headers_and_timeouts() -> None:
    h = make_harness(OK)
    h.client.query(SESSION, QUERY)
    sent = h.http.sent[0]
    assert sent.headers["Content-Type"] == "application/xml"
    assert sent.headers["Accept-Encoding"] == "gzip"
    assert sent.timeout == (5.0, 120.0)


def test_retries_are_logged_at_warning_without_bodies_or_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="intacct_sync.intacct")
    h = make_harness(Reply(status=503, body=b"upstream body text"), OK, retry=POLICY)
    h.client.query(SESSION, QUERY)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    record = warnings[0]
    message = record.getMessage()
    assert "query attempt 1/4" in message and "HTTP status 503" in message and "HTTP-503" in message
    assert record.attempt == 1 and record.http_status == 503 and record.errorno == "HTTP-503"  # type: ignore[attr-defined]
    everything = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in SECRETS:
        assert secret not in everything
    assert "upstream body text" not in everything
    assert "<request>" not in everything


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None
    from datetime import UTC, datetime

    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now) == 30.0
