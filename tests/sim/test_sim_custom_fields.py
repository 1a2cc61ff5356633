"""Tenant custom fields (the ``custom_fields`` setting): an object as wide as a tenant makes it, its extra
fields listed by lookup as custom and answered, filtered and sorted like any other field."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import requests

from intacct_sim import Simulator, SimulatorConfig
from intacct_sim.cli import build_parser, config_from_args
from intacct_sim.schema import OBJECTS, custom_field_names
from tests.sim.sim_support import Gateway, cmp, records_of

WIDE = {"CUSTOMER": {"count": 1000, "name_length": 40}}
OWN = [f.name for f in OBJECTS["CUSTOMER"].fields]  # the recorded 223 and CUSTOMER_HEALTH


def lookup(gw: Gateway, obj: str) -> list[dict[str, str]]:
    """Every field lookup lists: {ID, DATATYPE, ISCUSTOM, ...}."""
    result = gw.result(f"<lookup><object>{obj}</object></lookup>")
    return [{child.tag: child.text or "" for child in field} for field in result.iter("Field")]


def custom_names(gw: Gateway) -> list[str]:
    return [f["ID"] for f in lookup(gw, "CUSTOMER")[len(OWN) :]]


def test_lookup_lists_the_custom_fields_after_the_objects_own(
    make_sim: Callable[..., Simulator], gw_factory: Callable[[Simulator], Gateway]
) -> None:
    # Given a simulator whose CUSTOMER has 1,000 custom fields of 40 characters
    gw = gw_factory(make_sim(records=20, custom_fields=WIDE))
    # When lookup describes CUSTOMER and VENDOR
    fields = lookup(gw, "CUSTOMER")
    # Then CUSTOMER lists its own fields, then the 1,000, each custom, 40 characters, named like the
    # recorded custom fields and typed TEXT, DECIMAL, BOOLEAN and DATE in turn
    assert [f["ID"] for f in fields[: len(OWN)]] == OWN
    added = fields[len(OWN) :]
    assert len(fields) == 1224 and len(added) == 1000
    assert all(f["ISCUSTOM"] == "true" and len(f["ID"]) == 40 for f in added)
    assert all(re.fullmatch(r"CUSTOMER_CF_(TEXT|NUMBER|BOOL|DATE)_X*\d{4}", f["ID"]) for f in added)
    assert added[0]["ID"] == "CUSTOMER_CF_TEXT_XXXXXXXXXXXXXXXXXXX0001"
    assert added[-1]["ID"] == "CUSTOMER_CF_DATE_XXXXXXXXXXXXXXXXXXX1000"
    assert [f["DATATYPE"] for f in added[:4]] == ["TEXT", "DECIMAL", "BOOLEAN", "DATE"]
    assert len({f["ID"] for f in fields}) == len(fields)
    # And the objects not named keep their recorded fields
    assert [f["ID"] for f in lookup(gw, "VENDOR")] == [f.name for f in OBJECTS["VENDOR"].fields]


def test_by_default_no_object_has_them(gw: Gateway) -> None:
    assert [f["ID"] for f in lookup(gw, "CUSTOMER")] == OWN
    assert SimulatorConfig().custom_fields == {}


def test_queries_answer_them_with_values_of_their_type_the_same_for_a_seed(
    make_sim: Callable[..., Simulator], gw_factory: Callable[[Simulator], Gateway]
) -> None:
    # Given two simulators of one seed and one of another, all with the custom fields
    first, again, other = (
        gw_factory(make_sim(records=50, seed=seed, custom_fields=WIDE)) for seed in (5, 5, 6)
    )
    names = custom_names(first)
    every = [*OWN, *names]
    # When a query selects every field, 1,224 of them
    records = [records_of(gw.query("CUSTOMER", every, pagesize=50)) for gw in (first, again, other)]
    # Then each record answers every field, the custom ones filled with values of their type
    assert len(records[0]) == 50 and all(list(r) == every for r in records[0])
    values: dict[str, set[str]] = {"TEXT": set(), "NUMBER": set(), "BOOL": set(), "DATE": set()}
    for record in records[0]:
        for name in names:
            values[name.split("_")[2]].add(record[name])
    assert values["BOOL"] == {"", "true", "false"}
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in values["NUMBER"] - {""})
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", v) for v in values["DATE"] - {""})
    assert len(values["TEXT"] - {""}) > 50
    # And the values are a function of the seed
    assert records[0] == records[1] and records[0] != records[2]


def test_they_filter_sort_and_come_with_read_by_query_star(
    make_sim: Callable[..., Simulator], gw_factory: Callable[[Simulator], Gateway]
) -> None:
    sim = make_sim(records=200, custom_fields={"customer": {"count": 8}})
    gw = gw_factory(sim)
    text, number = "CUSTOMER_CF_TEXT_1", "CUSTOMER_CF_NUMBER_2"
    assert custom_names(gw) == [
        f"CUSTOMER_CF_{k}_{i}" for i, k in enumerate(["TEXT", "NUMBER", "BOOL", "DATE"] * 2, 1)
    ]
    every = sim.records("CUSTOMER")
    wanted = next(r[text] for r in every if r[text])
    # A filter on a custom field
    hits = records_of(
        gw.query("CUSTOMER", ["RECORDNO", text], filter_xml=cmp("equalto", text, wanted), pagesize=200)
    )
    assert hits and {r["RECORDNO"] for r in hits} == {r["RECORDNO"] for r in every if r[text] == wanted}
    # An order on one (NULLs last ascending)
    ordered = records_of(
        gw.query("CUSTOMER", ["RECORDNO", number], order=[(number, "ascending")], pagesize=200)
    )
    amounts = [float(r[number]) for r in ordered if r[number]]
    assert amounts == sorted(amounts) and not ordered[-1][number]
    # readByQuery's '*' lists them
    star = gw.result(
        f"<readByQuery><object>CUSTOMER</object><query>{number} &gt; 10</query><fields>*</fields>"
        "<pagesize>5</pagesize></readByQuery>"
    )
    found = records_of(star)
    assert found and all(text in r and float(r[number]) > 10 for r in found)


def test_new_records_get_them_too(make_sim: Callable[..., Simulator]) -> None:
    # Given VENDOR with 4 custom fields of 30 characters
    sim = make_sim(records=20, custom_fields={"VENDOR": {"count": 4, "name_length": 30}})
    names = custom_field_names("VENDOR", 4, 30)
    # When records are inserted at run time, one with a custom value given
    inserted = sim.mutate("VENDOR", inserts=3)["inserted"]
    key = sim.upsert("VENDOR", {names[0]: "set by a test"})
    # Then they have the custom fields as well
    fresh = [r for r in sim.records("VENDOR") if int(r["RECORDNO"]) in {*inserted, key}]
    assert len(fresh) == 4 and all(list(r)[-4:] == names for r in fresh)
    assert "set by a test" in {r[names[0]] for r in fresh}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"CUSTOMER": {"count": 1000, "name_length": 20}}, "too short"),
        ({"AUDITHISTORY": {"count": 2}}, "not a generated object"),
        ({"NOSUCH": {"count": 2}}, "not a generated object"),
        ({"CUSTOMER": {"name_length": 40}}, "count"),
        ({"CUSTOMER": {"count": 2, "width": 40}}, "count"),
        ({"CUSTOMER": {"count": -1}}, ">= 0"),
        ({"CUSTOMER": 1000}, "must map"),
    ],
)
def test_bad_settings_are_refused_at_start(setting: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(custom_fields=setting)  # type: ignore[arg-type]


def test_start_up_only_and_a_cli_flag(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=10)
    refused = requests.post(sim.base_url + "/__sim__/config", json={"custom_fields": WIDE}, timeout=10)
    assert refused.status_code == 400
    args = build_parser().parse_args(["--custom-fields", json.dumps({"customer": {"count": 3}})])
    assert config_from_args(args).custom_fields == {"CUSTOMER": {"count": 3, "name_length": None}}
