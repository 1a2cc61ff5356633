"""Each export function gets only the AWS actions its step uses."""

from __future__ import annotations

import pytest
from samtranslator.yaml_helper import yaml_parse

from tests.conftest import ROOT

RESOURCES = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]


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


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("GetSessionFunction", set()),
        ("StartExportFunction", {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
        ("FetchPageFunction", {"s3:PutObject"}),
        ("PlanSegmentsFunction", {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}),
        ("FinaliseExportFunction", {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
        ("RecordFailureFunction", {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
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
    }


def test_plan_segments_touches_nothing_but_the_bucket():
    assert actions("PlanSegmentsFunction") == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
