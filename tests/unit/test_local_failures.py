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
