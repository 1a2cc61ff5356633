"""Each export function gets only the AWS actions its step uses."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from samtranslator.yaml_helper import yaml_parse

from intacct_sync.export import layout
from tests.conftest import ROOT

RESOURCES = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
BUCKET_ARN = "${ExportBucket.Arn}"
RUN = "export-customer-20261124T020000Z"


def actions(function: str) -> set[str]:
    found: set[str] = set()
    for policy in RESOURCES[function]["Properties"]["Policies"]:
        if "Statement" in policy:
            for statement in policy["Statement"]:
                acts = statement["Action"]
                found.update([acts] if isinstance(acts, str) else acts)
        else:
            found.update(policy)  # a SAM policy template, by name
    return found


def s3_actions(function: str) -> set[str]:
    return {a for a in actions(function) if a.startswith("s3") or a.startswith("S3")}


def object_patterns(function: str, action: str) -> set[str]:
    """The bucket keys (as IAM patterns) a function's statements allow an S3 object action on."""
    found: set[str] = set()
    for policy in RESOURCES[function]["Properties"]["Policies"]:
        for statement in policy.get("Statement", []):
            acts = statement["Action"]
            if action not in ([acts] if isinstance(acts, str) else acts):
                continue
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
                if text.startswith(f"{BUCKET_ARN}/"):
                    found.add(text[len(BUCKET_ARN) + 1 :])
    return found


def may(function: str, action: str, key: str) -> bool:
    return any(fnmatchcase(key, pattern) for pattern in object_patterns(function, action))


def may_list_the_bucket(function: str) -> bool:
    return any(
        statement["Action"] == "s3:ListBucket"
        and statement["Resource"] == {"Fn::GetAtt": ["ExportBucket", "Arn"]}
        for policy in RESOURCES[function]["Properties"]["Policies"]
        for statement in policy.get("Statement", [])
    )


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("GetSessionFunction", {"s3:GetObject"}),
        ("StartExportFunction", {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
        ("FetchPageFunction", {"s3:GetObject", "s3:PutObject"}),
        ("PlanSegmentsFunction", {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"}),
        ("FinaliseExportFunction", {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
        ("ExportEndedFunction", {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
        ("StartSyncFunction", {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
        ("FollowExportFunction", set()),
        ("FinishSyncFunction", {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
    ],
)
def test_s3_access_is_what_the_step_needs(function, expected):
    assert s3_actions(function) == expected


def test_only_steps_that_call_intacct_read_the_credentials():
    functions = [k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"]
    callers = {f for f in functions if "AWSSecretsManagerGetSecretValuePolicy" in actions(f)}
    assert callers == {
        "GetSessionFunction",
        "StartExportFunction",
        "FetchPageFunction",
        "FinaliseExportFunction",
        "StartSyncFunction",  # a dry run counts each object
    }


@pytest.mark.parametrize("function", ["StartSyncFunction", "FinishSyncFunction"])
def test_the_sync_writes_its_own_documents_only_and_reads_manifests(function):
    assert object_patterns(function, "s3:PutObject") == {"_meta/syncs/*"}
    assert may(function, "s3:PutObject", layout.sync_key("sync-1"))
    assert may(function, "s3:GetObject", layout.manifest_key("CUSTOMER", RUN))
    assert not may(function, "s3:PutObject", layout.manifest_key("CUSTOMER", RUN))
    assert not may(
        function, "s3:GetObject", layout.part_key("CUSTOMER", RUN, 0, 0).replace("exports/", "deletes/")
    )


def test_following_a_run_only_describes_export_executions():
    assert actions("FollowExportFunction") == {"states:DescribeExecution"}


def test_plan_segments_touches_nothing_but_the_bucket_and_reads_the_run_total():
    assert actions("PlanSegmentsFunction") == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "dynamodb:GetItem",
    }


def test_fetch_page_writes_parts_summaries_and_only_the_documents_a_refused_field_changes():
    # Parts and their summaries; the run and the cached field list lose a field Intacct refuses (steps.fetch)
    assert object_patterns("FetchPageFunction", "s3:PutObject") == {
        "exports/*/part-*",
        "_meta/summaries/*",
        "_meta/runs/*",
        "_meta/fields/*",
    }
    assert may("FetchPageFunction", "s3:PutObject", layout.part_key("CUSTOMER", RUN, 1, 5))
    assert may("FetchPageFunction", "s3:PutObject", layout.summaries_key("CUSTOMER", RUN, 1, 5))
    assert may("FetchPageFunction", "s3:PutObject", layout.run_state_key(RUN))
    assert may("FetchPageFunction", "s3:PutObject", layout.field_cache_key("CUSTOMER", None))
    assert not may("FetchPageFunction", "s3:PutObject", layout.manifest_key("CUSTOMER", RUN))
    assert not may("FetchPageFunction", "s3:PutObject", layout.succeeded_runs_key("CUSTOMER", None))


@pytest.mark.parametrize(
    "function",
    # planning, finalise, resume (start_export) and the failed manifest read the run's parts and summaries
    ["PlanSegmentsFunction", "FinaliseExportFunction", "StartExportFunction", "ExportEndedFunction"],
)
def test_steps_that_read_a_runs_parts_may_list_them_and_read_their_summary_objects(function):
    assert may_list_the_bucket(function)
    assert may(function, "s3:GetObject", layout.summaries_key("CUSTOMER", RUN, 0, 0))
    assert may(function, "s3:GetObject", layout.part_key("CUSTOMER", RUN, 0, 0))  # HEAD needs GetObject


def test_part_summaries_are_outside_what_athena_and_the_api_read():
    key = layout.summaries_key("CUSTOMER", RUN, 0, 0)
    assert not key.startswith("exports/")
    assert not may("ApiFunction", "s3:GetObject", key)
