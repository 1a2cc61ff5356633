"""Typed errors raised by the Intacct XML gateway client.

Every error carries the four fields Intacct puts in an ``<error>`` element (``errorno``, ``description``,
``description2``, ``correction``) plus the HTTP status and, for function-level failures, the function name.
``str()`` is built from those fields only: never from the request body, never from a credential or a
session id (the client also scrubs known secret values out of every field before raising).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    """One ``<error>`` element of an ``<errormessage>`` (empty elements become ``""``)."""

    errorno: str
    description: str = ""
    description2: str = ""
    correction: str = ""

    def message(self) -> str:
        """``errorno: description; description2; correction`` with empty parts left out."""
        text = "; ".join(part for part in (self.description, self.description2, self.correction) if part)
        return f"{self.errorno}: {text}" if text else self.errorno


class IntacctError(Exception):
    """Base class of every error the client raises.

    ``attempts`` is how many HTTP requests the client made for the call that failed.
    """

    attempts: int = 1

    def __init__(
        self,
        errorno: str,
        description: str = "",
        description2: str = "",
        correction: str = "",
        *,
        http_status: int | None = None,
        function: str | None = None,
        errors: tuple[ErrorDetail, ...] = (),
    ) -> None:
        self.errorno = errorno
        self.description = description
        self.description2 = description2
        self.correction = correction
        self.http_status = http_status
        self.function = function
        first = ErrorDetail(errorno, description, description2, correction)
        # All <error> elements of the response, the first being the one the attributes above describe.
        self.errors: tuple[ErrorDetail, ...] = errors or (first,)
        super().__init__(first.message())

    def __str__(self) -> str:
        return ErrorDetail(self.errorno, self.description, self.description2, self.correction).message()

    @classmethod
    def from_details(
        cls,
        errors: tuple[ErrorDetail, ...],
        *,
        http_status: int | None = None,
        function: str | None = None,
        default_errorno: str = "UNKNOWN",
        default_description: str = "Intacct reported a failure without error details",
    ) -> IntacctError:
        """Build the error from parsed ``<error>`` elements; the first one names the error."""
        first = errors[0] if errors else ErrorDetail(default_errorno, default_description)
        return cls(
            first.errorno,
            first.description,
            first.description2,
            first.correction,
            http_status=http_status,
            function=function,
            errors=errors or (first,),
        )

    def __repr__(self) -> str:
        parts = [f"errorno={self.errorno!r}"]
        if self.function is not None:
            parts.append(f"function={self.function!r}")
        if self.http_status is not None:
            parts.append(f"http_status={self.http_status}")
        parts.append(f"message={str(self)!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class ControlError(IntacctError):
    """The request failed at control level (sender credentials, XML schema, gateway ``GW-`` errors...):
    no function was executed."""


class AuthenticationError(IntacctError):
    """The login was refused (bad company, user or password, sender not authorized). Do not retry."""


class SessionExpiredError(IntacctError):
    """A session-authenticated call was refused: the session id is unknown, expired or revoked.

    Raised for HTTP 401 / ``XMLGW_JPP0002`` and for an authentication-level failure on a session call.
    ``SessionManager.call`` logs in again once when it sees this error.
    """


class FunctionError(IntacctError):
    """The function ran and failed (result status ``failure`` or ``aborted``); see ``.function``."""


class RateLimitError(IntacctError):
    """HTTP 429 / ``GW-0010`` and the retries were exhausted, disabled, or ``Retry-After`` asked for a
    longer wait than the policy's ``max_delay`` (then ``.retry_after`` says how long to wait)."""

    retry_after: float | None = None


class ThrottledError(RateLimitError):
    """Intacct asked (``Retry-After``) to wait longer than the client's ``max_delay``: the call was not
    retried in place, so the caller can wait elsewhere (a Step Functions Retry) instead of a Lambda."""


class GatewayError(IntacctError):
    """An HTTP 5xx, an HTML page or a malformed/truncated body.

    ``retryable`` is True when the failure is of a transient kind and the retries were exhausted
    (the caller may try again later); False when it was not retried (e.g. an unexpected non-XML 4xx).
    """

    retryable: bool = True


class NotRetriedError(IntacctError):
    """A failure the client deliberately did not retry because a retry could do harm."""


class PossiblyStillRunningError(NotRetriedError):
    """HTTP 524: the CDN cut the connection while Intacct may still be processing the request.

    Not retried (the official SDKs' policy). A ``query``/``readByQuery`` is read-only, so the caller can
    safely run it again later; the request may however still be occupying a concurrency slot.
    """


class TransportError(IntacctError):
    """Connection failure, reset or timeout, after the retries were exhausted (or not retryable)."""


class InvalidResponseError(IntacctError):
    """A well-formed response that does not have the shape the protocol defines."""


class _LocalValidationError(IntacctError, ValueError):
    """Base of the errors raised before anything is sent; ``str()`` is the plain message."""

    errorno_value = "INVALID"

    def __init__(self, message: str) -> None:
        super().__init__(self.errorno_value, message)

    def __str__(self) -> str:
        return self.description


class InvalidQueryError(_LocalValidationError):
    """A query, filter or argument is not valid (a ``ValueError``); the message names the bad part."""

    errorno_value = "INVALID_QUERY"


class UnreadableFormattingError(_LocalValidationError):
    """The API user's date and time preferences cannot be read unambiguously (a ``ValueError``); the
    message names the preference to change."""

    errorno_value = "UNREADABLE_FORMATTING"


class CredentialsError(_LocalValidationError):
    """Credentials are missing, unreadable or unusable (a ``ValueError``): from the environment, a secret
    or a mapping. The message names the variables, keys or secret, never a value."""

    errorno_value = "CREDENTIALS"


# What a later attempt of a whole step may fix once the client has spent its own budget on a call: a
# deadline reached, a session that expired between calls, a 524 (the call may still have run: the step
# redoes it whole), a long Retry-After. Everything else the client raised is final. The state machine's
# Retry of every step that calls Intacct names exactly these (tests/template/test_state_machine_contract.py),
# so retries never multiply across layers.
RETRYABLE_BY_THE_WORKFLOW: tuple[type[Exception], ...] = (
    TimeoutError,
    SessionExpiredError,
    PossiblyStillRunningError,
    ThrottledError,
)
