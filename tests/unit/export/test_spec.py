"""Export requests are validated strictly, naming what is wrong."""

import pytest

from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.payloads import Cursor, SegmentPagesTask
from intacct_sync.export.spec import ExportSpec


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


def test_a_cursor_round_trips_through_json():
    cursor = Cursor(segment=2, seq=3, after_key="99", upper_key="200", max_pages=4, expected_remaining=1500)
    assert Cursor.from_payload(cursor.to_payload()) == cursor


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"segment": 1, "seq": "3"}, "seq must be a whole number"),
        ({"segment": 1, "after_key": 5}, "after_key must be text"),
        ({"segment": -1}, "must not be negative"),
        ({"seq": 1}, "not valid"),
    ],
)
def test_a_bad_cursor_is_named(payload, message):
    with pytest.raises(InvalidExportRequest, match=message):
        Cursor.from_payload(payload)


def test_a_page_task_needs_a_valid_run_id():
    with pytest.raises(InvalidExportRequest, match="run_id"):
        SegmentPagesTask.from_payload({"run_id": "../x", "segment": 0})
