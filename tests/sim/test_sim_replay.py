"""Replaying the recorded real records (docs/intacct/real-objects/records): the simulator answers each one
byte for byte as the real tenant did, '#' fields, omitted fields and all."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from intacct_sim import Simulator, SimulatorConfig, start_simulator
from intacct_sim.recorded import recorded_lines, recorded_objects, recorded_records, requested_fields
from tests.sim.sim_support import Gateway, data_attrs, query_xml

OBJECTS = recorded_objects()


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[Simulator]:
    """This module's simulator (conftest's ``gw`` talks to it): every recorded object replayed."""
    started = start_simulator(SimulatorConfig(records=50, seed=5, port=0))
    for obj in OBJECTS:
        started.replay(obj, recorded_records(obj))
    yield started
    started.stop()


def test_every_recorded_object_is_replayed():
    assert len(OBJECTS) == 29


@pytest.mark.parametrize("obj", OBJECTS)
def test_a_replayed_object_answers_its_recorded_records_exactly(gw: Gateway, obj: str) -> None:
    # When the recorded request's field list is queried (ordered by the key, as the product asks)
    key = "id" if obj == "DIMENSION" else "RECORDNO"
    body = gw.raw(query_xml(obj, requested_fields(obj), order=[(key, "ascending")], pagesize=100)).content
    # Then the records are the recorded elements, byte for byte
    answered = re.findall(rf"<{obj}>.*?</{obj}>".encode(), body)
    assert Counter(answered) == Counter(line.encode() for line in recorded_lines(obj))


def test_a_replay_keeps_keys_ordered_and_filterable(gw: Gateway) -> None:
    # GLDETAIL's text keys sort and compare as text; CLASS's numbers as numbers
    keys = sorted(r["RECORDNO"] for r in recorded_records("GLDETAIL"))
    after = gw.query(
        "GLDETAIL",
        ["RECORDNO"],
        filter_xml=f"<greaterthan><field>RECORDNO</field><value>{keys[0]}</value></greaterthan>",
        order=[("RECORDNO", "ascending")],
    )
    assert [r.findtext("RECORDNO") for r in after.findall("./data/GLDETAIL")] == keys[1:]
    numbers = gw.query("CLASS", ["RECORDNO"], order=[("RECORDNO", "descending")])
    assert [r.findtext("RECORDNO") for r in numbers.findall("./data/CLASS")] == ["7", "6", "4"]
    # And a window on WHENMODIFIED selects by time
    since = gw.query(
        "CLASS",
        ["RECORDNO"],
        filter_xml="<greaterthanorequalto><field>WHENMODIFIED</field><value>01/01/2000 00:00:00</value>"
        "</greaterthanorequalto>",
    )
    assert data_attrs(since)["totalcount"] == "3"


def test_replay_over_the_control_api(shared_sim: Simulator) -> None:
    answer = requests.post(
        f"{shared_sim.base_url}/__sim__/replay",
        json={"object": "department", "records": recorded_records("DEPARTMENT")},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json() == {"object": "DEPARTMENT", "records": 1}
    assert (
        requests.post(f"{shared_sim.base_url}/__sim__/replay", json={"object": "X"}, timeout=10).status_code
        == 400
    )
