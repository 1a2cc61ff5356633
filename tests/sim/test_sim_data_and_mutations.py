"""Generated data (determinism, keys, time zone, entities) and mutations with their audit trail."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import requests

from intacct_sim import Simulator
from intacct_sim.schema import OBJECTS
from tests.sim.sim_support import Gateway, cmp, data_attrs, records_of

STAMP = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$")
LA = ZoneInfo("America/Los_Angeles")


def _local(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%m/%d/%Y %H:%M:%S")


GENERATED = ("CUSTOMER", "VENDOR", "GLACCOUNT", "AUDITHISTORY")
DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


def test_records_have_every_field_as_strings(shared_sim: Simulator) -> None:
    for name, spec in OBJECTS.items():
        rows = shared_sim.records(name)
        if name in ("CUSTOMER", "VENDOR", "AUDITHISTORY"):
            assert len(rows) == 300, name
        assert all(list(r) == [f.name for f in spec.fields] for r in rows), name
        assert all(isinstance(v, str) for r in rows for v in r.values()), name
        created, modified = spec.meta.created_field, spec.meta.modified_field
        created_form = DATE if spec.meta.created_date_only else STAMP
        modified_form = DATE if spec.meta.modified_date_only else STAMP
        assert all(created_form.match(r[created]) for r in rows), name
        # records created and never modified have an empty WHENMODIFIED (never_modified_percent)
        assert all(modified_form.match(r[modified]) or r[modified] == "" for r in rows), name


def test_data_is_deterministic_per_seed(make_sim: Callable[..., Simulator]) -> None:
    a, b, c = make_sim(records=80, seed=3), make_sim(records=80, seed=3), make_sim(records=80, seed=4)
    for name in GENERATED:
        assert a.records(name) == b.records(name)
        assert a.records(name) != c.records(name)


def test_recordnos_ascend_with_creation_and_have_gaps(shared_sim: Simulator) -> None:
    for name in ("CUSTOMER", "VENDOR", "GLBATCH", "AUDITHISTORY"):
        key_field = "ID" if name == "AUDITHISTORY" else "RECORDNO"  # AUDITHISTORY rows are keyed by ID
        keys = [int(r[key_field]) for r in shared_sim.records(name)]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        assert keys[-1] - keys[0] + 1 > len(keys), f"{name} keys are contiguous"
        created = [_local(r["WHENCREATED"]) for r in shared_sim.records(name)]
        # creation order; wall-clock time may step back by at most the hour repeated when DST ends
        assert all(later >= earlier - timedelta(hours=1) for earlier, later in pairwise(created))
        assert created[0] < created[-1]


def test_timestamps_are_tenant_local_time_not_utc(make_sim: Callable[..., Simulator]) -> None:
    la = make_sim(records=40, seed=9, timezone="America/Los_Angeles").records("CUSTOMER")
    utc = make_sim(records=40, seed=9, timezone="UTC").records("CUSTOMER")
    shifts = {
        _local(u["WHENCREATED"]) - _local(la_row["WHENCREATED"]) for la_row, u in zip(la, utc, strict=True)
    }
    assert shifts == {timedelta(hours=7), timedelta(hours=8)}  # PDT and PST


def test_realistic_values_include_awkward_text(shared_sim: Simulator) -> None:
    names = [r["NAME"] for r in shared_sim.records("CUSTOMER")]
    joined = "".join(names)
    for needle in ("&", "<", '"', "'", "ü"):
        assert needle in joined, needle
    assert any(ord(ch) > 0x3000 for ch in joined), "expected CJK text"
    emails = [r["DISPLAYCONTACT.EMAIL1"] for r in shared_sim.records("CUSTOMER")]
    assert "" in emails and any("@" in e for e in emails)
    # entity-owned records and top-level ones (empty MEGAENTITYID)
    assert {r["MEGAENTITYID"] for r in shared_sim.records("VENDOR")} == {"US", "UK", "DE", ""}


def test_entity_filter_of_records(shared_sim: Simulator) -> None:
    uk = shared_sim.records("CUSTOMER", entity="UK")
    assert uk and all(r["MEGAENTITYID"] == "UK" for r in uk)
    assert len(shared_sim.records("AUDITHISTORY", entity="UK")) == 300  # not entity-scoped


def test_mutate_inserts_updates_and_deletes_with_audit_rows(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=100)
    before = {r["RECORDNO"]: r for r in sim.records("CUSTOMER")}
    changed = sim.mutate("CUSTOMER", inserts=3, updates=4, deletes=2)
    assert sorted(changed) == ["deleted", "inserted", "updated"]
    assert (len(changed["inserted"]), len(changed["updated"]), len(changed["deleted"])) == (3, 4, 2)
    after = {r["RECORDNO"]: r for r in sim.records("CUSTOMER")}
    assert len(after) == 101
    top = max(int(k) for k in before)
    assert all(k > top for k in changed["inserted"])
    now = datetime.now(LA).replace(tzinfo=None)
    for key in changed["inserted"] + changed["updated"]:
        row = after[str(key)]
        assert abs((_local(row["WHENMODIFIED"]) - now).total_seconds()) < 10
    for key in changed["updated"]:
        assert after[str(key)] != before[str(key)]
    for key in changed["deleted"]:
        assert str(key) not in after
    audit = sim.records("AUDITHISTORY")[-9:]
    modes = {(a["OBJECTKEY"], a["ACCESSMODE"]) for a in audit}
    ids = {k: (after.get(str(k)) or before[str(k)])["CUSTOMERID"] for keys in changed.values() for k in keys}
    # OBJECTKEY is the customer's unique name field, CUSTOMERID (estuary/connectors PR #5217)
    assert modes == (
        {(ids[k], "C") for k in changed["inserted"]}
        | {(ids[k], "M") for k in changed["updated"]}
        | {(ids[k], "D") for k in changed["deleted"]}
    )
    assert {a["OBJECTTYPE"] for a in audit} == {"customer"}
    assert all(STAMP.match(a["ACCESSTIME"]) for a in audit)


def test_inserted_records_write_every_date_in_the_users_format(make_sim: Callable[..., Simulator]) -> None:
    # Run-time inserts are built with canonical ISO times; the API writes them as it writes every date
    sim = make_sim(records=200, seed=21)
    inserted = {str(k) for k in sim.mutate("CUSTOMER", inserts=20)["inserted"]}
    times = [f.name for f in OBJECTS["CUSTOMER"].fields if f.datatype in ("DATE", "TIMESTAMP")]
    rows = [r for r in sim.records("CUSTOMER") if r["RECORDNO"] in inserted]
    assert len(rows) == 20
    form = re.compile(r"\d{2}/\d{2}/\d{4}( \d{2}:\d{2}:\d{2})?\Z")
    assert all(form.match(r[name]) for r in rows for name in times if r[name]), [
        (name, r[name]) for r in rows for name in times if r[name] and not form.match(r[name])
    ][:5]


def test_deletes_show_up_as_audithistory_rows_in_queries(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=50)
    victim = sim.records("VENDOR")[10]
    key, vendor_id = int(victim["RECORDNO"]), victim["VENDORID"]
    assert sim.delete("VENDOR", key) is True
    assert sim.delete("VENDOR", key) is False
    gw = Gateway(sim)
    flt = "<and>" + cmp("equalto", "ACCESSMODE", "D") + cmp("equalto", "OBJECTKEY", vendor_id) + "</and>"
    rows = records_of(
        gw.query("AUDITHISTORY", ["OBJECTTYPE", "OBJECTKEY", "ACCESSMODE", "USERID"], filter_xml=flt)
    )
    assert rows == [{"OBJECTTYPE": "vendor", "OBJECTKEY": vendor_id, "ACCESSMODE": "D", "USERID": "sim-user"}]
    vendor = gw.query("VENDOR", ["RECORDNO"], filter_xml=cmp("equalto", "RECORDNO", str(key)))
    assert data_attrs(vendor)["totalcount"] == "0"


def test_upsert_with_a_chosen_dst_ambiguous_whenmodified(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=30)
    key = sim.upsert(
        "CUSTOMER", {"NAME": "Fall back & Co", "WHENMODIFIED": "11/03/2024 01:30:00", "MEGAENTITYID": "DE"}
    )
    row = next(r for r in sim.records("CUSTOMER") if r["RECORDNO"] == str(key))
    assert (row["NAME"], row["WHENMODIFIED"], row["MEGAENTITYID"], row["MEGAENTITYNAME"]) == (
        "Fall back & Co",
        "11/03/2024 01:30:00",
        "DE",
        "Deutschland",
    )
    assert row["CUSTOMERID"]  # the rest of the record is generated
    gw = Gateway(sim)
    flt = (
        "<and>"
        + cmp("greaterthanorequalto", "WHENMODIFIED", "11/03/2024 01:00:00")
        + cmp("lessthan", "WHENMODIFIED", "11/03/2024 02:00:00")
        + "</and>"
    )
    assert [r["RECORDNO"] for r in records_of(gw.query("CUSTOMER", ["RECORDNO"], filter_xml=flt))] == [
        str(key)
    ]
    sim.upsert("CUSTOMER", {"RECORDNO": key, "TOTALDUE": "12.5"})
    updated = next(r for r in sim.records("CUSTOMER") if r["RECORDNO"] == str(key))
    assert updated["TOTALDUE"] == "12.5" and updated["NAME"] == "Fall back & Co"
    assert updated["WHENMODIFIED"] != "11/03/2024 01:30:00"  # an update without WHENMODIFIED means now


def test_upsert_rejects_unknown_fields_and_bad_values(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=5)
    with pytest.raises(ValueError, match="NOPE"):
        sim.upsert("CUSTOMER", {"NOPE": "x"})
    with pytest.raises(ValueError):
        sim.upsert("CUSTOMER", {"WHENMODIFIED": "13/45/2024"})


def test_upsert_out_of_order_recordno_keeps_ordering_correct(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=20)
    keys = [int(r["RECORDNO"]) for r in sim.records("GLACCOUNT")]
    gap = next(k for k in range(keys[0], keys[-1]) if k not in keys)
    sim.upsert("GLACCOUNT", {"RECORDNO": gap, "TITLE": "Inserted into a gap"})
    gw = Gateway(sim)
    got = [
        int(r["RECORDNO"])
        for r in records_of(gw.query("GLACCOUNT", ["RECORDNO"], order=[("RECORDNO", "ascending")]))
    ]
    assert got == sorted([*keys, gap])
    assert [int(r["RECORDNO"]) for r in sim.records("GLACCOUNT")] == got
    unordered = [int(r["RECORDNO"]) for r in records_of(gw.query("GLACCOUNT", ["RECORDNO"]))]
    assert unordered == got


def test_mutate_over_http_with_counts_records_and_keys(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=40)
    victim = int(sim.records("CUSTOMER")[0]["RECORDNO"])
    answer = requests.post(
        sim.base_url + "/__sim__/mutate",
        timeout=10,
        json={
            "object": "CUSTOMER",
            "inserts": 1,
            "records": [{"NAME": "Explicit <Ltd>", "STATUS": "inactive"}],
            "delete_keys": [victim],
        },
    ).json()
    assert len(answer["inserted"]) == 1 and len(answer["upserted"]) == 1
    assert answer["deleted"] == [victim]
    rows = {r["RECORDNO"]: r for r in sim.records("CUSTOMER")}
    assert rows[str(answer["upserted"][0])]["NAME"] == "Explicit <Ltd>"
    assert str(victim) not in rows
    assert len(rows) == 41
    bad = requests.post(
        sim.base_url + "/__sim__/mutate", json={"object": "AUDITHISTORY", "inserts": 1}, timeout=10
    )
    assert bad.status_code == 400


def _offset_export(gw: Gateway, pagesize: int) -> list[str]:
    keys: list[str] = []
    offset = 0
    while True:
        result = gw.query(
            "CUSTOMER", ["RECORDNO"], order=[("RECORDNO", "ascending")], pagesize=pagesize, offset=offset
        )
        keys.extend(r["RECORDNO"] for r in records_of(result))
        if data_attrs(result)["numremaining"] == "0":
            return keys
        offset += pagesize


def test_mutations_per_query_reproduce_offset_drift(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(
        records=400, mutations_per_query={"object": "CUSTOMER", "inserts": 2, "updates": 3, "deletes": 4}
    )
    gw = Gateway(sim)
    gw.login()
    start = {r["RECORDNO"] for r in sim.records("CUSTOMER")}
    exported = _offset_export(gw, 50)
    end = {r["RECORDNO"] for r in sim.records("CUSTOMER")}
    survivors = start & end
    missed = survivors - set(exported)
    assert missed, "deletes ahead of the offset must make an offset export skip surviving records"
    assert sim.stats()["mutations"]["deleted"] == 4 * sim.stats()["transactions_by_function"]["query"]


def test_mutations_every_nth_query_and_only_for_that_object(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(records=50)
    sim.configure(mutations_per_query=[{"object": "VENDOR", "inserts": 1, "every": 3}])
    gw = Gateway(sim)
    for _ in range(2):
        gw.query("CUSTOMER", ["RECORDNO"])
    assert len(sim.records("VENDOR")) == 50
    for _ in range(6):
        gw.query("VENDOR", ["RECORDNO"])
    assert len(sim.records("VENDOR")) == 52
    gw.query("VENDOR", ["NOPE"])  # failed queries do not count
    gw.query("VENDOR", ["RECORDNO"])
    gw.query("VENDOR", ["RECORDNO"])
    assert len(sim.records("VENDOR")) == 52
    gw.query("VENDOR", ["RECORDNO"])
    assert len(sim.records("VENDOR")) == 53
