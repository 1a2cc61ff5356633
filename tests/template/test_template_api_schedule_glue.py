"""template.yaml: the API (IAM auth, routes, least privilege), the schedules and the Glue database."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from intacct_local.template import Template
from intacct_sync.api.routes import ROUTES
from intacct_sync.export.sync import SyncRequest, in_maintenance_window
from intacct_sync.objects import Catalogue
from tests.conftest import ROOT, load_event

TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]


# --- the API ------------------------------------------------------------------------------------------


def test_the_api_requires_sigv4_and_calls_the_function_with_its_own_permission():
    auth = RESOURCES["ExportApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "AWS_IAM"
    assert auth["InvokeRole"] == "NONE"  # not the caller's credentials (SAM's default for AWS_IAM)


def test_the_template_declares_exactly_the_routes_the_code_serves():
    events = RESOURCES["ApiFunction"]["Properties"]["Events"].values()
    declared = {(e["Properties"]["Path"], e["Properties"]["Method"].upper()) for e in events}
    assert all(e["Properties"]["RestApiId"] == {"Ref": "ExportApi"} for e in events)
    assert declared == {(path, method) for path, methods in ROUTES.items() for method in methods}


def test_the_api_function_may_only_start_and_describe_exports_and_syncs_and_read_what_they_wrote():
    props = RESOURCES["ApiFunction"]["Properties"]
    (policy,) = props["Policies"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert {s["Action"] for s in statements.values()} == {
        "states:StartExecution",
        "states:DescribeExecution",
        "s3:GetObject",
        "s3:ListBucket",
        "dynamodb:GetItem",
    }
    assert all(s["Effect"] == "Allow" and "*" not in s["Action"] for s in statements.values())
    assert statements["StartExports"]["Resource"] == {"Ref": "ExportStateMachine"}
    assert statements["DescribeExports"]["Resource"]["Fn::Sub"].endswith(
        ":execution:${ExportStateMachine.Name}:*"
    )
    assert statements["StartSyncs"]["Resource"] == {"Ref": "SyncStateMachine"}
    assert statements["DescribeSyncs"]["Resource"]["Fn::Sub"].endswith(
        ":execution:${SyncStateMachine.Name}:*"
    )
    assert statements["ReadExportedData"]["Resource"] == {"Fn::Sub": "${ExportBucket.Arn}/exports/*"}
    assert statements["ReadSyncDocuments"]["Resource"] == {"Fn::Sub": "${ExportBucket.Arn}/_meta/syncs/*"}
    assert statements["ReadRunProgress"]["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
    assert props["Environment"]["Variables"]["EXPORT_STATE_MACHINE_ARN"] == {"Ref": "ExportStateMachine"}
    assert props["Environment"]["Variables"]["SYNC_STATE_MACHINE_ARN"] == {"Ref": "SyncStateMachine"}
    # the catalogue reaches every function (the export steps apply its defaults too)
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["EXPORT_OBJECTS"] == {
        "Ref": "ExportObjects"
    }


class _OfflinePolicies(ManagedPolicyLoader):
    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def test_after_the_sam_transform_every_method_is_iam_authorised_without_caller_credentials(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sam = yaml_parse((ROOT / "template.yaml").read_text())
    for resource in sam["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::StateMachine":
            props.pop("DefinitionUri", None)
            props["Definition"] = {"StartAt": "x", "States": {"x": {"Type": "Pass", "End": True}}}
        elif resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://bucket/code.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = "s3://bucket/layer.zip"
    cfn = transform(sam, {}, _OfflinePolicies())
    paths = cfn["Resources"]["ExportApi"]["Properties"]["Body"]["paths"]
    methods = [(path, verb, op) for path, ops in paths.items() for verb, op in ops.items()]
    assert len(methods) == len(ROUTES)
    for path, verb, op in methods:
        assert op["security"] == [{"AWS_IAM": []}], (path, verb)
        assert "credentials" not in op["x-amazon-apigateway-integration"], (path, verb)


def test_new_names_arns_and_urls_are_outputs():
    outputs = TEMPLATE["Outputs"]
    for name in (
        "ExportApiUrl",
        "ExportApiId",
        "ApiFunctionArn",
        "SyncScheduleArn",
        "DueObjectsScheduleArn",
        "SyncStateMachineArn",
        "ExportSchedulerRoleArn",
        "GlueDatabaseName",
    ):
        assert name in outputs, name
    assert outputs["ExportApiUrl"]["Value"]["Fn::Sub"].endswith(
        ".execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
    )


# --- the schedules ------------------------------------------------------------------------------------

SCHEDULES = {"SyncSchedule": "schedule_sync_all", "DueObjectsSchedule": "schedule_sync_due"}


@pytest.mark.parametrize(("schedule", "sample"), SCHEDULES.items())
def test_each_schedule_starts_the_sync_with_its_sample_scheduled_event(schedule, sample):
    assert RESOURCES[schedule]["Type"] == "AWS::Scheduler::Schedule"
    target = RESOURCES[schedule]["Properties"]["Target"]
    assert target["Arn"] == {"Ref": "SyncStateMachine"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["ExportSchedulerRole", "Arn"]}
    scheduled = json.loads(target["Input"])
    assert scheduled == load_event(sample)
    # The input is a valid sync request, as the sync's first step reads it
    assert SyncRequest.from_payload(scheduled, Catalogue().names()).objects in ("all", "due")
    assert not [
        k for k, v in RESOURCES.items() if v["Type"] == "AWS::Scheduler::Schedule" and k not in SCHEDULES
    ]


@pytest.mark.parametrize(
    ("enabled", "secret_arn", "state"),
    [
        ("auto", "", "DISABLED"),  # the stack creates the secret: empty until someone fills it in
        ("auto", "arn:aws:secretsmanager:us-east-1:111122223333:secret:intacct", "ENABLED"),
        ("ENABLED", "", "ENABLED"),
        ("DISABLED", "arn:aws:secretsmanager:us-east-1:111122223333:secret:intacct", "DISABLED"),
    ],
)
def test_schedules_wait_for_credentials_unless_told(enabled, secret_arn, state):
    template = Template.load(overrides={"ScheduleEnabled": enabled, "CredentialsSecretArn": secret_arn})
    for schedule in SCHEDULES:
        assert template.resolve(RESOURCES[schedule]["Properties"]["State"]) == state
    assert PARAMETERS["ScheduleEnabled"]["Default"] == "auto"


def test_the_schedules_are_timed_by_parameters():
    for schedule, expression in (
        ("SyncSchedule", "ScheduleExpression"),
        ("DueObjectsSchedule", "FrequentScheduleExpression"),
    ):
        props = RESOURCES[schedule]["Properties"]
        assert props["ScheduleExpression"] == {"Ref": expression}
        assert props["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}
        assert re.match(PARAMETERS[expression]["AllowedPattern"], PARAMETERS[expression]["Default"])
    ZoneInfo(PARAMETERS["ScheduleTimezone"]["Default"])


def _expand(field: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            start, end = (int(x) for x in base.split("-"))
        else:
            start = end = int(base)
        values.update(range(start, end + 1, int(step or 1)))
    return values


DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
PACIFIC = ZoneInfo("America/Los_Angeles")


def _fires_in_maintenance(expression: str, zone: ZoneInfo) -> bool:
    """Whether a cron() expression read in ``zone`` starts a run inside Intacct's weekly maintenance window
    (Friday 19:30-23:30 US Pacific), in winter or in summer."""
    minute, hour, _dom, _month, dow, _year = expression[len("cron(") : -1].split()
    for name, number in DAYS.items():
        dow = dow.replace(name, str(number))
    days = _expand(dow, 1, 7)
    for monday in (datetime(2026, 1, 5), datetime(2026, 7, 6)):  # a week in winter, a week in summer
        for day in range(7):
            if (day + 1) % 7 + 1 not in days:  # cron days: SUN=1 ... SAT=7; Monday is 2
                continue
            for h in _expand(hour, 0, 23):
                for m in _expand(minute, 0, 59):
                    start = monday.replace(day=monday.day + day, hour=h, minute=m, tzinfo=zone)
                    if in_maintenance_window(start.astimezone(PACIFIC)):
                        return True
    return False


def test_the_default_schedule_avoids_intacct_maintenance_window():
    default = PARAMETERS["ScheduleExpression"]["Default"]
    zone = ZoneInfo(PARAMETERS["ScheduleTimezone"]["Default"])
    assert default == "cron(0 1 * * ? *)" and not _fires_in_maintenance(default, zone)
    # the check itself can tell a bad time from a good one, in either zone
    assert _fires_in_maintenance("cron(0 20 * * ? *)", PACIFIC)
    assert _fires_in_maintenance("cron(45 19 ? * FRI *)", PACIFIC)
    assert _fires_in_maintenance("cron(0 7 * * ? *)", ZoneInfo("UTC"))  # the old default, in winter
    assert not _fires_in_maintenance("cron(0 20 ? * MON-THU *)", PACIFIC)


def test_the_scheduler_role_can_only_start_the_sync():
    role = RESOURCES["ExportSchedulerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "states:StartExecution"
    assert statement["Resource"] == {"Ref": "SyncStateMachine"}


# --- the Glue database, and the tables the product writes into it --------------------------------------


def test_no_table_is_written_by_hand_the_functions_are_told_the_database():
    # Each object's tables and views come from its lookup, written by the product (steps.tables)
    assert not [k for k, v in RESOURCES.items() if v["Type"] == "AWS::Glue::Table"]
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["GLUE_DATABASE"] == {"Ref": "ExportGlueDatabase"}


def test_only_finalise_and_export_ended_write_tables_and_only_in_the_exports_database():
    # Finalise writes an object's tables; the execution's end (ExportEnded) its current views
    glue = {
        name: [
            statement
            for policy in resource["Properties"].get("Policies", [])
            if isinstance(policy, dict)
            for statement in policy.get("Statement", [])
            if any(str(a).startswith("glue:") for a in statement["Action"])
        ]
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    writers = [name for name, statements in glue.items() if statements]
    assert writers == ["FinaliseExportFunction", "ExportEndedFunction"]
    for name in writers:
        (statement,) = glue[name]
        assert sorted(statement["Action"]) == ["glue:CreateTable", "glue:GetTable", "glue:UpdateTable"]
        arns = [r["Fn::Sub"] for r in statement["Resource"]]
        prefix = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"
        assert arns == [
            f"{prefix}catalog",
            f"{prefix}database/${{ExportGlueDatabase}}",
            f"{prefix}table/${{ExportGlueDatabase}}/*",
        ]


def test_the_database_name_is_athena_friendly_for_every_stage():
    name = RESOURCES["ExportGlueDatabase"]["Properties"]["DatabaseInput"]["Name"]
    # !Join ["_", !Split ["-", "intacct_sync_${Stage}"]]: hyphens in the stage become underscores
    assert name["Fn::Join"][0] == "_"
    assert name["Fn::Join"][1]["Fn::Split"] == ["-", {"Fn::Sub": "intacct_sync_${Stage}"}]


# --- logs and undeliverable endings ---------------------------------------------------------------------


def test_the_api_writes_access_logs_unless_told_not_to_and_the_account_role_comes_first():
    props = RESOURCES["ExportApi"]["Properties"]
    condition, enabled, disabled = props["AccessLogSetting"]["Fn::If"]
    assert condition == "ApiAccessLogsEnabled" and disabled == {"Ref": "AWS::NoValue"}
    assert enabled["DestinationArn"] == {"Fn::GetAtt": ["ExportApiAccessLogGroup", "Arn"]}
    # one JSON document per request, naming the caller, never a body
    line = json.loads(enabled["Format"])
    assert line["caller"] == "$context.identity.userArn" and line["status"] == "$context.status"
    assert not [v for v in line.values() if "body" in v.lower()]
    assert PARAMETERS["ApiAccessLogs"]["Default"] == "create-account-role"
    # a stage with access logs is refused until the account has API Gateway's CloudWatch role
    assert RESOURCES["ExportApi"]["DependsOn"] == "ApiGatewayAccountReady"
    ready = RESOURCES["ApiGatewayAccountReady"]["Metadata"]["AccountSetting"]["Fn::If"]
    assert ready[:2] == ["CreateApiGatewayAccountRole", {"Ref": "ApiGatewayAccount"}]
    for name in ("ApiGatewayAccount", "ApiGatewayCloudWatchRole"):  # the account's: kept on delete
        assert RESOURCES[name]["DeletionPolicy"] == RESOURCES[name]["UpdateReplacePolicy"] == "Retain"


def test_an_ending_that_cannot_be_settled_is_kept_in_one_dead_letter_queue():
    function = RESOURCES["ExportEndedFunction"]["Properties"]
    queue = {"Fn::GetAtt": ["ExportEndedDeadLetterQueue", "Arn"]}
    # EventBridge could not deliver it, or the function failed on it after Lambda's retries
    rule = function["Events"]["ExecutionEnded"]["Properties"]
    assert rule["DeadLetterConfig"] == {"Arn": queue}
    assert function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": queue,
    }
    policy = RESOURCES["ExportEndedDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Principal"] for s in policy] == [{"Service": "events.amazonaws.com"}]
