"""Every bad request gets a 4xx JSON error naming the problem, and starts nothing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import load_event

OK = {"object": "CUSTOMER", "mode": "full"}


def _raw(text: str) -> bytes:
    return text.encode()


BAD_BODIES = [
    # (id, body or raw bytes, expected status, error code, words the message must contain)
    ("not-json", _raw("object=CUSTOMER"), 400, "invalid_json", "not valid JSON"),
    ("empty-body", _raw(""), 400, "invalid_request", "body is empty"),
    ("json-array", _raw('[{"object": "CUSTOMER"}]'), 400, "invalid_request", "not a JSON array"),
    ("json-string", _raw('"CUSTOMER"'), 400, "invalid_request", "not a JSON string"),
    (
        "duplicate-key",
        _raw('{"object": "CUSTOMER", "object": "VENDOR", "mode": "full"}'),
        400,
        "invalid_json",
        "repeats the key(s) object",
    ),
    ("nan", _raw('{"object": "CUSTOMER", "mode": "full", "page_size": NaN}'), 400, "invalid_json", "NaN"),
    ("no-object", {"mode": "full"}, 400, "invalid_request", "object is required"),
    ("no-mode", {"object": "CUSTOMER"}, 400, "invalid_request", "mode is required"),
    (
        "object-null",
        {"object": None, "mode": "full"},
        400,
        "invalid_request",
        "object must be an Intacct name",
    ),
    (
        "object-spaces",
        {"object": "CUST OMER", "mode": "full"},
        400,
        "invalid_request",
        "object must be an Intacct name",
    ),
    (
        "object-markup",
        {"object": "CUSTOMER</object>", "mode": "full"},
        400,
        "invalid_request",
        "object must be an Intacct name",
    ),
    (
        "object-not-offered",
        {"object": "PODOCUMENT", "mode": "full"},
        400,
        "unknown_object",
        "configured: GLACCOUNT, GLBATCH, GLENTRY, GLDETAIL",
    ),
    ("mode-unknown", {"object": "CUSTOMER", "mode": "delta"}, 400, "invalid_request", "mode must be one of"),
    ("page-size-zero", {**OK, "page_size": 0}, 400, "invalid_request", "page_size"),
    ("page-size-too-big", {**OK, "page_size": 2001}, 400, "invalid_request", "page_size"),
    ("page-size-text", {**OK, "page_size": "100"}, 400, "invalid_request", "page_size"),
    ("page-size-bool", {**OK, "page_size": True}, 400, "invalid_request", "page_size"),
    ("fields-not-list", {**OK, "fields": "NAME"}, 400, "invalid_request", "fields must be a list"),
    ("fields-repeated", {**OK, "fields": ["NAME", "name"]}, 400, "invalid_request", "must not repeat"),
    ("field-bad-name", {**OK, "fields": ["NA ME"]}, 400, "invalid_request", "each field"),
    (
        "since-with-full",
        {**OK, "since": "2026-01-01T00:00:00Z"},
        400,
        "invalid_request",
        "only allowed with mode 'incremental'",
    ),
    (
        "since-no-zone",
        {"object": "CUSTOMER", "mode": "incremental", "since": "2026-01-01T00:00:00"},
        400,
        "invalid_request",
        "time zone",
    ),
    (
        "since-not-a-date",
        {"object": "CUSTOMER", "mode": "incremental", "since": "yesterday"},
        400,
        "invalid_request",
        "ISO-8601",
    ),
    (
        "filter-not-object",
        {**OK, "filter": ["STATUS"]},
        400,
        "invalid_request",
        "filter must be a JSON object",
    ),
    (
        "filter-bad-operator",
        {**OK, "filter": {"field": "NAME", "op": "drop", "value": "x"}},
        400,
        "invalid_request",
        "filter is not valid",
    ),
    (
        "unknown-field",
        {**OK, "surprise": 1},
        400,
        "invalid_request",
        "unknown field(s) in the export request: surprise",
    ),
    ("key-field-not-for-callers", {**OK, "key_field": "NAME"}, 400, "invalid_request", "key_field"),
    ("run-id-not-for-callers", {**OK, "run_id": "mine"}, 400, "invalid_request", "run_id"),
    ("entity-injection", {**OK, "entity": "US; DROP"}, 400, "invalid_request", "entity"),
]


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [pytest.param(b, s, c, w, id=i) for i, b, s, c, w in BAD_BODIES],
)
def test_a_bad_export_request_is_refused_with_a_named_problem_and_nothing_starts(
    api, body, status, code, words
):
    # When the request is posted
    if isinstance(body, bytes):
        answer = api.request("POST", "/exports", raw=body, headers={"Content-Type": "application/json"})
    else:
        answer = api.post(body)
    # Then the answer is a JSON error with a code and a message naming the problem
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.body) == {"error", "message"}
    assert answer.body["error"] == code
    assert words in answer.body["message"]
    assert "Traceback" not in json.dumps(answer.body)
    # And no export was started
    assert api.executions() == []


@pytest.mark.parametrize(
    ("headers", "body", "status", "code", "words"),
    [
        pytest.param(
            {"Content-Type": "text/plain"},
            json.dumps(OK),
            415,
            "unsupported_media_type",
            "Content-Type: application/json",
            id="text-plain",
        ),
        pytest.param(
            {"Content-Type": "application/x-www-form-urlencoded"},
            "object=CUSTOMER&mode=full",
            415,
            "unsupported_media_type",
            "application/x-www-form-urlencoded",
            id="form-encoded",
        ),
        pytest.param(
            {"Content-Type": "application/json"},
            json.dumps({**OK, "fields": ["F" + "x" * 98] * 1400}),
            413,
            "request_too_large",
            "at most 131072",
            id="too-large",
        ),
        pytest.param(
            {"Content-Type": "application/json", "Idempotency-Key": "has space"},
            json.dumps(OK),
            400,
            "invalid_idempotency_key",
            "Idempotency-Key",
            id="key-with-space",
        ),
        pytest.param(
            {"Content-Type": "application/json", "Idempotency-Key": "k" * 256},
            json.dumps(OK),
            400,
            "invalid_idempotency_key",
            "1 to 255",
            id="key-too-long",
        ),
        pytest.param(
            {"Content-Type": "application/json", "Idempotency-Key": '""'},
            json.dumps(OK),
            400,
            "invalid_idempotency_key",
            "Idempotency-Key",
            id="key-empty",
        ),
    ],
)
def test_bad_headers_and_oversized_bodies_are_refused(api, headers, body, status, code, words):
    answer = api.request("POST", "/exports", raw=body.encode(), headers=headers)
    assert answer.status == status, answer.body
    assert answer.body["error"] == code and words in answer.body["message"]
    assert api.executions() == []


def test_json_with_a_charset_or_a_json_suffix_is_accepted(api):
    for content_type in ("application/json; charset=utf-8", "application/vnd.intacct-sync+json"):
        answer = api.request(
            "POST", "/exports", raw=json.dumps(OK).encode(), headers={"Content-Type": content_type}
        )
        assert answer.status == 202, (content_type, answer.body)


def test_a_body_that_is_not_utf8_text_is_refused(api):
    event = load_event("api_post_export")
    event["body"], event["isBase64Encoded"] = "//79", True  # base64 of bytes ff fe fd
    answer = api.send(event)
    assert answer.status == 400 and answer.body["error"] == "invalid_request"
    assert "UTF-8" in answer.body["message"]


def test_the_sample_bad_request_event_is_refused(api):
    answer = api.send(load_event("api_post_export_bad_request"))
    assert answer.status == 400
    assert answer.body == {
        "error": "invalid_request",
        "message": "mode must be one of full, incremental, got 'delta'",
    }
    assert api.executions() == []
