"""The Intacct XML gateway client: one ``requests.Session``, bounded retries, typed errors.

Nothing secret leaves this module: exceptions and log lines carry only the Intacct error fields, HTTP
statuses and function names; known secret values (passwords, session ids) are scrubbed out of error
fields before an exception is built, and exceptions are raised outside ``except`` blocks so that they
do not keep a reference to a ``requests`` exception (whose ``.request.body`` holds the credentials).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from random import Random
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from . import envelope
from .credentials import SenderCredentials, UserCredentials
from .envelope import MalformedBody, ParsedResponse, ParsedResult
from .errors import (
    AuthenticationError,
    ControlError,
    ErrorDetail,
    FunctionError,
    GatewayError,
    IntacctError,
    InvalidResponseError,
    PossiblyStillRunningError,
    RateLimitError,
    SessionExpiredError,
    TransportError,
)
from .filters import check_field_name
from .query import FieldInfo, Query, QueryPage, ReadPage, check_read_arguments
from .retry import RetryPolicy, Timeouts, parse_retry_after
from .session import ApiSession, utc_now

logger = logging.getLogger(__name__)

DEFAULT_GATEWAY_URL = "https://api.intacct.com/ia/xml/xmlgw.phtml"
# Used only when a getAPISession response carries no <sessiontimeout> (documented lifetimes are 1 h+).
DEFAULT_SESSION_LIFETIME = timedelta(minutes=30)
USER_AGENT = "intacct-sync/0.1 python-requests"
SESSION_REFUSED_ERRORNO = "XMLGW_JPP0002"
RATE_LIMIT_ERRORNO = "GW-0010"

AuthKind = Literal["login", "session"]
T = TypeVar("T")


class _Retryable(Exception):
    """A failure of a transient kind; ``error`` is raised if no retry is left."""

    def __init__(
        self,
        error: IntacctError,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        not_executed: bool = False,
        rate_limited: bool = False,
        final: bool = False,
    ) -> None:
        super().__init__(reason)
        self.final = final
        self.error = error
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.not_executed = not_executed
        self.rate_limited = rate_limited


@dataclass
class TransactionTally:
    """Transactions counted by one ``IntacctClient.transaction_tally()`` block."""

    by_function: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """All transactions counted in the block."""
        return sum(self.by_function.values())


@dataclass(frozen=True)
class _Call:
    """What one gateway call needs besides the payload."""

    url: str
    function: str
    auth: AuthKind
    control_id: str
    secrets: tuple[str, ...] = field(repr=False)
    idempotent: bool = True
    retry_524: bool = False


class IntacctClient:
    """Talks to the Intacct XML gateway.

    ``get_api_session`` logs in at ``gateway_url``; every other call goes to the session's endpoint.
    ``transactions`` counts, by function name, every function the gateway executed (a ``<result>``
    came back, success or failure): each is a billed Intacct transaction. A function whose answer was
    lost (truncated body, 524, read timeout) may have run and been billed without being counted here.
    """

    def __init__(
        self,
        sender: SenderCredentials,
        *,
        gateway_url: str = DEFAULT_GATEWAY_URL,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass, safe as a default
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen dataclass, safe as a default
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Random | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        parts = urlsplit(gateway_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("gateway_url must be an http(s) URL")
        self._sender = sender
        self.gateway_url = gateway_url
        self.retry = retry
        self.timeouts = timeouts
        self._owns_http = http is None
        self._http = http if http is not None else _new_http_session()
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self._transactions: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._tallies = threading.local()

    def __repr__(self) -> str:
        return f"IntacctClient(sender_id={self._sender.sender_id!r}, gateway_url={self.gateway_url!r})"

    # ------------------------------------------------------------------------------------ counters

    @property
    def transactions(self) -> Counter[str]:
        """Executed (billed) functions by name, since creation or the last ``reset_transactions``."""
        with self._lock:
            return Counter(self._transactions)

    @property
    def total_transactions(self) -> int:
        """The sum of ``transactions``."""
        with self._lock:
            return sum(self._transactions.values())

    def reset_transactions(self) -> Counter[str]:
        """Return the counts and start again from zero."""
        with self._lock:
            counts, self._transactions = self._transactions, Counter()
            return counts

    @contextmanager
    def transaction_tally(self) -> Iterator[TransactionTally]:
        """Count the transactions this thread runs inside the ``with`` block (logins included)::

            with client.transaction_tally() as tally:
                sessions.call(lambda s: client.query(s, q))
            charge(tally.total)

        Tallies are per thread, so concurrent calls on a shared client are not mixed up; they nest.
        """
        tally = TransactionTally()
        active: list[TransactionTally] = self._tallies.__dict__.setdefault("active", [])
        active.append(tally)
        try:
            yield tally
        finally:
            active.remove(tally)

    def _count(self, function: str) -> None:
        with self._lock:
            self._transactions[function] += 1
        for tally in self._tallies.__dict__.get("active", ()):
            tally.by_function[function] += 1

    # -------------------------------------------------------------------------------------- public

    def get_api_session(self, user: UserCredentials) -> ApiSession:
        """Log in and call ``getAPISession``; the session is tied to the endpoint it returns.

        Raises ``AuthenticationError`` when the login is refused (never retried).
        """
        call = _Call(
            url=self.gateway_url,
            function="getAPISession",
            auth="login",
            control_id=envelope.new_control_id(),
            secrets=(self._sender.sender_password, user.user_password),
            retry_524=True,  # idempotent: the SDKs' session provider retries every 5xx
        )
        payload = envelope.build_request(
            self._sender,
            envelope.login_auth(user),
            "getAPISession",
            None,
            function_control_id=call.control_id,
        )

        def decode(status: int, content_type: str, body: bytes) -> tuple[ParsedResponse, ParsedResult]:
            parsed, result = self._decode_xml(call, status, body)
            if result.data is None or result.data.find("api") is None:
                raise InvalidResponseError(
                    "INVALID_RESPONSE", "getAPISession succeeded without <data><api>", function=call.function
                )
            return parsed, result

        parsed, result = self._exchange(call, payload, decode)
        api = result.data.find("api") if result.data is not None else None
        session_id = envelope.child_text(api, "sessionid")
        endpoint = envelope.child_text(api, "endpoint")
        location = envelope.child_text(api, "locationid") or None
        if not session_id or not endpoint:
            raise InvalidResponseError(
                "INVALID_RESPONSE", "getAPISession returned no session id or endpoint", function=call.function
            )
        self._check_endpoint(endpoint)
        expires = envelope.parse_timestamp(parsed.session_timeout) or self._clock() + DEFAULT_SESSION_LIFETIME
        return ApiSession(session_id=session_id, endpoint=endpoint, expires_at=expires, location_id=location)

    def query(
        self, session: ApiSession, query: Query, peek: Callable[[bytes], None] | None = None
    ) -> QueryPage:
        """Run one ``query`` page at ``session.endpoint``.

        XML pages carry Intacct's ``count``/``totalcount``/``numremaining``; JSON pages only the records
        (``count = len(records)``, totals None). ``query`` is read-only, so retrying it is safe.
        ``peek`` is handed a JSON page's raw body as soon as it has arrived, before it is parsed (a
        caller can send its next query meanwhile); a retried page is handed over again.
        """
        call = self._session_call(session, "query")
        payload = envelope.build_request(
            self._sender,
            envelope.session_auth(session.session_id),
            "query",
            envelope.query_body(query),
            function_control_id=call.control_id,
        )

        def decode(status: int, content_type: str, body: bytes) -> QueryPage:
            if query.return_format == "json" and 200 <= status < 300 and body.lstrip()[:1] != b"<":
                if peek is not None:
                    peek(body)
                records, lines = envelope.json_page(body, query.fields)
                self._count(call.function)
                return QueryPage(records, len(records), None, None, query.offset, lines)
            _, result = self._decode_xml(call, status, body)
            return self._query_page(result, query)

        return self._exchange(call, payload, decode)

    def read_by_query(
        self,
        session: ApiSession,
        object: str,
        where: str = "",
        fields: Sequence[str] | None = None,
        page_size: int = 1000,
    ) -> ReadPage:
        """Run the legacy ``readByQuery`` (``where`` is Intacct's SQL-like clause, sent escaped).

        Follow with ``read_more(session, page.result_id)`` while ``page.result_id`` is not None.
        """
        fields_text = check_read_arguments(object, fields, page_size)
        call = self._session_call(session, "readByQuery")
        payload = envelope.build_request(
            self._sender,
            envelope.session_auth(session.session_id),
            "readByQuery",
            envelope.read_by_query_body(object, where, fields_text, page_size),
            function_control_id=call.control_id,
        )
        wanted = None if fields is None else tuple(fields)

        def decode(status: int, content_type: str, body: bytes) -> ReadPage:
            _, result = self._decode_xml(call, status, body)
            return self._read_page(result, wanted)

        return self._exchange(call, payload, decode)

    def read_more(self, session: ApiSession, result_id: str) -> ReadPage:
        """The next page of a ``readByQuery``.

        ``readMore`` advances a server-side cursor, so it is only retried when the request certainly did
        not run (rate limited, or the connection could not be opened): a blind retry could skip a page.
        """
        if not isinstance(result_id, str) or not result_id.strip():
            raise ValueError("result_id must be a non-empty string")
        envelope.check_text(result_id, "result_id")
        call = replace(self._session_call(session, "readMore"), idempotent=False)
        payload = envelope.build_request(
            self._sender,
            envelope.session_auth(session.session_id),
            "readMore",
            {"resultId": result_id},
            function_control_id=call.control_id,
        )

        def decode(status: int, content_type: str, body: bytes) -> ReadPage:
            _, result = self._decode_xml(call, status, body)
            return self._read_page(result, None)

        return self._exchange(call, payload, decode)

    def lookup(self, session: ApiSession, object: str) -> list[FieldInfo]:
        """The fields of an object definition (``lookup``)."""
        check_field_name(object, "object")
        call = self._session_call(session, "lookup")
        payload = envelope.build_request(
            self._sender,
            envelope.session_auth(session.session_id),
            "lookup",
            {"object": object},
            function_control_id=call.control_id,
        )

        def decode(status: int, content_type: str, body: bytes) -> list[FieldInfo]:
            _, result = self._decode_xml(call, status, body)
            return _field_infos(result)

        return self._exchange(call, payload, decode)

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> IntacctClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ----------------------------------------------------------------------------------- internals

    def _session_call(self, session: ApiSession, function: str) -> _Call:
        return _Call(
            url=session.endpoint,
            function=function,
            auth="session",
            control_id=envelope.new_control_id(),
            secrets=(self._sender.sender_password, session.session_id),
        )

    def _check_endpoint(self, endpoint: str) -> None:
        """Refuse to send the session id to an endpoint that does not belong with the gateway."""
        target = urlsplit(endpoint)
        gateway = urlsplit(self.gateway_url)
        host = (target.hostname or "").lower()
        problem = None
        if target.scheme not in ("http", "https") or not host:
            problem = "is not an http(s) URL"
        elif gateway.scheme == "https" and target.scheme != "https":
            problem = "is not https while the gateway is"
        elif (gateway.hostname or "").lower().endswith("intacct.com") and not (
            host == "intacct.com" or host.endswith(".intacct.com")
        ):
            problem = "is not an intacct.com host"
        if problem is not None:
            raise InvalidResponseError(
                "INVALID_ENDPOINT",
                f"getAPISession returned an endpoint that {problem}",
                function="getAPISession",
            )

    def _exchange(self, call: _Call, payload: bytes, decode: Callable[[int, str, bytes], T]) -> T:
        """POST with retries; ``decode`` turns a response into a value or raises."""
        policy = self.retry
        headers = {
            "Content-Type": "application/xml",
            "Accept": "application/xml, text/xml, application/json",
            "Accept-Encoding": "gzip",
            "User-Agent": USER_AGENT,
        }
        attempt = 0
        while True:
            attempt += 1
            failure: _Retryable | None = None
            answered: IntacctError | None = None
            started = time.monotonic()
            try:
                response = self._http.post(
                    call.url, data=payload, headers=headers, timeout=self.timeouts.as_tuple()
                )
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
                return self._interpret(call, status, content_type, body, retry_after, decode)
            except _Retryable as exc:
                failure = exc
            except requests.RequestException as exc:
                failure = self._transport_failure(call, exc)
            except IntacctError as exc:
                answered = exc
            # Raise outside the except blocks: the error must not keep the requests exception as context.
            if answered is not None:
                answered.attempts = attempt
                raise answered
            assert failure is not None
            final = self._give_up(call, failure, attempt, policy)
            if final is not None:
                raise final
            delay = policy.backoff(attempt, self._rng)
            if failure.retry_after is not None:
                delay = max(delay, failure.retry_after)
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
            self._sleep(delay)

    def _give_up(
        self, call: _Call, failure: _Retryable, attempt: int, policy: RetryPolicy
    ) -> IntacctError | None:
        """The error to raise now, or None to retry."""
        error = failure.error
        error.attempts = attempt
        if failure.final:
            return error
        if failure.rate_limited and not policy.retry_on_rate_limit:
            return error
        if not call.idempotent and not failure.not_executed:
            return error
        if failure.retry_after is not None and failure.retry_after > policy.max_delay:
            return error
        if attempt >= policy.max_attempts:
            if isinstance(error, GatewayError | TransportError | RateLimitError):
                error.description = f"{error.description} (gave up after {attempt} attempts)"
            return error
        return None

    def _transport_failure(self, call: _Call, exc: requests.RequestException) -> _Retryable:
        host = urlsplit(call.url).hostname or "?"
        kind = type(exc).__name__
        not_sent = _request_not_sent(exc)
        if isinstance(exc, requests.Timeout):
            errorno = "CONNECT_TIMEOUT" if isinstance(exc, requests.ConnectTimeout) else "READ_TIMEOUT"
            description = (
                f"{kind} talking to {host} (timeouts {self.timeouts.connect}s/{self.timeouts.read}s)"
            )
        elif isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            errorno, description = "CONNECTION", f"{kind}: connection to {host} failed or was reset"
        elif isinstance(exc, requests.exceptions.ContentDecodingError):
            errorno, description = "DECODING", f"{kind}: the response from {host} could not be decompressed"
        else:
            # Not a transient failure (e.g. an invalid URL): surface it at once.
            error = TransportError("TRANSPORT", f"{kind} calling {host}", function=call.function)
            return _Retryable(error, kind, final=True)
        return _Retryable(
            TransportError(errorno, description, function=call.function),
            f"{kind}",
            not_executed=not_sent,
        )

    def _interpret(
        self,
        call: _Call,
        status: int,
        content_type: str,
        body: bytes,
        retry_after: float | None,
        decode: Callable[[int, str, bytes], T],
    ) -> T:
        html = envelope.looks_like_html(content_type, body)
        if status == 524:
            if call.retry_524:
                raise _Retryable(
                    _gateway_error(call, 524, "Intacct gateway returned HTTP 524 (origin timeout)"),
                    "HTTP 524",
                    status=524,
                )
            raise PossiblyStillRunningError(
                "HTTP-524",
                "HTTP 524: the connection was cut while Intacct may still be processing the request; "
                "it was not retried",
                correction="A query or read is read-only and can be run again later",
                http_status=524,
                function=call.function,
            )
        if status == 429:
            details = () if html else self._try_errors(call, body)
            error = self._rate_limit_error(call, details, 429, retry_after)
            raise _Retryable(
                error,
                "rate limited",
                status=429,
                retry_after=retry_after,
                not_executed=True,
                rate_limited=True,
            )
        if status >= 500:
            what = "an HTML page" if html else "an error"
            raise _Retryable(
                _gateway_error(call, status, f"Intacct gateway returned HTTP {status} with {what}"),
                f"HTTP {status}",
                status=status,
                retry_after=retry_after,
            )
        if html:
            if 200 <= status < 300:
                raise _Retryable(
                    _gateway_error(call, status, "Intacct gateway returned an HTML page instead of XML"),
                    "HTML page",
                    status=status,
                )
            if status in (401, 498):
                raise self._refused(call, (), status)
            raise _gateway_error(
                call, status, f"Intacct gateway returned HTTP {status} with an HTML page", retryable=False
            )
        try:
            return decode(status, content_type, body)
        except MalformedBody as exc:
            malformed = str(exc)
        if 200 <= status < 300:
            raise _Retryable(
                _gateway_error(
                    call, status, f"malformed or truncated response: {malformed}", errorno="MALFORMED"
                ),
                "malformed body",
                status=status,
            )
        if status in (401, 498):
            raise self._refused(call, (), status)
        raise _gateway_error(
            call, status, f"Intacct gateway returned HTTP {status} without XML", retryable=False
        )

    def _try_errors(self, call: _Call, body: bytes) -> tuple[ErrorDetail, ...]:
        try:
            root = envelope.parse_document(body)
        except MalformedBody:
            return ()
        return self._scrub(call, envelope.parse_errors(root))

    def _rate_limit_error(
        self, call: _Call, details: tuple[ErrorDetail, ...], status: int | None, retry_after: float | None
    ) -> RateLimitError:
        error = RateLimitError.from_details(
            details,
            http_status=status,
            function=call.function,
            default_errorno=RATE_LIMIT_ERRORNO,
            default_description="Intacct rate limit reached (too many requests)",
        )
        assert isinstance(error, RateLimitError)
        error.retry_after = retry_after
        return error

    def _refused(self, call: _Call, details: tuple[ErrorDetail, ...], status: int | None) -> IntacctError:
        cls = AuthenticationError if call.auth == "login" else SessionExpiredError
        default = "Sign-in refused" if call.auth == "login" else "Session refused (expired or invalid)"
        return cls.from_details(
            details,
            http_status=status,
            function=call.function,
            default_errorno=f"HTTP-{status}" if status else SESSION_REFUSED_ERRORNO,
            default_description=default,
        )

    def _scrub(self, call: _Call, details: tuple[ErrorDetail, ...]) -> tuple[ErrorDetail, ...]:
        secrets = [s for s in call.secrets if s]
        if not secrets:
            return details
        out = []
        for detail in details:
            fields = [detail.errorno, detail.description, detail.description2, detail.correction]
            for secret in secrets:
                fields = [f.replace(secret, "***") for f in fields]
            out.append(ErrorDetail(*fields))
        return tuple(out)

    def _decode_xml(self, call: _Call, status: int, body: bytes) -> tuple[ParsedResponse, ParsedResult]:
        """Parse an XML response and return our function's successful result, or raise its error."""
        parsed = envelope.parse_response(envelope.parse_document(body))
        control_errors = self._scrub(call, parsed.control_errors)
        operation_errors = self._scrub(call, parsed.operation_errors)
        all_errornos = {e.errorno for e in control_errors + operation_errors}
        if RATE_LIMIT_ERRORNO in all_errornos:
            raise _Retryable(
                self._rate_limit_error(call, control_errors or operation_errors, status, None),
                "rate limited",
                status=status,
                not_executed=True,
                rate_limited=True,
            )
        if parsed.control_status == "failure":
            if status in (401, 498) or SESSION_REFUSED_ERRORNO in all_errornos:
                raise self._refused(call, control_errors, status)
            raise ControlError.from_details(control_errors, http_status=status, function=call.function)
        if parsed.acknowledgement and not parsed.has_operation:
            raise InvalidResponseError(
                "INVALID_RESPONSE",
                "got an asynchronous acknowledgement; only synchronous calls are supported",
            )
        if not parsed.has_operation:
            raise MalformedBody("response has no <operation>")
        for result in parsed.results:
            self._count(result.function or call.function)
        if parsed.auth_status == "failure":
            raise self._refused(call, operation_errors, status)
        if status in (401, 498):
            raise self._refused(call, operation_errors, status)
        matching = [r for r in parsed.results if r.control_id == call.control_id]
        if not matching and len(parsed.results) == 1:
            matching = parsed.results
        if not matching:
            if operation_errors:
                raise ControlError.from_details(operation_errors, http_status=status, function=call.function)
            raise MalformedBody("response has no <result> for the function")
        result = matching[0]
        if result.status != "success":
            errors = self._scrub(call, result.errors)
            raise FunctionError.from_details(
                errors,
                http_status=status,
                function=result.function or call.function,
                default_errorno=f"FUNCTION_{result.status.upper() or 'FAILURE'}",
                default_description=f"{result.function or call.function} returned status {result.status!r}",
            )
        if not 200 <= status < 300:
            raise MalformedBody(f"a successful result came with HTTP {status}")
        return parsed, result

    def _query_page(self, result: ParsedResult, query: Query) -> QueryPage:
        data = result.data
        if data is None:  # no <data> at all: nothing matched
            return QueryPage([], 0, 0, 0, query.offset)
        records = envelope.records_from_data(data, query.fields)
        count = envelope.int_attribute(data, "count")
        if count is not None and count != len(records):
            raise MalformedBody(f"<data count> is {count} but {len(records)} records came back")
        offset = envelope.int_attribute(data, "offset")
        return QueryPage(
            records=records,
            count=len(records),
            total_count=envelope.int_attribute(data, "totalcount"),
            num_remaining=envelope.int_attribute(data, "numremaining"),
            offset=query.offset if offset is None else offset,
        )

    def _read_page(self, result: ParsedResult, fields: Sequence[str] | None) -> ReadPage:
        data = result.data
        if data is None:
            return ReadPage([], 0, 0, 0, None)
        records = envelope.records_from_data(data, fields)
        count = envelope.int_attribute(data, "count")
        if count is not None and count != len(records):
            raise MalformedBody(f"<data count> is {count} but {len(records)} records came back")
        remaining = envelope.int_attribute(data, "numremaining")
        result_id = (data.get("resultId") or "").strip() or None
        return ReadPage(
            records=records,
            count=len(records),
            total_count=envelope.int_attribute(data, "totalcount"),
            num_remaining=remaining,
            result_id=None if remaining == 0 else result_id,
        )


def _gateway_error(
    call: _Call, status: int, description: str, *, errorno: str | None = None, retryable: bool = True
) -> GatewayError:
    error = GatewayError(errorno or f"HTTP-{status}", description, http_status=status, function=call.function)
    error.retryable = retryable
    return error


def _request_not_sent(exc: requests.RequestException) -> bool:
    """True when the connection could not even be opened, so the function certainly did not run."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason: Any = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError)


class _WholeBodyAdapter(HTTPAdapter):
    """Reads each response body in reads of up to 1 MiB instead of requests' 10 KiB.

    A 2000-record page is 0.5-4 MB: in 10 KiB reads that is hundreds of socket reads, and a thread
    waits for the GIL again after each one while other threads (the next page's encoding, other
    segments) run. Errors while reading are mapped to requests exceptions as ``Response.content`` does.
    """

    READ_SIZE = 1 << 20

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        response._content = b"".join(response.iter_content(self.READ_SIZE))
        return response


_PROXY_ENVIRONMENT = frozenset(("http_proxy", "https_proxy", "all_proxy", "no_proxy"))


def _new_http_session(environ: Mapping[str, str] = os.environ) -> requests.Session:
    session = requests.Session()
    # requests looks up proxies (scanning the whole environment), a CA bundle and ~/.netrc on every
    # request: a millisecond of CPU between a page's arrival and the next query. Without proxies (as
    # on Lambda) the CA bundle is read once here instead; with proxies requests' own handling is kept.
    # (.netrc is not wanted anyway: Intacct's credentials travel in the XML body.)
    if not any(name.lower() in _PROXY_ENVIRONMENT for name in environ):
        session.trust_env = False
        session.verify = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True
    adapter = _WholeBodyAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_TRUE = {"true", "t", "1", "yes", "y"}


def _field_infos(result: ParsedResult) -> list[FieldInfo]:
    data = result.data
    if data is None:
        return []
    infos = []
    for element in data.iter("Field"):
        name = envelope.child_text(element, "ID")
        if not name:
            continue
        valid = element.find("VALIDVALUES")
        infos.append(
            FieldInfo(
                name=name,
                label=envelope.child_text(element, "LABEL"),
                data_type=envelope.child_text(element, "DATATYPE"),
                required=envelope.child_text(element, "REQUIRED").lower() in _TRUE,
                read_only=envelope.child_text(element, "READONLY").lower() in _TRUE,
                is_custom=envelope.child_text(element, "ISCUSTOM").lower() in _TRUE,
                description=envelope.child_text(element, "DESCRIPTION"),
                valid_values=tuple((v.text or "") for v in valid.findall("VALIDVALUE"))
                if valid is not None
                else (),
            )
        )
    return infos
