"""Names Intacct accepts and answers under other names: every recorded real record, read back under the
names that were requested (docs/intacct/real-objects: `<OBJECT>.fields` and `records/<OBJECT>.xml`)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from intacct_sim.realobjects import ITEM_OMITTED
from intacct_sync.intacct import InvalidQueryError, Query, check_field_name, eq
from intacct_sync.intacct.json_page import json_page, records_from_json
from intacct_sync.intacct.response import parse_document, records_from_data

REAL = Path(__file__).resolve().parents[3] / "docs" / "intacct" / "real-objects"
RECORDED = sorted(p.stem for p in (REAL / "records").glob("*.xml"))
# The request of the CREDITCARD recording names DEPT and DEPT#, LOCATION and LOCATION#.
CARD_FIELDS = ["RECORDNO", "LIABACCT#", "DEPT", "DEPT#", "LOCATION", "LOCATION#", "WHENMODIFIED"]


def xml(text: str) -> ET.Element:
    return parse_document(text.encode())


def requested(obj: str) -> list[str]:
    return [line.strip() for line in (REAL / f"{obj}.fields").read_text().splitlines() if line.strip()]


def recorded_lines(obj: str) -> list[str]:
    return [line for line in (REAL / "records" / f"{obj}.xml").read_text().splitlines() if line.strip()]


def as_recorded(obj: str, line: str) -> dict[str, str | None]:
    """What the recorded record says, field by requested field: its children are the requested names
    without '#', in request order, ITEM leaving out its 7 replenishment fields (records/README.md)."""
    present = [f for f in requested(obj) if not (obj == "ITEM" and f in ITEM_OMITTED)]
    children = list(xml(line))
    assert [c.tag for c in children] == [f.replace("#", "") for f in present]
    expected: dict[str, str | None] = {f: None for f in requested(obj)}
    expected.update({f: c.text or None for f, c in zip(present, children, strict=True)})
    return expected


def test_the_recording_is_here() -> None:
    assert len(RECORDED) == 29 and {"CREDITCARD", "SAVINGSACCOUNT", "DIMENSION", "GLDETAIL"} <= set(RECORDED)


@pytest.mark.parametrize("obj", RECORDED)
def test_every_recorded_record_reads_back_under_the_requested_names(obj: str) -> None:
    # Given a page holding the recorded record elements of the object, as its query requested them
    fields = requested(obj)
    lines = recorded_lines(obj)
    data = xml(f'<data listtype="{obj}" count="{len(lines)}">{"".join(lines)}</data>')
    # When the page is read for those fields (names with '#' included, as they are valid)
    Query(obj, tuple(fields))
    records = records_from_data(data, fields)
    # Then each record holds exactly the requested fields, each with the value at its place
    assert [set(r) for r in records] == [set(fields)] * len(lines)
    assert records == [as_recorded(obj, line) for line in lines]


def test_sibling_elements_of_one_name_are_told_apart_by_position() -> None:
    # Given the recorded CREDITCARD record 5: LIABACCT# as <LIABACCT>, DEPT and DEPT# as two <DEPT>,
    # LOCATION and LOCATION# as two <LOCATION> holding different values
    record = records_from_data(
        xml(f"<data>{recorded_lines('CREDITCARD')[0]}</data>"), requested("CREDITCARD")
    )[0]
    assert record["LIABACCT#"] == "7710" and "LIABACCT" not in record
    assert record["DEPT"] is None and record["DEPT#"] is None
    assert (record["LOCATION"], record["LOCATION#"]) == ("-Fallback-scrubbed-yvSBGP", "9806")


def test_a_field_left_out_of_the_answer_does_not_shift_the_others() -> None:
    # Given an answer without DEPT (as ITEM leaves fields out), its <DEPT> is DEPT#'s
    data = xml(
        "<data><CREDITCARD><RECORDNO>5</RECORDNO><LIABACCT>7710</LIABACCT><DEPT>D9</DEPT>"
        "<LOCATION>L1</LOCATION><LOCATION>9806</LOCATION><WHENMODIFIED></WHENMODIFIED></CREDITCARD></data>"
    )
    fields = ["RECORDNO", "LIABACCT#", "DEPT", "LOCATION", "DEPT#", "LOCATION#", "WHENMODIFIED"]
    (record,) = records_from_data(data, fields)
    assert record == {
        "RECORDNO": "5",
        "LIABACCT#": "7710",
        "DEPT": "D9",
        "LOCATION": "L1",
        "DEPT#": None,
        "LOCATION#": "9806",
        "WHENMODIFIED": None,
    }
    # And more siblings than were asked for are kept, numbered, never dropped
    extra = xml("<data><X><DEPT>a</DEPT><DEPT>b</DEPT><DEPT>c</DEPT></X></data>")
    assert records_from_data(extra, ["DEPT", "DEPT#"]) == [{"DEPT": "a", "DEPT#": "b", "DEPT.1": "c"}]


def test_json_pages_keep_both_values_of_a_repeated_key() -> None:
    # Given a JSON page repeating DEPT and LOCATION (the simulator's answer; json.loads keeps the last)
    rows = [
        '{"RECORDNO": "5", "LIABACCT": "7710", "DEPT": "", "DEPT": "12", "LOCATION": "L1", '
        '"LOCATION": "9806", "WHENMODIFIED": "10/30/2025 16:07:38"}',
        '{"RECORDNO":"6","LIABACCT":"","DEPT":"D2","DEPT":"","LOCATION":"","LOCATION":"1","WHENMODIFIED":""}',
    ]
    body = ("[" + ",".join(rows) + "]").encode()
    assert json.loads(rows[0])["DEPT"] == "12"
    # When it is read for the requested fields
    records, lines = json_page(body, CARD_FIELDS)
    # Then each value is under its own requested name, empty ones null, and no line is reused as is
    assert lines is None
    assert records == records_from_json(body, CARD_FIELDS)
    assert records == [
        {
            "RECORDNO": "5",
            "LIABACCT#": "7710",
            "DEPT": None,
            "DEPT#": "12",
            "LOCATION": "L1",
            "LOCATION#": "9806",
            "WHENMODIFIED": "10/30/2025 16:07:38",
        },
        {
            "RECORDNO": "6",
            "LIABACCT#": None,
            "DEPT": "D2",
            "DEPT#": None,
            "LOCATION": None,
            "LOCATION#": "1",
            "WHENMODIFIED": None,
        },
    ]


@pytest.mark.parametrize(
    "name", ["LIABACCT#", "DEPT#", "LOCATION#", "id", "createdAt", "PAYTO.TAXGROUP.NAME"]
)
def test_names_intacct_accepts_are_accepted_everywhere(name: str) -> None:
    assert check_field_name(name) == name
    assert Query("CREDITCARD", (name,)).fields == (name,)
    assert eq(name, "1").field == name


@pytest.mark.parametrize("name", ["#DEPT", "DEPT#.X.", "DE PT#", "DEPT</field>", "1#"])
def test_names_it_does_not_are_refused(name: str) -> None:
    with pytest.raises(InvalidQueryError, match="not a valid Intacct name"):
        check_field_name(name)
