"""template.yaml, read as SAM and transformed to CloudFormation offline: least privilege for every role,
an encrypted, private, TLS-only bucket, SigV4 on every API method, secrets only in Secrets Manager, the
session only in an SSM SecureString, an encrypted state table."""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from intacct_sync.adapters.session_cache import SsmSessionCache
from intacct_sync.export import layout
from intacct_sync.intacct import ApiSession
from tests.conftest import ROOT

SAM = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, Any] = SAM["Resources"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
# SAM policy templates expand to statements on the resource named by their parameter: scoped by design.
POLICY_TEMPLATES = {
    "AWSSecretsManagerGetSecretValuePolicy": "SecretArn",
    "DynamoDBCrudPolicy": "TableName",
    "DynamoDBReadPolicy": "TableName",
    "S3CrudPolicy": "BucketName",
    "S3ReadPolicy": "BucketName",
    "EventBridgePutEventsPolicy": "EventBusName",
    "LambdaInvokePolicy": "FunctionName",
    "SSMParameterReadPolicy": "ParameterName",
}
# What SAM attaches by itself: CloudWatch Logs for every function, X-Ray for `Tracing: Active`. Their
# actions do not support resource-level permissions.
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
API_GATEWAY_LOGS_ROLE = "ApiGatewayCloudWatchRole"  # ApiAccessLogs=create-account-role
PSEUDO = {"${AWS::Partition}": "aws", "${AWS::Region}": "region", "${AWS::AccountId}": "123456789012"}
SESSION_PARAMETER_ARN = (
    "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/intacct-sync/${Stage}/session*"
)


class OfflinePolicyLoader(ManagedPolicyLoader):
    """Managed policies by name are not used here, so nothing has to be fetched from IAM."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def cloudformation() -> dict[str, Any]:
    """The template as CloudFormation deploys it (LOCAL_AWS.md §4: local paths replaced first)."""
    sam = copy.deepcopy(SAM)
    for resource in sam["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["Definition"] = json.loads((ROOT / props.pop("DefinitionUri")).read_text())
        elif resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://offline/function.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = "s3://offline/layer.zip"
    cfn: dict[str, Any] = transform(sam, {}, OfflinePolicyLoader())
    return cfn


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return cloudformation()


def of_type(template: dict[str, Any], type_name: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def sub_text(resource: Any) -> str | None:
    """The text of a Fn::Sub resource (either form), else None."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    return None


def is_scoped(resource: Any) -> bool:
    """A resource names something specific: a Ref/GetAtt of this stack's resource, or an ARN whose resource
    part is more than a type and a wildcard (`table/${tableName}`, `parameter/intacct-sync/${Stage}/session*`,
    not `parameter/*`)."""
    if isinstance(resource, dict) and set(resource) & {"Ref", "Fn::GetAtt"}:
        return True
    text = sub_text(resource) if isinstance(resource, dict) else resource
    if not isinstance(text, str) or text.strip() in ("", "*"):
        return False
    if text.startswith("${") and not text.startswith("${AWS::"):
        return True  # "${ExportBucket.Arn}/exports/*", "${secretArn}"
    for pseudo, value in PSEUDO.items():
        text = text.replace(pseudo, value)
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    name = parts[5] if parts[2] == "s3" else re.sub(r"^[A-Za-z-]+[/:]", "", parts[5])
    return name.strip("*/:") != ""


def allow_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role, statement) for every Allow statement of every IAM role's inline policies."""
    for name, role in of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                if statement["Effect"] == "Allow":
                    yield name, statement


# --- least privilege --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "scoped"),
    [
        ("*", False),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::*"}, False),
        ({"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/*"}, False),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/*", False),
        ("arn:aws:lambda:us-east-1:123456789012:function:*", False),
        ({"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:*"}, False),
        ({"Fn::Sub": SESSION_PARAMETER_ARN}, True),
        ({"Fn::Sub": ["arn:${AWS::Partition}:s3:::${bucketName}/*", {"bucketName": "b"}]}, True),
        ({"Fn::Sub": "${ExportBucket.Arn}/exports/*"}, True),
        ({"Fn::GetAtt": ["StateTable", "Arn"]}, True),
    ],
)
def test_the_scope_check_refuses_wildcards(resource, scoped):
    assert is_scoped(resource) is scoped


# Step Functions delivers execution logs through these, which AWS requires on "*" (Step Functions developer
# guide, "IAM policies for logging to CloudWatch Logs").
LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


STATE_MACHINE_ROLES = ("ExportStateMachineRole", "SyncStateMachineRole")


def test_no_generated_role_allows_a_wildcard_action_or_an_unscoped_resource(cfn):
    statements = list(allow_statements(cfn))
    assert len(statements) > 20  # every function's, the state machine's and the scheduler's
    problems = []
    for role, statement in statements:
        if role in STATE_MACHINE_ROLES and set(as_list(statement["Action"])) == LOG_DELIVERY:
            assert as_list(statement["Resource"]) == ["*"]
            continue
        for action in as_list(statement["Action"]):
            if action == "*" or action.endswith(":*") or "*" in action.split(":", 1)[0]:
                problems.append(f"{role}: wildcard action {action}")
        for resource in as_list(statement["Resource"]):
            if not is_scoped(resource):
                problems.append(f"{role}: unscoped resource {json.dumps(resource)} for {statement['Action']}")
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{role}: NotAction/NotResource")
    assert not problems, problems


def test_roles_carry_no_managed_policy_but_what_sam_adds_for_logs_and_tracing(cfn):
    roles = of_type(cfn, "AWS::IAM::Role")
    gateway = roles.pop(API_GATEWAY_LOGS_ROLE)
    attached = {arn for role in roles.values() for arn in role["Properties"].get("ManagedPolicyArns", [])}
    assert attached <= ALLOWED_MANAGED_POLICIES
    # API Gateway's account-wide logs role: AWS's policy for exactly that, nothing else
    assert gateway["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    ]
    assert "Policies" not in gateway["Properties"]
    assert "AWS::IAM::ManagedPolicy" not in {r["Type"] for r in cfn["Resources"].values()}


def test_only_aws_services_of_this_stack_may_assume_its_roles(cfn):
    for name, role in of_type(cfn, "AWS::IAM::Role").items():
        for statement in as_list(role["Properties"]["AssumeRolePolicyDocument"]["Statement"]):
            principal = statement["Principal"]
            assert set(principal) == {"Service"}, (name, principal)
            services = set(as_list(principal["Service"]))
            if name == API_GATEWAY_LOGS_ROLE:
                assert services == {"apigateway.amazonaws.com"}
                assert statement["Condition"] == {
                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                }
                continue
            assert services <= {"lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"}


def test_function_policies_are_sam_templates_on_one_resource_or_scoped_statements():
    for name, function in FUNCTIONS.items():
        policies = function["Properties"].get("Policies", [])
        assert policies, f"{name} has no policy of its own (SAM would give it none, not least privilege)"
        for policy in policies:
            assert isinstance(policy, dict), f"{name}: managed policy by name {policy!r}"
            (kind,) = policy
            if kind == "Statement":
                for statement in policy["Statement"]:
                    assert statement["Effect"] == "Allow"
                    assert all("*" not in a for a in as_list(statement["Action"])), (name, statement)
                    assert all(is_scoped(r) for r in as_list(statement["Resource"])), (name, statement)
                continue
            assert kind in POLICY_TEMPLATES, f"{name}: unexpected policy {kind}"
            target = policy[kind][POLICY_TEMPLATES[kind]]
            assert target != "*" and target not in ("", None), (name, kind, target)


def test_the_session_cache_grants_read_and_write_of_the_session_parameter_only(cfn):
    ssm = [
        (role, s)
        for role, s in allow_statements(cfn)
        if any(a.startswith("ssm:") for a in as_list(s["Action"]))
    ]
    assert ssm
    for role, statement in ssm:
        assert sorted(as_list(statement["Action"])) == ["ssm:GetParameter", "ssm:PutParameter"], role
        assert [sub_text(r) for r in as_list(statement["Resource"])] == [SESSION_PARAMETER_ARN], role


def test_the_state_machine_may_invoke_only_the_stacks_functions(cfn):
    role = cfn["Resources"]["ExportStateMachineRole"]["Properties"]
    invoked = set()
    for policy in role["Policies"]:
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            if set(as_list(statement["Action"])) == LOG_DELIVERY:
                continue
            if as_list(statement["Action"]) == ["states:StartExecution"]:  # continuing in a new execution
                assert statement["Resource"]["Fn::Sub"].endswith(":stateMachine:intacct-sync-${Stage}-export")
                continue
            assert as_list(statement["Action"]) == ["lambda:InvokeFunction"]
            invoked.add(statement["Resource"]["Fn::Sub"][1]["functionName"]["Ref"])
    # ExportEndedFunction is invoked by EventBridge, not by the workflow; the sync's functions by the sync
    assert invoked == set(FUNCTIONS) - {"ApiFunction", "ExportEndedFunction", *SYNC_FUNCTIONS}


SYNC_FUNCTIONS = {"StartSyncFunction", "FollowExportFunction", "FinishSyncFunction"}


def test_the_sync_may_invoke_its_functions_and_run_exports_as_startexecution_sync_needs(cfn):
    role = cfn["Resources"]["SyncStateMachineRole"]["Properties"]
    invoked, others = set(), {}
    for policy in role["Policies"]:
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            actions = as_list(statement["Action"])
            if set(actions) == LOG_DELIVERY:
                continue
            if actions == ["lambda:InvokeFunction"]:
                invoked.add(statement["Resource"]["Fn::Sub"][1]["functionName"]["Ref"])
                continue
            others[statement["Sid"]] = (sorted(actions), statement["Resource"])
    assert invoked == SYNC_FUNCTIONS
    # AWS docs, "IAM policies for AWS Step Functions": a synchronous nested execution needs exactly these
    assert others["RunExports"] == (["states:StartExecution"], {"Ref": "ExportStateMachine"})
    actions, resource = others["WatchAndStopExports"]
    assert actions == ["states:DescribeExecution", "states:StopExecution"]
    assert sub_text(resource).endswith(":execution:${ExportStateMachine.Name}:*")
    actions, resource = others["ExecutionEndEvents"]
    assert actions == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert sub_text(resource).endswith(":rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")
    assert set(others) == {"RunExports", "WatchAndStopExports", "ExecutionEndEvents"}


# --- the API ------------------------------------------------------------------------------------------


def test_every_api_method_requires_sigv4_and_only_api_gateway_may_invoke_the_function(cfn):
    (api,) = of_type(cfn, "AWS::ApiGateway::RestApi").values()
    operations = [
        (path, method, operation)
        for path, item in api["Properties"]["Body"]["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 4
    for path, method, operation in operations:
        assert operation.get("security") == [{"AWS_IAM": []}], (path, method)
    permissions = [
        p
        for p in of_type(cfn, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": "ApiFunction"}
    ]
    assert permissions
    for permission in permissions:
        props = permission["Properties"]
        assert props["Principal"] == "apigateway.amazonaws.com"
        assert props["SourceArn"]["Fn::Sub"][1]["__ApiId__"] == {"Ref": "ExportApi"}
    assert not of_type(cfn, "AWS::Lambda::Url")


# --- data at rest and in transit ----------------------------------------------------------------------------


def test_the_export_bucket_is_encrypted_private_owner_enforced_and_tls_only():
    bucket = RESOURCES["ExportBucket"]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert RESOURCES["ExportBucket"]["DeletionPolicy"] == "Retain"
    policies = [p for p in RESOURCES.values() if p["Type"] == "AWS::S3::BucketPolicy"]
    assert [p["Properties"]["Bucket"] for p in policies] == [{"Ref": "ExportBucket"}]
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    assert not [s for s in statements if s["Effect"] == "Allow"], "the bucket policy grants access"
    (tls,) = [s for s in statements if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")]
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == "s3:*"
    assert tls["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    assert tls["Resource"] == [{"Fn::GetAtt": "ExportBucket.Arn"}, {"Fn::Sub": "${ExportBucket.Arn}/*"}] or (
        tls["Resource"] == [{"Fn::GetAtt": ["ExportBucket", "Arn"]}, {"Fn::Sub": "${ExportBucket.Arn}/*"}]
    )


def test_only_part_summary_objects_expire():
    rules = RESOURCES["ExportBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in rules if "ExpirationInDays" in r or "ExpirationDate" in r]
    # Summaries are an index a finalise or resume can do without; parts, manifests and run state are not.
    assert [(r["Prefix"], r["Status"]) for r in expiring] == [("_meta/summaries/", "Enabled")]
    assert layout.summaries_key("CUSTOMER", "run-1", 0, 0).startswith(expiring[0]["Prefix"])


def test_the_state_table_is_encrypted_and_recoverable():
    table = RESOURCES["StateTable"]["Properties"]
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_every_function_logs_to_a_group_with_retention():
    groups = {
        sub_text(r["Properties"]["LogGroupName"]): r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    for name in FUNCTIONS:
        group = groups.get(f"/aws/lambda/${{{name}}}")
        assert group is not None, f"{name} logs to a group without retention (created by Lambda)"
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# --- secrets ------------------------------------------------------------------------------------------------

SECRETISH = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|SESSION|CREDENTIAL|API_?KEY", re.IGNORECASE)


def test_credentials_live_in_secrets_manager_and_functions_get_only_its_name():
    secret = RESOURCES["CredentialsSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "SecretString" not in secret["Properties"]  # generated, then filled in by the operator
    assert "GenerateSecretString" in secret["Properties"]
    variables = dict(SAM["Globals"]["Function"]["Environment"]["Variables"])
    for function in FUNCTIONS.values():
        variables.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    secretish = {k: v for k, v in variables.items() if SECRETISH.search(k)}
    assert secretish, "expected the secret's id and the session parameter's name"
    for name, value in secretish.items():
        assert name.endswith(("_SECRET_ID", "_PARAMETER_NAME")), f"{name} looks like it carries a secret"
        assert not isinstance(value, str) or value.startswith("/intacct-sync/"), (name, value)
    assert variables["CREDENTIALS_SECRET_ID"] == {
        "Fn::If": ["CreateCredentialsSecret", {"Ref": "CredentialsSecret"}, {"Ref": "CredentialsSecretArn"}]
    }
    for name, parameter in SAM["Parameters"].items():
        if SECRETISH.search(name) and not name.endswith("Arn"):
            assert parameter.get("NoEcho") is True, f"parameter {name} would show a secret"


def test_the_session_is_cached_only_as_an_ssm_securestring():
    # In code: the one writer of SSM parameters is the session cache...
    writers = []
    for path in sorted((ROOT / "layers/common/intacct_sync").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "put_parameter":
                keywords = {k.arg: k.value for k in node.keywords}
                writers.append((path.relative_to(ROOT).as_posix(), ast.literal_eval(keywords["Type"])))
    assert writers == [("layers/common/intacct_sync/adapters/session_cache.py", "SecureString")]
    # ...and what it writes is a SecureString holding the session
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        cache = SsmSessionCache(ssm, "/intacct-sync/test/session")
        expires = datetime.now(UTC) + timedelta(hours=1)
        session = ApiSession("sEsSiOn-Id..", "https://api.intacct.com/ia/xml/xmlgw.phtml", expires)
        cache.put(session)
        (meta,) = ssm.describe_parameters()["Parameters"]
        assert meta["Type"] == "SecureString"
        assert cache.get() == session


def test_only_the_ended_rule_may_invoke_the_ended_function_and_nothing_else_invokes_by_event(cfn):
    permissions = of_type(cfn, "AWS::Lambda::Permission").values()
    by_events = [
        p["Properties"] for p in permissions if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert [p["FunctionName"] for p in by_events] == [{"Ref": "ExportEndedFunction"}]
    rule = cfn["Resources"][by_events[0]["SourceArn"]["Fn::GetAtt"][0]]["Properties"]
    assert rule["EventPattern"]["source"] == ["aws.states"]
    assert rule["EventPattern"]["detail"]["stateMachineArn"] == [{"Ref": "ExportStateMachine"}]
    assert set(rule["EventPattern"]["detail"]["status"]) == {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
