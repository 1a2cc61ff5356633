"""The sync's pure logic: requests, frequencies, child names, what each object runs, due objects, the
maintenance window, plans and summaries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from intacct_sync.errors import InvalidExportRequest, SettingsError
from intacct_sync.export.sync import (
    SyncRequest,
    UnknownSyncObject,
    child_execution,
    due_objects,
    export_input,
    in_maintenance_window,
    parse_frequency,
    plan_totals,
    planned_object,
    rerun_refusal,
    sync_status,
    totals,
)
from intacct_sync.objects import Catalogue, ExportObject

NAMES = ["CUSTOMER", "VENDOR", "GLACCOUNT"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1H", timedelta(hours=1)),
        ("hourly", timedelta(hours=1)),
        ("PT15M", timedelta(minutes=15)),
        ("PT1H30M", timedelta(minutes=90)),
        ("P1D", timedelta(days=1)),
        ("daily", timedelta(days=1)),
    ],
)
def test_frequencies_read_as_durations(text, expected):
    assert parse_frequency(text) == expected


@pytest.mark.parametrize("text", ["PT10M", "P2D", "P", "PT", "1H", "every hour", "", 60, None])
def test_a_frequency_out_of_range_or_not_a_duration_is_refused(text):
    with pytest.raises(InvalidExportRequest):
        parse_frequency(text)


def test_the_catalogue_takes_a_frequency_and_refuses_a_bad_one_naming_it():
    catalogue = Catalogue.from_json('["CUSTOMER", {"object": "VENDOR", "frequency": "PT1H"}]')
    assert [o.frequency for o in catalogue] == [None, "PT1H"]
    with pytest.raises(SettingsError, match="item 0 frequency"):
        Catalogue.from_json('[{"object": "VENDOR", "frequency": "PT5M"}]')


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"objects": "all"}, {"objects": "all"}),
        ({"objects": "due"}, {"objects": "due"}),
        ({"objects": "ALL"}, {"objects": "all"}),  # any case, as names in a list
        ({"objects": "Due"}, {"objects": "due"}),
        ({"objects": ["vendor", "Customer"]}, {"objects": ["VENDOR", "CUSTOMER"]}),
        (
            {"objects": "all", "dry_run": True, "mode": "full"},
            {"objects": "all", "mode": "full", "dry_run": True},
        ),
        ({"objects": "all", "dry_run": False}, {"objects": "all"}),
        ({"resume_sync_id": "sync-1"}, {"resume_sync_id": "sync-1"}),
    ],
)
def test_sync_requests_normalise(payload, expected):
    assert SyncRequest.from_payload(payload, NAMES).to_payload() == expected


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ([], "must be a JSON object"),
        ({}, "objects is required"),
        ({"objects": "some"}, 'objects must be "all", "due" or a non-empty list'),
        ({"objects": []}, 'objects must be "all"'),
        ({"objects": [1]}, "object names"),
        ({"objects": ["VENDOR", "vendor"]}, "must not repeat"),
        ({"objects": "all", "mode": "fast"}, "mode must be one of"),
        ({"objects": "all", "dry_run": "yes"}, "dry_run must be true"),
        ({"objects": "all", "object": "VENDOR"}, "unknown field"),
        ({"resume_sync_id": "sync 1"}, "resume_sync_id must be 1 to 80 letters"),
        ({"resume_sync_id": "s", "objects": "all"}, "give it alone"),
    ],
)
def test_a_bad_sync_request_is_refused_naming_what_is_wrong(payload, words):
    with pytest.raises(InvalidExportRequest, match=words):
        SyncRequest.from_payload(payload, NAMES)


def test_an_object_outside_the_catalogue_is_named_with_the_configured_ones():
    with pytest.raises(UnknownSyncObject, match="APBILL not in the catalogue; configured: CUSTOMER, VENDOR"):
        SyncRequest.from_payload({"objects": ["CUSTOMER", "apbill"]}, NAMES)


def test_the_objects_asked_for_run_in_the_catalogues_order():
    assert SyncRequest.from_payload({"objects": "all"}, NAMES).names(NAMES) == NAMES
    assert SyncRequest.from_payload({"objects": ["GLACCOUNT", "CUSTOMER"]}, NAMES).names(NAMES) == [
        "CUSTOMER",
        "GLACCOUNT",
    ]


def test_child_executions_are_named_by_the_sync_and_the_object_within_step_functions_rules():
    name = child_execution("sync-20261124-abc", "CUSTOMER")
    assert name == child_execution("sync-20261124-abc", "CUSTOMER")  # a retried start finds it
    assert name.startswith("customer-sync-")
    assert name != child_execution("sync-20261124-abd", "CUSTOMER")
    assert name != child_execution("sync-20261124-abc", "VENDOR")
    long = child_execution("s" * 80, "X" * 100)
    assert len(long) <= 80 and re.fullmatch(r"[A-Za-z0-9_-]+", long)
    # two objects alike in their first 50 characters still get names of their own
    assert child_execution("s", "A" * 60 + "B") != child_execution("s", "A" * 60 + "C")


def test_incremental_where_the_object_can_be_full_otherwise():
    assert export_input(ExportObject("CUSTOMER"), None) == {"object": "CUSTOMER", "mode": "incremental"}
    assert export_input(ExportObject("CUSTOMER"), "full")["mode"] == "full"
    assert (
        export_input(ExportObject("GLBUDGET", modified_field=""), None)["mode"] == "full"
    )  # no modified field


def test_due_objects_are_those_whose_frequency_came_round_give_or_take_the_slack():
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    entries = [
        ExportObject("CUSTOMER"),  # no frequency: only the nightly sync
        ExportObject("VENDOR", frequency="PT1H"),
        ExportObject("GLACCOUNT", frequency="PT1H"),
        ExportObject("ITEM", frequency="P1D"),
        ExportObject("PROJECT", frequency="PT1H"),
    ]
    last = {
        "VENDOR": now - timedelta(minutes=57),  # an hourly schedule a few seconds early: due
        "GLACCOUNT": now - timedelta(minutes=30),
        "ITEM": now - timedelta(hours=23),
        "CUSTOMER": None,
    }  # PROJECT never synced: due
    assert due_objects(entries, last, now) == ["VENDOR", "PROJECT"]


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2026, 1, 10, 3, 30, tzinfo=UTC), True),  # Friday 19:30 PST
        (datetime(2026, 1, 10, 7, 29, tzinfo=UTC), True),  # Friday 23:29 PST
        (datetime(2026, 1, 10, 7, 30, tzinfo=UTC), False),  # Friday 23:30 PST: over
        (datetime(2026, 7, 11, 2, 30, tzinfo=UTC), True),  # Friday 19:30 PDT
        (datetime(2026, 7, 11, 6, 45, tzinfo=UTC), False),  # Friday 23:45 PDT
        (datetime(2026, 7, 10, 3, 0, tzinfo=UTC), False),  # Thursday 20:00 PDT
    ],
)
def test_the_maintenance_window_is_friday_evening_us_pacific_in_winter_and_summer(moment, inside):
    assert in_maintenance_window(moment) is inside


def test_a_plan_counts_pages_and_the_lookup_and_weighs_them_against_the_budget():
    customer = planned_object("CUSTOMER", "incremental", None, 4001, 2000, lookup_cached=False)
    empty = planned_object("VENDOR", "full", None, 0, 2000, lookup_cached=True)
    refused = planned_object("GLACCOUNT", "incremental", None, None, 2000, False, "PL04000005: no")
    assert (customer["pages"], customer["full_sync_transactions"]) == (3, 4)
    assert (empty["pages"], empty["full_sync_transactions"]) == (1, 1)  # an empty object still costs a query
    assert refused["full_sync_transactions"] is None and refused["error"] == "PL04000005: no"
    planned = [customer, empty, refused]
    fits = plan_totals(planned, plan_transactions=6, month_used=90, budget=100)
    assert fits["full_sync_transactions"] == 5 and fits["budget_remaining"] == 10 and fits["fits_budget"]
    assert fits["objects_not_counted"] == ["GLACCOUNT"] and fits["records"] == 4001
    assert plan_totals(planned, 6, 96, 100)["fits_budget"] is False
    unlimited = plan_totals(planned, 6, 96, 0)
    assert unlimited["monthly_budget"] is None and unlimited["fits_budget"] is None


def test_a_summary_counts_this_syncs_runs_and_names_the_failed_and_earlier_objects():
    outcomes = [
        {"object": "CUSTOMER", "status": "succeeded", "records": 10, "transactions": 2},
        {"object": "VENDOR", "status": "failed", "records": 3, "transactions": 1},
    ]
    summary = totals(outcomes, [{"object": "GLACCOUNT", "run_id": "r", "sync_id": "s"}], sync_transactions=3)
    assert summary == {
        "objects_succeeded": 1,
        "objects_failed": 1,
        "failed": ["VENDOR"],
        "stopped": [],
        "records": 13,
        "transactions": 6,  # the runs' 3 and the sync's own sign-in
        "sync_transactions": 3,
        "objects_synced_earlier": ["GLACCOUNT"],
    }
    assert sync_status(outcomes) == "failed" and sync_status(outcomes[:1]) == "succeeded"


def test_a_plans_error_is_one_line():
    refused = "DL02000001: Invalid fields:\n\tsales_channel: [RECORDNO] [Support ID: x]"
    planned = planned_object("SALES_CHANNEL", "incremental", None, None, 2000, False, refused)
    assert planned["error"] == "DL02000001: Invalid fields: sales_channel: [RECORDNO] [Support ID: x]"


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"status": "planned", "objects": [], "plan": {}}, "was a dry run"),
        ({"status": "skipped", "objects": [], "reason": "fill in the secret"}, "skipped: fill in the secret"),
        (
            {
                "status": "failed",
                "objects": [],
                "error": {"error": "AuthenticationError", "cause": "XL03000006"},
            },
            "failed: AuthenticationError: XL030",
        ),
    ],
)
def test_a_sync_that_exported_nothing_has_nothing_to_rerun(document, words):
    refusal = rerun_refusal("sync-1", document)
    assert refusal is not None and words in refusal and refusal.startswith("sync sync-1 ")


def test_a_sync_that_exported_something_can_be_rerun():
    objects = [{"object": "CUSTOMER", "run_id": "r", "execution": "r", "input": {}}]
    assert rerun_refusal("sync-1", {"status": "failed", "objects": objects}) is None
    assert rerun_refusal("sync-1", {"status": "stopped", "objects": objects}) is None
    assert rerun_refusal("sync-1", {"status": "skipped", "objects": [], "earlier": objects}) is None
