"""A failed local run ends with one line: what went wrong and what to do (causes as runs recorded them)."""

from __future__ import annotations

import json

import pytest

from intacct_local.failures import Failure, explain

GATEWAY = "https://api.intacct.com/ia/xml/xmlgw.phtml"
CASES = [
    (
        "AuthenticationError",
        "AuthenticationError: XL03000006: Sign-in information is incorrect",
        ["refused the sign-in", "XL03000006", "INTACCT_USER_PASSWORD"],
    ),
    (
        "TransportError",
        "TransportError: CONNECTION: ConnectionError: connection to api.intacct.com failed or was reset "
        "(gave up after 6 attempts)",
        ["could not connect to the Intacct gateway at " + GATEWAY, "--gateway-url"],
    ),
    (
        "FunctionError",
        "FunctionError: Query Failed: Object definition APBILL not found",
        ["does not know the object APBILL", "--object"],
    ),
    (
        "FunctionError",
        "FunctionError: Query Failed: Field 'NOPE' in select is not a field of object CUSTOMER",
        ["refused a field", "'NOPE'", "--fields"],
    ),
    (
        "Sandbox.Timedout",
        json.dumps(
            {
                "errorType": "Sandbox.Timedout",
                "errorMessage": "RequestId: r1 Error: Task timed out after 5.00 seconds",
            }
        ),
        ["ran past its Timeout", "Task timed out after 5.00 seconds"],
    ),
    ("RateLimitError", "RateLimitError: GW-0010: too many", ["too many requests", "--concurrency"]),
    ("States.Runtime", "something no rule knows", ["failed with States.Runtime: something no rule knows"]),
]


@pytest.mark.parametrize(("error", "cause", "words"), CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)])
def test_each_failure_a_person_meets_is_one_line_naming_it_and_what_to_do(error, cause, words):
    line = explain(Failure.parse(error, cause), GATEWAY)
    assert "\n" not in line and len(line) < 400
    for word in words:
        assert word in line


def test_a_huge_cause_is_cut_to_fit_one_line():
    line = explain(Failure.parse("FunctionError", "Query Failed: " + "x" * 5000), GATEWAY)
    assert len(line) < 400 and line.count("…") == 1


ACTIVE_SINCE = {"field": "WHENMODIFIED", "op": "greaterthan", "value": "2024-01-01T00:00:00"}
POINTED = [
    (
        "a field only --filter names",
        {"object": "CUSTOMER", "filter": {"field": "NOSUCHFIELD", "op": "equalto", "value": "x"}},
        "InvalidExportRequest",
        "Intacct refuses these fields of CUSTOMER for this company: NOSUCHFIELD; "
        "the export's filter names them",
        ["--filter", "NOSUCHFIELD"],
        ["--fields"],
    ),
    (
        "a field --fields names",
        {"object": "CUSTOMER", "fields": ["RECORDNO", "NOPE"]},
        "InvalidExportRequest",
        "Intacct refuses these fields of CUSTOMER for this company: NOPE; "
        "remove them from the export's fields",
        ["check --fields"],
        ["--filter"],
    ),
    (
        "a field the catalogue's filter names",
        {"object": "PODOCUMENT"},
        "InvalidExportRequest",
        "Intacct refuses these fields of PODOCUMENT for this company: DOCPARID; "
        "the export's filter names them",
        ["catalogue's filter", "ExportObjects"],
        ["--fields"],
    ),
    (
        "a date in --filter",
        {"object": "CUSTOMER", "filter": ACTIVE_SINCE},
        "FunctionError",
        "DL02000001: There was an error processing the request. Invalid date '2024-01-01T00:00:00' for field "
        "WHENMODIFIED: expected MM/DD/YYYY or MM/DD/YYYY HH:MM:SS",
        ["date in --filter", "check --filter", "MM/DD/YYYY HH:MM:SS"],
        ["--fields"],
    ),
    (
        "an object the user may not read",
        {"object": "VENDOR"},
        "FunctionError",
        "PL04000005: You do not have permission for API operation QUERY on objects of type vendor",
        ["Web Services user may not read VENDOR", "permission for VENDOR"],
        ["--fields", "--filter"],
    ),
    (
        "a gateway URL answering 404",
        {"object": "CUSTOMER"},
        "GatewayError",
        "HTTP-404: Intacct gateway returned HTTP 404 without XML",
        ["answered HTTP 404", "check --gateway-url"],
        ["try again later", "--resume"],
    ),
]


@pytest.mark.parametrize(
    ("request_", "error", "cause", "words", "absent"), [c[1:] for c in POINTED], ids=[c[0] for c in POINTED]
)
def test_the_line_points_at_the_option_or_permission_that_caused_the_failure(
    request_, error, cause, words, absent
):
    line = explain(Failure.parse(error, cause), GATEWAY, request=request_)
    assert "\n" not in line and len(line) < 500
    for word in words:
        assert word in line
    for word in absent:
        assert word not in line


def test_a_gateway_that_went_away_mid_run_offers_the_resume_command_when_pages_landed():
    failure = Failure.parse("TransportError", "CONNECTION: ConnectionError: connection to h failed")
    resume = ".venv/bin/intacct-sync run --resume local-customer-1 --out out"
    assert line_ends_with(explain(failure, GATEWAY, resume=resume), f"then continue the run with: {resume}")
    assert explain(failure, GATEWAY).endswith("then run it again")
    busy = Failure.parse("GatewayError", "HTTP-503: Intacct gateway returned HTTP 503 without XML")
    assert explain(busy, GATEWAY, resume=resume).endswith(resume)


def line_ends_with(line: str, end: str) -> bool:
    return "\n" not in line and line.endswith(end)
