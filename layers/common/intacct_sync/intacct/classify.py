"""What a gateway answer means: a value, an error to raise, or a transient failure to retry.

HTTP status, HTML pages (Cloudflare), rate limits, malformed bodies and the XML envelope's control,
authentication and function results are classified here; ``retry.call_with_retries`` acts on the result.
A query refused for fields the company cannot read is read here too (``refused_fields``).
Known secret values (passwords, session ids) are scrubbed out of every error field first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from . import response
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
)
from .response import MalformedBody, ParsedResponse, ParsedResult

SESSION_REFUSED_ERRORNO = "XMLGW_JPP0002"
RATE_LIMIT_ERRORNO = "GW-0010"

AuthKind = Literal["login", "session"]
T = TypeVar("T")
Decode = Callable[[int, str, bytes], T]


@dataclass(frozen=True)
class Call:
    """What one gateway call needs besides the payload."""

    url: str
    function: str
    auth: AuthKind
    control_id: str
    secrets: tuple[str, ...] = field(repr=False)
    retry_524: bool = False


class Retryable(Exception):
    """A failure of a transient kind; ``error`` is raised if no retry is left."""

    def __init__(
        self,
        error: IntacctError,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        not_executed: bool = False,  # the request certainly did not reach Intacct
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


def interpret(
    call: Call, status: int, content_type: str, body: bytes, retry_after: float | None, decode: Decode[T]
) -> T:
    """The value ``decode`` makes of a response, or raise (``Retryable`` for transient failures)."""
    html = response.looks_like_html(content_type, body)
    if status == 524:
        if call.retry_524:
            raise Retryable(
                gateway_error(call, 524, "Intacct gateway returned HTTP 524 (origin timeout)"),
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
        details = () if html else _try_errors(call, body)
        error = rate_limit_error(call, details, 429, retry_after)
        raise Retryable(
            error, "rate limited", status=429, retry_after=retry_after, not_executed=True, rate_limited=True
        )
    if status >= 500:
        what = "an HTML page" if html else "an error"
        raise Retryable(
            gateway_error(call, status, f"Intacct gateway returned HTTP {status} with {what}"),
            f"HTTP {status}",
            status=status,
            retry_after=retry_after,
        )
    if html:
        if 200 <= status < 300:
            raise Retryable(
                gateway_error(call, status, "Intacct gateway returned an HTML page instead of XML"),
                "HTML page",
                status=status,
            )
        if status in (401, 498):
            raise refused(call, (), status)
        raise gateway_error(
            call, status, f"Intacct gateway returned HTTP {status} with an HTML page", retryable=False
        )
    try:
        return decode(status, content_type, body)
    except MalformedBody as exc:
        malformed = str(exc)
    if 200 <= status < 300:
        raise Retryable(
            gateway_error(call, status, f"malformed or truncated response: {malformed}", errorno="MALFORMED"),
            "malformed body",
            status=status,
        )
    if status in (401, 498):
        raise refused(call, (), status)
    raise gateway_error(call, status, f"Intacct gateway returned HTTP {status} without XML", retryable=False)


def decode_xml(
    call: Call, status: int, body: bytes, count: Callable[[str], None]
) -> tuple[ParsedResponse, ParsedResult]:
    """Parse an XML response and return our function's successful result, or raise its error.

    ``count`` is told the name of every function the gateway executed (each a billed transaction)."""
    parsed = response.parse_response(response.parse_document(body))
    control_errors = scrub(call, parsed.control_errors)
    operation_errors = scrub(call, parsed.operation_errors)
    all_errornos = {e.errorno for e in control_errors + operation_errors}
    if RATE_LIMIT_ERRORNO in all_errornos:
        raise Retryable(
            rate_limit_error(call, control_errors or operation_errors, status, None),
            "rate limited",
            status=status,
            not_executed=True,
            rate_limited=True,
        )
    outage = _outage(control_errors + operation_errors)
    if parsed.control_status == "failure" and outage is not None:
        raise _outage_retryable(call, status, outage)
    if parsed.control_status == "failure":
        if status in (401, 498) or SESSION_REFUSED_ERRORNO in all_errornos:
            raise refused(call, control_errors, status)
        raise ControlError.from_details(control_errors, http_status=status, function=call.function)
    if parsed.acknowledgement and not parsed.has_operation:
        raise InvalidResponseError(
            "INVALID_RESPONSE", "got an asynchronous acknowledgement; only synchronous calls are supported"
        )
    if not parsed.has_operation:
        raise MalformedBody("response has no <operation>")
    for result in parsed.results:
        if result.status == "success" or _outage(result.errors) is None:  # an outage ran nothing
            count(result.function or call.function)
    if parsed.auth_status == "failure":
        raise refused(call, operation_errors, status)
    if status in (401, 498):
        raise refused(call, operation_errors, status)
    matching = [r for r in parsed.results if r.control_id == call.control_id]
    if not matching and len(parsed.results) == 1:
        matching = parsed.results
    if not matching:
        if operation_errors:
            raise ControlError.from_details(operation_errors, http_status=status, function=call.function)
        raise MalformedBody("response has no <result> for the function")
    result = matching[0]
    if result.status != "success":
        errors = scrub(call, result.errors)
        outage = _outage(errors)
        if outage is not None:
            raise _outage_retryable(call, status, outage)
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


def gateway_error(
    call: Call, status: int, description: str, *, errorno: str | None = None, retryable: bool = True
) -> GatewayError:
    error = GatewayError(errorno or f"HTTP-{status}", description, http_status=status, function=call.function)
    error.retryable = retryable
    return error


def rate_limit_error(
    call: Call, details: tuple[ErrorDetail, ...], status: int | None, retry_after: float | None
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


def refused(call: Call, details: tuple[ErrorDetail, ...], status: int | None) -> IntacctError:
    """A refused login (``AuthenticationError``) or session (``SessionExpiredError``)."""
    cls = AuthenticationError if call.auth == "login" else SessionExpiredError
    default = "Sign-in refused" if call.auth == "login" else "Session refused (expired or invalid)"
    return cls.from_details(
        details,
        http_status=status,
        function=call.function,
        default_errorno=f"HTTP-{status}" if status else SESSION_REFUSED_ERRORNO,
        default_description=default,
    )


def scrub(call: Call, details: tuple[ErrorDetail, ...]) -> tuple[ErrorDetail, ...]:
    """The error details with every known secret value of the call replaced by ``***``."""
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


def _try_errors(call: Call, body: bytes) -> tuple[ErrorDetail, ...]:
    try:
        root = response.parse_document(body)
    except MalformedBody:
        return ()
    return scrub(call, response.parse_errors(root))


# Outages Intacct answers inside HTTP 200 (docs/intacct/PROTOCOL.md §9): fylein/sageintacct-sdk-py PR #132
# retries a result whose description says "The Service is Temporarily Off-line", hotgluexyz/tap-intacct PR #17
# one whose correction says "Please Try Again Later". No errorno is known for either: the text decides.
_OUTAGE_PHRASES = ("temporarily off-line", "temporarily offline", "try again later")


def _outage(details: tuple[ErrorDetail, ...]) -> ErrorDetail | None:
    """The first error that says the service is briefly unavailable, if any."""
    for detail in details:
        text = " ".join((detail.description, detail.description2, detail.correction)).lower()
        if any(phrase in text for phrase in _OUTAGE_PHRASES):
            return detail
    return None


def _outage_retryable(call: Call, status: int, detail: ErrorDetail) -> Retryable:
    """An outage answered in HTTP 200: retried like a 5xx (the function did not run)."""
    error = GatewayError(
        detail.errorno or "SERVICE_UNAVAILABLE",
        detail.description,
        detail.description2,
        detail.correction,
        http_status=status,
        function=call.function,
    )
    return Retryable(error, "service unavailable", status=status, not_executed=False)


_REFUSED_FIELDS = r"{object}:\s*\[([^\]]*)\]"


def refused_fields(error: FunctionError, object_name: str) -> tuple[str, ...]:
    """The fields a failed ``query`` names as refused, listed after the lower-case object name
    (``project: [CFDA, PAYER]``: the recorded PROJECT failure, hotgluexyz/tap-intacct PR #7 and
    fylein/sageintacct-sdk-py PR #85 parse the same list); empty when the error is another one."""
    pattern = re.compile(_REFUSED_FIELDS.format(object=re.escape(object_name.lower())))
    text = " ".join(f"{e.description} {e.description2} {e.correction}" for e in error.errors)
    found = pattern.search(text)
    if found is None:
        return ()
    return tuple(name.strip() for name in found.group(1).split(",") if name.strip())
