"""Errors map to HTTP answers in one place: unknown routes, wrong methods, AWS throttling, surprises."""

from __future__ import annotations

import json
import sys

from botocore.exceptions import ClientError

from intacct_sync.api import errors
from intacct_sync.api.routes import ROUTES, allowed_methods


def test_an_unknown_path_is_a_json_404(api):
    answer = api.get("/customers")
    assert answer.status == 404
    assert answer.body == {"error": "not_found", "message": "no such resource: /customers"}


def test_a_wrong_method_is_405_naming_the_allowed_ones(api):
    answer = api.request("DELETE", "/exports/customer-1")
    assert answer.status == 405 and answer.body["error"] == "method_not_allowed"
    assert answer.headers["allow"] == "GET"
    assert answer.body["message"] == "DELETE is not allowed on /exports/customer-1; use GET"
    assert api.request("GET", "/exports").headers["allow"] == "POST"


def test_every_route_has_its_methods_known():
    assert allowed_methods("/exports") == ("POST",)
    assert allowed_methods("/exports/abc") == ("GET",)
    assert allowed_methods("/exports/abc/records") == ("GET",)
    assert allowed_methods("/objects") == ("GET",)
    assert allowed_methods("/syncs/abc") == ("GET",)
    assert allowed_methods("/exports/abc/records/more") == ()
    assert allowed_methods("/syncs") == ()
    assert len(ROUTES) == 5


def _raise(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


def test_an_unexpected_error_is_a_500_that_reveals_nothing(api, monkeypatch):
    # Given a bug deep down whose message carries something internal
    logged = []
    monkeypatch.setattr(
        errors.logger, "exception", lambda message, **kw: logged.append((message, sys.exc_info()))
    )
    monkeypatch.setattr(
        api.module.RUNTIME.executions, "describe", _raise(RuntimeError("boom at /var/task token=abc123"))
    )
    # When a request hits it
    answer = api.get("/exports/customer-1")
    # Then the caller gets a generic 500 in the usual shape, no stack trace, no internal detail
    assert answer.status == 500
    assert answer.body["error"] == "internal_error"
    text = json.dumps(answer.body)
    assert "boom" not in text and "abc123" not in text and "Traceback" not in text
    # And the exception itself goes to the function's log instead
    assert len(logged) == 1 and "boom at /var/task" in str(logged[0][1][1])


def test_aws_throttling_is_a_503_with_retry_after(api, monkeypatch):
    throttled = ClientError(
        {"Error": {"Code": "ExecutionLimitExceeded", "Message": "too many open executions"}}, "StartExecution"
    )
    monkeypatch.setattr(api.module.RUNTIME.executions, "start", _raise(throttled))
    answer = api.post({"object": "CUSTOMER", "mode": "full"})
    assert answer.status == 503 and answer.body["error"] == "service_unavailable"
    assert answer.headers["retry-after"] == "5"


def test_other_aws_errors_are_500(api, monkeypatch):
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeExecution")
    monkeypatch.setattr(api.module.RUNTIME.executions, "describe", _raise(denied))
    answer = api.get("/exports/customer-1")
    assert answer.status == 500 and answer.body["error"] == "internal_error"
