"""JSON pages: a record's own text becomes its NDJSON line only when it says exactly what the record says."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intacct_sync.intacct.json_page import json_page, last_json_text_value, records_from_json
from intacct_sync.intacct.response import MalformedBody
from tests.unit.intacct.intacct_unit_support import data_file


def _lines_say(records: list[dict[str, object]], lines: list[bytes] | None) -> None:
    assert lines is not None
    assert [json.loads(line) for line in lines] == records
    assert all(b"\n" not in line and b"\r" not in line for line in lines)


def test_documented_json_page_keeps_each_record_text() -> None:
    # Given docs/intacct/PROTOCOL.md's example: spaced, one record a line, a comma inside a value
    body = data_file("query_vendor.json")
    records, lines = json_page(body, ("RECORDNO", "PAYTOCONTACT.CONTACTNAME", "TOTALDUE"))
    assert records == records_from_json(body)
    _lines_say(records, lines)
    assert lines is not None and lines[0] == (
        b'{"RECORDNO": "1010", "PAYTOCONTACT.CONTACTNAME": "Ackman, Alice", "TOTALDUE": "3797"}'
    )


@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")])
def test_empty_values_become_null_in_both_records_and_lines(separators: tuple[str, str]) -> None:
    rows = [
        {"RECORDNO": "1", "NAME": "", "NOTE": 'say "": x', "TAIL": 'ends with ": '},
        {"RECORDNO": "2", "NAME": ""},
    ]
    body = json.dumps(rows, separators=separators).encode()
    records, lines = json_page(body)
    assert records == [
        {"RECORDNO": "1", "NAME": None, "NOTE": 'say "": x', "TAIL": 'ends with ": '},
        {"RECORDNO": "2", "NAME": None},
    ]
    _lines_say(records, lines)


def test_line_breaks_only_between_records_keep_the_record_text() -> None:
    body = b'[\r\n  {"RECORDNO": "1", "NAME": ""},\n  {"RECORDNO": "2", "NAME": "x"}\n]\n'
    records, lines = json_page(body)
    assert records == [{"RECORDNO": "1", "NAME": None}, {"RECORDNO": "2", "NAME": "x"}]
    _lines_say(records, lines)


def test_a_record_spread_over_lines_is_encoded_again() -> None:
    body = b'[\n  {\n    "RECORDNO": "1",\n    "NAME": ""\n  },\n  {"RECORDNO": "2", "NAME": "x"}\n]\n'
    assert json_page(body) == ([{"RECORDNO": "1", "NAME": None}, {"RECORDNO": "2", "NAME": "x"}], None)


@pytest.mark.parametrize(
    ("body", "fields", "expected"),
    [
        # A brace inside a value: records cannot be cut out of the text by braces.
        (b'[{"RECORDNO": "1", "NAME": "a}, {b"}]', None, [{"RECORDNO": "1", "NAME": "a}, {b"}]),
        (b'[{"RECORDNO": "1", "NAME": "a}"}]', None, [{"RECORDNO": "1", "NAME": "a}"}]),
        # Numbers, booleans and nested objects are normalised to text (the XML shape).
        (b'[{"RECORDNO": 1, "ONHOLD": false}]', None, [{"RECORDNO": "1", "ONHOLD": "false"}]),
        (b'[{"RECORDNO": "1", "CONTACT": {"NAME": ""}}]', None, [{"RECORDNO": "1", "CONTACT.NAME": None}]),
        # An empty value spaced unusually is still an empty value.
        (b'[{"RECORDNO": "1", "NAME" : ""}]', None, [{"RECORDNO": "1", "NAME": None}]),
        # A selected field Intacct left out is added as null.
        (b'[{"RECORDNO": "1"}]', ("RECORDNO", "NAME"), [{"RECORDNO": "1", "NAME": None}]),
    ],
)
def test_text_that_needs_normalising_is_encoded_again(
    body: bytes, fields: tuple[str, ...] | None, expected: list[dict[str, object]]
) -> None:
    records, lines = json_page(body, fields)
    assert records == expected
    assert lines is None


def test_escapes_and_non_ascii_survive_in_lines() -> None:
    body = '[{"RECORDNO": "1", "NAME": "B\\u00e4ckerei \\"Gro\\u00df\\" \\\\ \\/", "CITY": "Łódź"}]'.encode()
    records, lines = json_page(body)
    assert records == [{"RECORDNO": "1", "NAME": 'Bäckerei "Groß" \\ /', "CITY": "Łódź"}]
    _lines_say(records, lines)


@pytest.mark.parametrize(
    "body", [b'[{"RECORDNO": "1"', b'[{"RECORDNO": "1", "NAME": ""}', b"\xff[]", b'{"a": "b"}']
)
def test_broken_bodies_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        json_page(body)


def test_empty_body_is_no_records() -> None:
    assert json_page(b"") == ([], None)
    assert json_page(b"[]") == ([], [])


_TEXT = st.text(alphabet=list('ab "\\:,{}[]/é\u2028\t\n'), max_size=8)
_ROWS = st.lists(
    st.dictionaries(st.sampled_from(["RECORDNO", "NAME", "A.B", "NOTE"]), _TEXT, min_size=1), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(rows=_ROWS, spaced=st.booleans(), ascii_only=st.booleans(), indent=st.sampled_from([None, 0, 2]))
def test_lines_always_say_what_the_records_say(
    rows: list[dict[str, str]], spaced: bool, ascii_only: bool, indent: int | None
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    body = json.dumps(rows, separators=separators, ensure_ascii=ascii_only, indent=indent).encode()
    records, lines = json_page(body)
    assert records == records_from_json(body)
    if lines is not None:
        _lines_say(records, lines)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'[{"RECORDNO": "7", "NOTE": "\\"RECORDNO\\": \\"99\\""}, {"RECORDNO": "8"}]', (2, "8")),
        (b'[{"RECORDNO":"7"},{"RECORDNO":"12"}]', (2, "12")),
        (b'[{"RECORDNO": "7"},{"RECORDNO":"12"}]', None),  # spaced and compact: not trusted
        (b'[{"RECORDNO": "a\\"b"}]', None),  # an escape in the value
        (b'[{"NAME": "x"}]', None),
        (b"[]", None),
    ],
)
def test_last_key_read_from_the_raw_body(body: bytes, expected: tuple[int, str] | None) -> None:
    assert last_json_text_value(body, "RECORDNO") == expected
