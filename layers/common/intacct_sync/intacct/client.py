"""The Intacct XML gateway client: the public calls (``getAPISession``, ``query``, ``lookup``).

Each call builds its request (``request``), sends it with bounded retries (``retry``, over ``transport``),
and turns the answer into a value or a typed error (``classify``, ``response``, ``json_page``, ``lookup``).
Nothing secret leaves the package: exceptions and log lines carry only Intacct's error fields, HTTP
statuses and function names, with known secret values scrubbed out.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from random import Random
from types import TracebackType
from typing import TypeVar
from urllib.parse import urlsplit

import requests

from . import json_page, request, response
from .classify import Call, decode_xml
from .credentials import SenderCredentials, UserCredentials
from .errors import InvalidResponseError
from .formatting import UserFormatting
from .lookup import field_infos
from .names import check_object_name
from .policy import RetryPolicy, Timeouts
from .query import FieldInfo, Query, QueryPage
from .request import DEFAULT_GATEWAY_URL
from .response import MalformedBody, ParsedResponse, ParsedResult
from .retry import call_with_retries
from .session import ApiSession, utc_now
from .tally import TransactionCounter, TransactionTally
from .transport import new_http_session

# Used only when a getAPISession response carries no <sessiontimeout> (documented lifetimes are 1 h+).
DEFAULT_SESSION_LIFETIME = timedelta(minutes=30)

T = TypeVar("T")


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
        self._http = http if http is not None else new_http_session()
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self._counter = TransactionCounter()

    def __repr__(self) -> str:
        return f"IntacctClient(sender_id={self._sender.sender_id!r}, gateway_url={self.gateway_url!r})"

    # ------------------------------------------------------------------------------------ counters

    @property
    def transactions(self) -> Counter[str]:
        """Executed (billed) functions by name, since creation."""
        return self._counter.counts

    @property
    def total_transactions(self) -> int:
        """The sum of ``transactions``."""
        return self._counter.total

    def transaction_tally(self) -> AbstractContextManager[TransactionTally]:
        """Count the transactions this thread runs inside the ``with`` block (logins included)::

        with client.transaction_tally() as tally:
            sessions.call(lambda s: client.query(s, q))
        charge(tally.total)
        """
        return self._counter.tally()

    # -------------------------------------------------------------------------------------- public

    def get_api_session(self, user: UserCredentials, deadline: float | None = None) -> ApiSession:
        """Log in and call ``getAPISession``; the session is tied to the endpoint it returns.

        Raises ``AuthenticationError`` when the login is refused (never retried). ``deadline``
        (``time.monotonic()`` seconds), here and for every call, ends the retry budget sooner.
        """
        call = Call(
            url=self.gateway_url,
            function="getAPISession",
            auth="login",
            control_id=request.new_control_id(),
            secrets=(self._sender.sender_password, user.user_password),
            retry_524=True,  # idempotent: the SDKs' session provider retries every 5xx
        )
        payload = request.build_request(
            self._sender, request.login_auth(user), "getAPISession", None, function_control_id=call.control_id
        )

        def decode(status: int, content_type: str, body: bytes) -> tuple[ParsedResponse, ParsedResult]:
            parsed, result = decode_xml(call, status, body, self._counter.count)
            if result.data is None or result.data.find("api") is None:
                raise InvalidResponseError(
                    "INVALID_RESPONSE", "getAPISession succeeded without <data><api>", function=call.function
                )
            return parsed, result

        parsed, result = self._send(call, payload, decode, deadline)
        api = result.data.find("api") if result.data is not None else None
        session_id = response.child_text(api, "sessionid")
        endpoint = response.child_text(api, "endpoint")
        location = response.child_text(api, "locationid") or None
        if not session_id or not endpoint:
            raise InvalidResponseError(
                "INVALID_RESPONSE", "getAPISession returned no session id or endpoint", function=call.function
            )
        self._check_endpoint(endpoint)
        expires = response.parse_timestamp(parsed.session_timeout) or self._clock() + DEFAULT_SESSION_LIFETIME
        return ApiSession(session_id=session_id, endpoint=endpoint, expires_at=expires, location_id=location)

    def query(
        self,
        session: ApiSession,
        query: Query,
        peek: Callable[[bytes], None] | None = None,
        deadline: float | None = None,
    ) -> QueryPage:
        """Run one ``query`` page at ``session.endpoint``.

        XML pages carry Intacct's ``count``/``totalcount``/``numremaining``; JSON pages only the records
        (``count = len(records)``, totals None). ``query`` is read-only, so retrying it is safe.
        ``peek`` is handed a JSON page's raw body as soon as it has arrived, before it is parsed (a
        caller can send its next query meanwhile); a retried page is handed over again.
        """
        call = self._session_call(session, "query")
        payload = request.build_request(
            self._sender,
            request.session_auth(session.session_id),
            "query",
            request.query_body(query),
            function_control_id=call.control_id,
        )

        def decode(status: int, content_type: str, body: bytes) -> QueryPage:
            if query.return_format == "json" and 200 <= status < 300 and body.lstrip()[:1] != b"<":
                if peek is not None:
                    peek(body)
                records, lines = json_page.json_page(body, query.fields)
                self._counter.count(call.function)
                return QueryPage(records, len(records), None, None, query.offset, lines)
            _, result = decode_xml(call, status, body, self._counter.count)
            return _query_page(result, query)

        return self._send(call, payload, decode, deadline)

    def user_formatting(
        self, session: ApiSession, user_id: str, deadline: float | None = None
    ) -> UserFormatting:
        """The API user's date and time preferences: ``readByName`` USERINFO gives the user's RECORDNO,
        ``readUserFormatting`` its preferences (two transactions; Estuary's source-sage-intacct does the
        same at start-up)."""
        by_name = self._session_call(session, "readByName")
        payload = request.build_request(
            self._sender,
            request.session_auth(session.session_id),
            "readByName",
            request.read_by_name_body("USERINFO", user_id, "RECORDNO"),
            function_control_id=by_name.control_id,
        )

        def decode_user(status: int, content_type: str, body: bytes) -> str:
            _, result = decode_xml(by_name, status, body, self._counter.count)
            found = result.data.find("USERINFO") if result.data is not None else None
            recordno = response.child_text(found, "RECORDNO")
            if not recordno:
                raise InvalidResponseError(
                    "INVALID_RESPONSE", "readByName found no USERINFO for the API user", function="readByName"
                )
            return recordno

        recordno = self._send(by_name, payload, decode_user, deadline)
        formatting = self._session_call(session, "readUserFormatting")
        payload = request.build_request(
            self._sender,
            request.session_auth(session.session_id),
            "readUserFormatting",
            request.read_user_formatting_body(recordno),
            function_control_id=formatting.control_id,
        )

        def decode_formatting(status: int, content_type: str, body: bytes) -> UserFormatting:
            _, result = decode_xml(formatting, status, body, self._counter.count)
            found = result.data.find("userformatting") if result.data is not None else None
            if found is None:
                raise InvalidResponseError(
                    "INVALID_RESPONSE",
                    "readUserFormatting answered no <userformatting>",
                    function="readUserFormatting",
                )
            # A dateformat's first character is its separator, and a space is one (" mdY"): keep it.
            return UserFormatting.from_dict(
                {
                    child.tag: (child.text or "").strip(None if child.tag != "dateformat" else "\t\r\n")
                    for child in found
                }
            )

        return self._send(formatting, payload, decode_formatting, deadline)

    def lookup(self, session: ApiSession, object: str, deadline: float | None = None) -> list[FieldInfo]:
        """The fields of an object definition (``lookup``)."""
        check_object_name(object)
        call = self._session_call(session, "lookup")
        payload = request.build_request(
            self._sender,
            request.session_auth(session.session_id),
            "lookup",
            {"object": object},
            function_control_id=call.control_id,
        )

        def decode(status: int, content_type: str, body: bytes) -> list[FieldInfo]:
            _, result = decode_xml(call, status, body, self._counter.count)
            return field_infos(result)

        return self._send(call, payload, decode, deadline)

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

    def _send(
        self, call: Call, payload: bytes, decode: Callable[[int, str, bytes], T], deadline: float | None
    ) -> T:
        return call_with_retries(
            call,
            payload,
            decode,
            http=self._http,
            policy=self.retry,
            timeouts=self.timeouts,
            sleep=self._sleep,
            rng=self._rng,
            deadline=deadline,
        )

    def _session_call(self, session: ApiSession, function: str) -> Call:
        return Call(
            url=session.endpoint,
            function=function,
            auth="session",
            control_id=request.new_control_id(),
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


def _query_page(result: ParsedResult, query: Query) -> QueryPage:
    data = result.data
    if data is None:  # no <data> at all: nothing matched
        return QueryPage([], 0, 0, 0, query.offset)
    records = response.records_from_data(data, query.fields)
    count = response.int_attribute(data, "count")
    if count is not None and count != len(records):
        raise MalformedBody(f"<data count> is {count} but {len(records)} records came back")
    offset = response.int_attribute(data, "offset")
    return QueryPage(
        records=records,
        count=len(records),
        total_count=response.int_attribute(data, "totalcount"),
        num_remaining=response.int_attribute(data, "numremaining"),
        offset=query.offset if offset is None else offset,
    )
