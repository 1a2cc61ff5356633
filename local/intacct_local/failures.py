"""A failed run in one line: what went wrong, in words, and what to do about it.

Reads the error name and cause the workflow recorded (the failed manifest, else the execution's own
error) and matches them against the failures a person running an export meets; anything else is named
as it is, with the log to read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from intacct_local.emulated_aws import STOPPED_ERROR, TIMEOUT_ERROR


@dataclass(frozen=True)
class Failure:
    """The workflow's error name (an exception class or a States.* error) and its cause text."""

    error: str
    cause: str

    @classmethod
    def parse(cls, error: str | None, cause: str | None) -> Failure:
        """From a manifest's or an execution's error and cause (a Lambda cause is a JSON document)."""
        text = cause or ""
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict):
            if "errorType" in document or "errorMessage" in document:
                text = f"{document.get('errorType', '')}: {document.get('errorMessage', '')}".strip(": ")
            elif "Error" in document or "Cause" in document:
                return cls.parse(str(document.get("Error") or error or ""), str(document.get("Cause") or ""))
        name = error or "Unknown"
        if text.startswith(f"{name}: "):
            text = text[len(name) + 2 :]
        return cls(name, " ".join(text.split()))

    def short(self, limit: int = 200) -> str:
        line = f"{self.error}: {self.cause}" if self.cause else self.error
        return line if len(line) <= limit else line[: limit - 1] + "…"


def _quote(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


Rule = Callable[[Failure, str], str | None]


def _sign_in(f: Failure, gateway: str) -> str | None:
    if f.error == "AuthenticationError" or "XL03000006" in f.cause:
        return (
            f"Intacct refused the sign-in ({_quote(f.cause)}): check the credentials, INTACCT_SENDER_ID "
            "and INTACCT_SENDER_PASSWORD (the Web Services sender) and INTACCT_COMPANY_ID, INTACCT_USER_ID "
            "and INTACCT_USER_PASSWORD (the Web Services user)"
        )
    return None


def _unreachable(f: Failure, gateway: str) -> str | None:
    if f.error == "TransportError" or "ConnectionError" in f.cause:
        what = (
            "could not connect to" if "CONNECTION" in f.cause or "onnect" in f.cause else "got no answer from"
        )
        return (
            f"the export {what} the Intacct gateway at {gateway} ({_quote(f.cause)}): check --gateway-url "
            "and the network, then run again"
        )
    return None


def _unknown_object(f: Failure, gateway: str) -> str | None:
    found = re.search(r"Object definition (\S+) not found", f.cause)
    if found:
        return (
            f"Intacct does not know the object {found.group(1)} ({_quote(f.cause)}): check --object, and "
            "that the Web Services user may read that object"
        )
    return None


def _field_refused(f: Failure, gateway: str) -> str | None:
    found = re.search(r"[Ff]ield '?([^' ]+)'? .*(?:not a field|invalid|unknown)", f.cause)
    refused = f.error == "InvalidExportRequest" and "refuses these fields" in f.cause
    if refused or (f.error == "FunctionError" and (found or "field" in f.cause.lower())):
        return (
            f"Intacct refused a field ({_quote(f.cause)}): check --fields (names as Intacct spells them; "
            "without --fields every field of the object is exported)"
        )
    return None


def _query_refused(f: Failure, gateway: str) -> str | None:
    if f.error == "FunctionError":
        return f"Intacct refused the query ({_quote(f.cause)}): check --object, --fields and --filter"
    return None


def _rate_limited(f: Failure, gateway: str) -> str | None:
    if f.error == "RateLimitError":
        return (
            f"Intacct kept answering 'too many requests' ({_quote(f.cause)}): lower --concurrency, or try "
            "again later"
        )
    return None


def _gateway_failing(f: Failure, gateway: str) -> str | None:
    if f.error in ("GatewayError", "InvalidResponseError", "PossiblyStillRunningError"):
        return (
            f"the Intacct gateway kept failing ({_quote(f.cause)}): try again later; --resume continues "
            "where this run stopped"
        )
    return None


def _timed_out(f: Failure, gateway: str) -> str | None:
    if f.error == TIMEOUT_ERROR:
        return (
            f"a Lambda function ran past its Timeout in template.yaml ({_quote(f.cause)}), so the run "
            "failed as it would on AWS: see the log for which one, and what it was waiting for"
        )
    return None


def _budget(f: Failure, gateway: str) -> str | None:
    if f.error == "BudgetExceededError":
        return f"the run was refused by the monthly transaction budget ({_quote(f.cause)})"
    return None


def _request(f: Failure, gateway: str) -> str | None:
    if f.error in ("InvalidExportRequest", "SettingsError", "CredentialsError", "UnreadableFormattingError"):
        return f"the export was refused before it started ({_quote(f.cause)})"
    return None


def _reconciliation(f: Failure, gateway: str) -> str | None:
    if f.error == "ReconciliationError":
        return (
            f"the records written do not match Intacct's count ({_quote(f.cause)}), e.g. records changed "
            "during the run: run it again"
        )
    return None


def _stopped(f: Failure, gateway: str) -> str | None:
    if f.error in (STOPPED_ERROR, "States.Aborted"):
        return "the run was stopped before it finished"
    return None


RULES: tuple[Rule, ...] = (
    _stopped,
    _sign_in,
    _timed_out,
    _unreachable,
    _unknown_object,
    _field_refused,
    _query_refused,
    _rate_limited,
    _gateway_failing,
    _budget,
    _request,
    _reconciliation,
)


def explain(failure: Failure, gateway: str) -> str:
    """One line: what went wrong and what to do."""
    for rule in RULES:
        line = rule(failure, gateway)
        if line:
            return line
    return f"the export failed with {failure.short(300)}"
