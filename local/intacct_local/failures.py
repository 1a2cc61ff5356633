"""A failed run in one line: what went wrong, in words, and what to do about it.

Reads the error name and cause the workflow recorded (the failed manifest, else the execution's own
error) and matches them against the failures a person running an export meets; anything else is named
as it is, with the log to read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Context:
    """What the line may point at besides the failure: the gateway, the run's request (its object,
    ``fields`` and ``filter`` as given), and the command that resumes it (when something had landed)."""

    gateway: str
    request: Mapping[str, Any] = field(default_factory=dict)
    resume: str | None = None

    def then(self, otherwise: str = "then run it again") -> str:
        """How to go on once the cause is fixed: resume the run when something landed, else ``otherwise``."""
        return f"then continue the run with: {self.resume}" if self.resume else otherwise

    def filter_fields(self) -> set[str]:
        """The field names the request's filter names (upper case)."""
        names: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, Mapping):
                if isinstance(node.get("field"), str):
                    names.add(node["field"].upper())
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.request.get("filter"))
        return names


Rule = Callable[[Failure, Context], str | None]


def _sign_in(f: Failure, c: Context) -> str | None:
    if f.error == "AuthenticationError" or "XL03000006" in f.cause:
        return (
            f"Intacct refused the sign-in ({_quote(f.cause)}): check the credentials, INTACCT_SENDER_ID "
            "and INTACCT_SENDER_PASSWORD (the Web Services sender) and INTACCT_COMPANY_ID, INTACCT_USER_ID "
            "and INTACCT_USER_PASSWORD (the Web Services user)"
        )
    return None


def _unreachable(f: Failure, c: Context) -> str | None:
    if f.error == "TransportError" or "ConnectionError" in f.cause:
        what = (
            "could not connect to" if "CONNECTION" in f.cause or "onnect" in f.cause else "got no answer from"
        )
        return (
            f"the export {what} the Intacct gateway at {c.gateway} ({_quote(f.cause)}): check --gateway-url "
            f"and the network, {c.then()}"
        )
    return None


def _unknown_object(f: Failure, c: Context) -> str | None:
    found = re.search(r"Object definition (\S+) not found", f.cause)
    if found:
        return (
            f"Intacct does not know the object {found.group(1)} ({_quote(f.cause)}): check --object, and "
            "that the Web Services user may read that object"
        )
    return None


def _refused_names(cause: str) -> set[str]:
    """The field names a refusal names: ``...for this company: A, B; ...`` or ``Field 'A' ...``."""
    listed = re.search(r"for this company: ([^;]+);", cause)
    if listed:
        return {name.strip().upper() for name in listed.group(1).split(",") if name.strip()}
    return {name.upper() for name in re.findall(r"[Ff]ield '?([A-Za-z0-9_.#]+)'?", cause)}


def _permission(f: Failure, c: Context) -> str | None:
    if f.error == "FunctionError" and ("PL04000005" in f.cause or "permission" in f.cause.lower()):
        found = re.search(r"objects of type (\w+)", f.cause)
        name = str(c.request.get("object") or (found.group(1).upper() if found else "the object"))
        return (
            f"the Intacct Web Services user may not read {name} ({_quote(f.cause)}): give that user "
            f"permission for {name} in Intacct (its role's or its own user permissions), then run again"
        )
    return None


def _filter_date(f: Failure, c: Context) -> str | None:
    if f.error == "FunctionError" and c.request.get("filter") and re.search(r"[Ii]nvalid date", f.cause):
        return (
            f"Intacct refused a date in --filter ({_quote(f.cause)}): check --filter, and write its dates as "
            "Intacct takes them (MM/DD/YYYY or MM/DD/YYYY HH:MM:SS, unless the API user's own format is "
            "the one it takes)"
        )
    return None


def _field_refused(f: Failure, c: Context) -> str | None:
    found = re.search(r"[Ff]ield '?([^' ]+)'? .*(?:not a field|invalid|unknown)", f.cause)
    refused = f.error == "InvalidExportRequest" and "refuses these fields" in f.cause
    if not (refused or (f.error == "FunctionError" and (found or "field" in f.cause.lower()))):
        return None
    names = _refused_names(f.cause)
    in_filter = bool(names & c.filter_fields()) or (
        "filter names them" in f.cause and bool(c.request.get("filter"))
    )
    if in_filter:
        return (
            f"Intacct refused a field named in --filter ({_quote(f.cause)}): check --filter (field names as "
            "Intacct spells them)"
        )
    if "filter names them" in f.cause:
        return (
            f"Intacct refused a field named in the catalogue's filter ({_quote(f.cause)}): check the "
            "object's filter in ExportObjects (template.yaml)"
        )
    return (
        f"Intacct refused a field ({_quote(f.cause)}): check --fields (names as Intacct spells them; "
        "without --fields every field of the object is exported)"
    )


def _query_refused(f: Failure, c: Context) -> str | None:
    if f.error == "FunctionError":
        return f"Intacct refused the query ({_quote(f.cause)}): check --object, --fields and --filter"
    return None


def _rate_limited(f: Failure, c: Context) -> str | None:
    if f.error == "RateLimitError":
        return (
            f"Intacct kept answering 'too many requests' ({_quote(f.cause)}): lower --concurrency, or try "
            f"again later; {c.then()}"
        )
    return None


def _gateway_url(f: Failure, c: Context) -> str | None:
    """An HTTP client error (4xx, not 408 or 429) from the gateway: the URL is not an Intacct gateway's."""
    found = re.search(r"HTTP[- ](4\d\d)\b", f.cause)
    if f.error == "GatewayError" and found and found.group(1) not in ("408", "429"):
        return (
            f"the gateway at {c.gateway} answered HTTP {found.group(1)} ({_quote(f.cause)}): it is not an "
            "Intacct XML gateway; check --gateway-url (Intacct's is "
            "https://api.intacct.com/ia/xml/xmlgw.phtml)"
        )
    return None


def _gateway_failing(f: Failure, c: Context) -> str | None:
    if f.error in ("GatewayError", "InvalidResponseError", "PossiblyStillRunningError"):
        return f"the Intacct gateway kept failing ({_quote(f.cause)}): try again later; {c.then()}"
    return None


def _timed_out(f: Failure, c: Context) -> str | None:
    if f.error == TIMEOUT_ERROR:
        return (
            f"a Lambda function ran past its Timeout in template.yaml ({_quote(f.cause)}), so the run "
            "failed as it would on AWS: see the log for which one, and what it was waiting for"
        )
    return None


def _budget(f: Failure, c: Context) -> str | None:
    if f.error == "BudgetExceededError":
        return f"the run was refused by the monthly transaction budget ({_quote(f.cause)})"
    return None


def _request(f: Failure, c: Context) -> str | None:
    if f.error in ("InvalidExportRequest", "SettingsError", "CredentialsError", "UnreadableFormattingError"):
        return f"the export was refused before it started ({_quote(f.cause)})"
    return None


def _reconciliation(f: Failure, c: Context) -> str | None:
    if f.error == "ReconciliationError":
        return (
            f"the records written do not match Intacct's count ({_quote(f.cause)}), e.g. records changed "
            "during the run: run it again"
        )
    return None


def _stopped(f: Failure, c: Context) -> str | None:
    if f.error in (STOPPED_ERROR, "States.Aborted"):
        return "the run was stopped before it finished"
    return None


RULES: tuple[Rule, ...] = (
    _stopped,
    _sign_in,
    _timed_out,
    _unreachable,
    _gateway_url,
    _unknown_object,
    _permission,
    _filter_date,
    _field_refused,
    _query_refused,
    _rate_limited,
    _gateway_failing,
    _budget,
    _request,
    _reconciliation,
)


def explain(
    failure: Failure,
    gateway: str,
    *,
    request: Mapping[str, Any] | None = None,
    resume: str | None = None,
) -> str:
    """One line: what went wrong and what to do. ``request``: the run's request as given (object,
    fields, filter), so the line points at the option that caused it; ``resume``: the command that
    continues the run, offered where waiting or fixing the cause outside the run is what it takes."""
    context = Context(gateway, request or {}, resume)
    for rule in RULES:
        line = rule(failure, context)
        if line:
            return line
    return f"the export failed with {failure.short(300)}"
