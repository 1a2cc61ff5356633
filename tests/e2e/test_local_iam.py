"""IAM enforced per call on the local stack: each function's and the state machine's AWS calls are checked
against the policies template.yaml gives them (intacct_local.iam), so a call the template forgot fails
locally as it would on AWS."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from intacct_local import iam
from intacct_local.emulated_aws import LocalStack
from intacct_local.runner import RunOptions, local_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.iam_denials]


@pytest.fixture
def pipeline(make_sim):
    sim = make_sim(records=300, seed=5)
    with local_pipeline(RunOptions(page_size=100, quiet=True), sim=sim) as running:
        yield running


def without(stack: LocalStack, principal: str, action: str) -> None:
    """Take ``action`` out of a role's statements (as if the template had forgotten it)."""
    permissions = stack.permissions[principal]
    permissions.statements = [
        {**s, "Action": [a for a in _list(s["Action"]) if a.lower() != action.lower()]}
        for s in permissions.statements
    ]


def _list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def test_a_call_outside_the_functions_policy_is_refused_as_iam_refuses_it(pipeline):
    # Given the start step's role (the case: resuming once called DeleteObject it was not given)
    permissions = pipeline.stack.permissions["StartExportFunction"]
    bucket = pipeline.stack.bucket
    before = len(iam.DENIALS)
    # Then what its policy grants passes, and a delete of a part does not
    iam.check_call(
        permissions, "s3", "PutObject", {"Bucket": bucket, "Key": "_meta/runs/r.json"}, "us-east-1"
    )
    with pytest.raises(ClientError) as refused:
        iam.check_call(
            permissions, "s3", "DeleteObject", {"Bucket": bucket, "Key": "exports/CUSTOMER/x.gz"}, "us-east-1"
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert "is not authorized to perform: s3:DeleteObject on resource: arn:aws:s3:::" in error["Message"]
    assert iam.DENIALS[before:] == [
        {
            "principal": "StartExportFunction",
            "action": "s3:DeleteObject",
            "resource": f"arn:aws:s3:::{bucket}/exports/CUSTOMER/x.gz",
        }
    ]


def test_a_call_the_check_cannot_map_is_refused_so_no_new_call_slips_past(pipeline):
    permissions = pipeline.stack.permissions["ApiFunction"]
    with pytest.raises(ClientError, match=r"add it to local/intacct_local/iam\.py"):
        iam.check_call(permissions, "sqs", "SendMessage", {"QueueUrl": "q"}, "us-east-1")


def test_a_function_whose_role_lacks_a_call_fails_its_run_locally(pipeline):
    # Given a page step whose role cannot write parts
    without(pipeline.stack, "FetchPageFunction", "s3:PutObject")
    before = len(iam.DENIALS)
    # When an export runs
    result = pipeline.export({"object": "CUSTOMER", "fields": ["RECORDNO", "NAME", "WHENMODIFIED"]})
    # Then it fails on that call, as the deployed stack would
    assert result.status == "FAILED"
    refused = iam.DENIALS[before:]
    assert refused and {d["action"] for d in refused} == {"s3:PutObject"}
    assert {d["principal"] for d in refused} == {"FetchPageFunction"}


def test_a_refusal_the_code_survives_is_still_recorded(pipeline):
    # Given a finalise step whose role may not write Glue tables (the code logs Glue trouble as a warning)
    without(pipeline.stack, "FinaliseExportFunction", "glue:CreateTable")
    before = len(iam.DENIALS)
    result = pipeline.export({"object": "CUSTOMER"})
    # Then the run succeeds with a warning, and the refusal is recorded for the tests to see
    assert result.status == "SUCCEEDED", result.error
    assert any("Athena tables" in w for w in result.manifest["warnings"])
    assert {d["action"] for d in iam.DENIALS[before:]} == {"glue:CreateTable"}


def test_the_state_machine_role_is_checked_for_each_task(pipeline):
    # Given a state machine role that may not invoke the finalise step
    without(pipeline.stack, pipeline.stack.state_machine_arn, "lambda:InvokeFunction")
    before = len(iam.DENIALS)
    result = pipeline.export({"object": "CUSTOMER", "fields": ["RECORDNO", "NAME", "WHENMODIFIED"]})
    # Then the execution fails at its first Task, with Lambda's error for a refused invoke
    assert result.status == "FAILED"
    assert result.failure is not None and result.failure.error.startswith("Lambda."), result.error
    assert "is not authorized to perform: lambda:InvokeFunction" in result.failure.cause
    refused = iam.DENIALS[before:]
    assert refused[0]["principal"] == "ExportStateMachine"
    assert refused[0]["action"] == "lambda:InvokeFunction"
