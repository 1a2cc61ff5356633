"""Export requests are validated strictly, naming what is wrong."""

import pytest

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.spec import RESUME_KEY, ExportSpec, run_of


def test_minimal_request_gets_defaults():
    spec = ExportSpec.from_payload({"object": "customer"})
    assert spec.object == "CUSTOMER" and spec.mode == "full" and spec.page_size == 2000
    assert spec.key_field == "RECORDNO" and spec.fields == ()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "object is required"),
        ({"object": "CUST OMER"}, "object must be an Intacct name"),
        ({"object": "CUSTOMER</object>"}, "object must be an Intacct name"),
        ({"object": "CUSTOMER", "page_size": 0}, "page_size"),
        ({"object": "CUSTOMER", "page_size": 2001}, "page_size"),
        ({"object": "CUSTOMER", "page_size": "100"}, "page_size"),
        ({"object": "CUSTOMER", "page_size": True}, "page_size"),
        ({"object": "CUSTOMER", "mode": "delta"}, "mode must be one of"),
        ({"object": "CUSTOMER", "fields": "NAME"}, "fields must be a list"),
        ({"object": "CUSTOMER", "fields": ["NAME", "NAME"]}, "repeat"),
        ({"object": "CUSTOMER", "fields": ["NA ME"]}, "each field"),
        ({"object": "CUSTOMER", "since": "2026-01-01T00:00:00Z"}, "only allowed with mode 'incremental'"),
        ({"object": "CUSTOMER", "mode": "incremental", "since": "2026-01-01T00:00:00"}, "time zone"),
        ({"object": "CUSTOMER", "mode": "incremental", "since": "yesterday"}, "ISO-8601"),
        ({"object": "CUSTOMER", "filter": ["x"]}, "filter must be a JSON object"),
        (
            {"object": "CUSTOMER", "filter": {"field": "NAME", "op": "drop", "value": "x"}},
            "filter is not valid",
        ),
        ({"object": "CUSTOMER", "surprise": 1}, "unknown field"),
        ({"object": "CUSTOMER", "entity": "US; DROP"}, "entity"),
    ],
)
def test_bad_requests_are_refused_with_a_clear_message(payload, message):
    with pytest.raises(InvalidExportRequest, match=message):
        ExportSpec.from_payload(payload)


def test_filter_is_normalised_and_kept():
    spec = ExportSpec.from_payload(
        {"object": "VENDOR", "filter": {"field": "STATUS", "op": "equalto", "value": "active"}}
    )
    assert spec.filter == {"field": "STATUS", "op": "equalto", "value": "active"}


@pytest.mark.parametrize(
    ("request_", "run"),
    [
        ({"object": "CUSTOMER"}, "exec-2"),
        ({RESUME_KEY: "run-1"}, "run-1"),
        ({RESUME_KEY: ""}, "exec-2"),
        ({RESUME_KEY: None}, "exec-2"),
        ({RESUME_KEY: "../x"}, "exec-2"),  # malformed: maybe the very failure being recorded
        ({RESUME_KEY: "_x"}, "exec-2"),
        ({RESUME_KEY: 7}, "exec-2"),
        (None, "exec-2"),  # an input too large for the event
        ("not a request", "exec-2"),
    ],
)
def test_an_execution_belongs_to_the_run_it_resumes_else_to_its_own(request_, run):
    assert run_of("exec-2", request_) == run
