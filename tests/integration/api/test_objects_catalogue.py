"""GET /objects and its catalogue: the defaults, the EXPORT_OBJECTS override, validated at cold start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intacct_sync.api.settings import ApiSettings
from intacct_sync.errors import SettingsError
from intacct_sync.export.spec import ExportSpec
from intacct_sync.objects import DEFAULT_OBJECTS, Catalogue
from tests.conftest import load_event

ROOT = Path(__file__).resolve().parents[3]


def test_by_default_the_standard_finance_objects_are_offered(api):
    answer = api.send(load_event("api_get_objects"))
    assert answer.status == 200
    listed = answer.body["objects"]
    assert [o["object"] for o in listed] == [o.name for o in DEFAULT_OBJECTS]
    assert {"GLACCOUNT", "GLBATCH", "GLENTRY", "GLDETAIL", "ARPYMT", "APPYMT", "DEPARTMENT"} <= {
        o["object"] for o in listed
    }
    assert {(o["key_field"], o["modified_field"], o["incremental"]) for o in listed} == {
        ("RECORDNO", "WHENMODIFIED", True)
    }
    assert all(o["description"] for o in listed)
    by_name = {o["object"]: o for o in listed}
    assert by_name["ARINVOICE"]["created_field"] == "AUWHENCREATED"
    assert by_name["CUSTOMER"]["id_field"] == "CUSTOMERID" and by_name["GLENTRY"]["id_field"] is None


def test_export_objects_replaces_the_catalogue_and_decides_what_can_be_exported(make_api):
    # Given a deployment that offers CUSTOMER and AP bills keyed on their own fields
    objects = [
        "customer",
        {
            "object": "apbill",
            "key_field": "RECORDNO",
            "modified_field": "AUWHENMODIFIED",
            "created_field": "WHENCREATED",
            "id_field": None,
            "description": "AP bills",
            "frequency": "PT1H",
        },
        {"object": "SALES_CHANNEL", "key_field": "id", "modified_field": "", "created_field": "createdAt"},
    ]
    api = make_api(env={"EXPORT_OBJECTS": json.dumps(objects)})
    # Then /objects lists exactly those
    listed = api.get("/objects").body["objects"]
    assert listed == [
        {
            "object": "CUSTOMER",
            "key_field": "RECORDNO",
            "modified_field": "WHENMODIFIED",
            "incremental": True,
            "created_field": "WHENCREATED",
            "id_field": None,
            "description": "",
            "fields": [],
            "filter": None,
            "frequency": None,
        },
        {
            "object": "APBILL",
            "key_field": "RECORDNO",
            "modified_field": "AUWHENMODIFIED",
            "incremental": True,
            "created_field": "WHENCREATED",
            "id_field": None,
            "description": "AP bills",
            "fields": [],
            "filter": None,
            "frequency": "PT1H",
        },
        {  # spelled as given (a dimension's fields are camelCase); no modified field: full snapshots only
            "object": "SALES_CHANNEL",
            "key_field": "id",
            "modified_field": None,
            "incremental": False,
            "created_field": "createdAt",
            "id_field": None,
            "description": "",
            "fields": [],
            "filter": None,
            "frequency": None,
        },
    ]
    # And an AP bill export runs with the catalogue's modified field, while VENDOR is no longer offered
    started = api.post({"object": "apbill", "mode": "incremental"})
    assert started.status == 202
    execution_input = api.execution_input(started.body["export_id"])
    spec = ExportSpec.from_payload(execution_input)
    assert (
        Catalogue.from_json(json.dumps(objects)).apply(spec, execution_input.keys()).modified_field
        == "AUWHENMODIFIED"
    )
    refused = api.post({"object": "VENDOR", "mode": "full"})
    assert refused.status == 400 and refused.body["error"] == "unknown_object"
    assert "configured: CUSTOMER, APBILL, SALES_CHANNEL" in refused.body["message"]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("CUSTOMER", "not valid JSON"),
        ("[]", "non-empty JSON array"),
        ('{"object": "CUSTOMER"}', "non-empty JSON array"),
        ('["CUSTOMER", "customer"]', "CUSTOMER more than once"),
        ('["CUST OMER"]', "item 0 must be an Intacct name"),
        ("[42]", "item 0 must be an object name or a JSON object"),
        ('[{"name": "CUSTOMER"}]', "unknown key(s) name"),
        ('[{"key_field": "RECORDNO"}]', "needs an 'object' name"),
        ('[{"object": "VENDOR", "key_field": "RECORD NO"}]', "item 0 key_field"),
        ('[{"object": "VENDOR", "description": 7}]', "description must be text"),
        (json.dumps(["O" + str(i) for i in range(101)]), "at most 100"),
    ],
)
def test_a_bad_export_objects_value_is_refused_at_cold_start_naming_the_problem(raw, words):
    with pytest.raises(SettingsError, match="EXPORT_OBJECTS") as caught:
        Catalogue.from_json(raw)
    assert words in str(caught.value)


def test_the_function_does_not_start_with_a_bad_catalogue(make_api):
    with pytest.raises(SettingsError, match="EXPORT_OBJECTS"):
        make_api(env={"EXPORT_OBJECTS": '["CUSTOMER", "CUSTOMER"]'})


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"EXPORT_STATE_MACHINE_ARN": ""}, "EXPORT_STATE_MACHINE_ARN is required"),
        ({"EXPORT_STATE_MACHINE_ARN": "ExportStateMachine"}, "must be a state machine ARN"),
        ({"SYNC_STATE_MACHINE_ARN": "arn:aws:states:x"}, "SYNC_STATE_MACHINE_ARN must be a state machine"),
        ({"EXPORT_BUCKET": ""}, "EXPORT_BUCKET is required"),
        ({"STATE_TABLE": " "}, "STATE_TABLE is required"),
        ({"PAGE_SIZE": "5000"}, "PAGE_SIZE must be between 1 and 2000"),
    ],
)
def test_api_settings_name_the_bad_variable(env, words):
    good = {
        "EXPORT_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:intacct-sync-dev",
        "SYNC_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:intacct-sync-dev-sync",
        "EXPORT_BUCKET": "b",
        "STATE_TABLE": "t",
    }
    assert ApiSettings.from_env(good).objects.names() == [o.name for o in DEFAULT_OBJECTS]
    with pytest.raises(SettingsError, match=words):
        ApiSettings.from_env({**good, **env})


def test_the_docs_list_the_catalogue_that_is_served(api):
    # Given GET /objects
    listed = api.send(load_event("api_get_objects")).body["objects"]
    # Then the README's table gives each object's key, modified, created and id fields as served
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## What it exports: the object catalogue", 1)[1].split("\n\n- ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    documented = [(r[0][2:], r[2], r[3], r[4], r[5].removesuffix(" |")) for r in rows[1:]]
    assert documented == [
        (
            o["object"],
            o["key_field"],
            o["modified_field"] or "full snapshot only",
            o["created_field"] or "—",
            o["id_field"] or "— (by key)",
        )
        for o in listed
    ]
    # And docs/API.md names every default object
    api_md = (ROOT / "docs" / "API.md").read_text().replace("\n", " ")
    assert ", ".join(o["object"] for o in listed) + "." in api_md
