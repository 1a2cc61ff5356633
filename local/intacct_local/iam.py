"""IAM, enforced per call on the local stack: every AWS call a function (or the state machine) makes is
checked against the policies template.yaml gives it, as IAM would check it on AWS. No emulator enforces
IAM, so without this a call the template forgot to allow passes every local run and fails the deploy.

- ``Permissions.of_function`` / ``of_state_machine``: the resource's policies from the template (SAM policy
  templates expanded with SAM's own processor, inline statements as written), intrinsics resolved against
  the local stack's names and ARNs.
- ``requests_of``: the IAM action(s) and resource ARN(s) a boto3 operation is authorised against (the
  service authorisation reference's "resource types" for that action); an operation not mapped here is
  refused with a message saying to map it, so a new call cannot slip past unchecked.
- ``Permissions.check``: Allow statements only (the template has no Deny), wildcards as IAM reads them
  (``*``, ``?``; actions case-insensitive). Conditions are not evaluated (they only narrow a grant; the
  template uses none on function roles).

A refusal raises botocore's ClientError with AWS's error code and message, and is recorded in
``DENIALS`` so a test sees it even where the code turns AWS errors into warnings (Glue).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

from intacct_local.template import Template

ACCOUNT = "123456789012"

# Every refusal since the process started (tests assert none happened where none should).
DENIALS: list[dict[str, str]] = []
_denials_lock = threading.Lock()

# What SAM adds to every function's role (AWSLambdaBasicExecutionRole; Tracing: Active adds X-Ray's).
_SAM_MANAGED = ({"Effect": "Allow", "Action": ["logs:*", "xray:PutTraceSegments"], "Resource": "*"},)

_processor: PolicyTemplatesProcessor | None = None


def _templates() -> PolicyTemplatesProcessor:
    global _processor
    if _processor is None:
        _processor = PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())
    return _processor


@dataclass(frozen=True)
class Request:
    """One authorisation IAM makes for a call: an action on a resource ARN."""

    action: str
    resource: str


@dataclass
class Permissions:
    """The Allow statements of one role, resolved."""

    principal: str  # the role's resource, for messages: e.g. "FetchPageFunction"
    statements: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of_function(cls, template: Template, logical_id: str) -> Permissions:
        props = template.functions()[logical_id]
        return cls(logical_id, [*_SAM_MANAGED, *_statements(template, props.get("Policies") or [])])

    @classmethod
    def of_state_machine(cls, template: Template, logical_id: str) -> Permissions:
        props = template.resources[logical_id]["Properties"]
        return cls(logical_id, _statements(template, props.get("Policies") or []))

    def allows(self, request: Request) -> bool:
        return any(
            statement.get("Effect") == "Allow"
            and _any_match(statement.get("Action"), request.action, case=False)
            and _any_match(statement.get("Resource"), request.resource, case=True)
            for statement in self.statements
        )

    def check(self, requests: Iterable[Request], operation: str, error_code: str) -> None:
        """Raise ClientError (AWS's code and message) for the first request no statement allows."""
        for request in requests:
            if not self.allows(request):
                role = f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.principal}Role/{self.principal}"
                message = (
                    f"User: {role} is not authorized to perform: {request.action} on resource: "
                    f"{request.resource} because no identity-based policy allows the {request.action} action"
                )
                with _denials_lock:
                    DENIALS.append(
                        {"principal": self.principal, "action": request.action, "resource": request.resource}
                    )
                raise ClientError(
                    {
                        "Error": {"Code": error_code, "Message": message},
                        "ResponseMetadata": _DENIED_METADATA,
                    },
                    operation,
                )


def _statements(template: Template, policies: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in policies:
        if isinstance(policy, str):  # a managed policy: the template's tests allow none but SAM's own
            continue
        if "Statement" in policy:
            document = policy
        elif "PolicyDocument" in policy:
            document = policy["PolicyDocument"]
        else:
            ((name, parameters),) = policy.items()
            document = _templates().convert(name, parameters)
        statements = document["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            out.append(template.resolve(statement))
    return out


def _any_match(patterns: Any, value: str, case: bool) -> bool:
    items = patterns if isinstance(patterns, list) else [patterns]
    return any(isinstance(p, str) and _wildcard(p, case).fullmatch(value) for p in items)


_compiled: dict[tuple[str, bool], re.Pattern[str]] = {}


def _wildcard(pattern: str, case: bool) -> re.Pattern[str]:
    key = (pattern, case)
    if key not in _compiled:
        body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        _compiled[key] = re.compile(body, 0 if case else re.IGNORECASE)
    return _compiled[key]


# --- what each call is authorised against ------------------------------------------------------------------

Mapper = Callable[[str, Mapping[str, Any], str], list[Request]]


def _s3(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    bucket = f"arn:aws:s3:::{params.get('Bucket', '')}"
    obj = f"{bucket}/{params.get('Key', '')}"
    actions: dict[str, tuple[str, str]] = {
        "GetObject": ("s3:GetObject", obj),
        "HeadObject": ("s3:GetObject", obj),
        "PutObject": ("s3:PutObject", obj),
        "DeleteObject": ("s3:DeleteObject", obj),
        "ListObjectsV2": ("s3:ListBucket", bucket),
        "ListObjects": ("s3:ListBucket", bucket),
        "HeadBucket": ("s3:ListBucket", bucket),
        "CreateMultipartUpload": ("s3:PutObject", obj),
        "UploadPart": ("s3:PutObject", obj),
        "CompleteMultipartUpload": ("s3:PutObject", obj),
        "AbortMultipartUpload": ("s3:AbortMultipartUpload", obj),
    }
    if operation == "DeleteObjects":
        objects = (params.get("Delete") or {}).get("Objects") or []
        return [Request("s3:DeleteObject", f"{bucket}/{o.get('Key', '')}") for o in objects]
    if operation == "CopyObject":
        source = params.get("CopySource")
        source_arn = (
            f"arn:aws:s3:::{source['Bucket']}/{source['Key']}"
            if isinstance(source, Mapping)
            else f"arn:aws:s3:::{str(source).lstrip('/')}"
        )
        return [Request("s3:GetObject", source_arn), Request("s3:PutObject", obj)]
    action, resource = actions[operation]
    return [Request(action, resource)]


def _dynamodb(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    def table(name: str) -> str:
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Request(f"dynamodb:{operation}", table(name)) for name in params.get("RequestItems") or {}]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        kinds = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
            "Get": "GetItem",
        }
        return [
            Request(f"dynamodb:{kinds[kind]}", table(body["TableName"]))
            for item in params.get("TransactItems") or []
            for kind, body in item.items()
        ]
    resource = table(str(params.get("TableName", "")))
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    return [Request(f"dynamodb:{operation}", resource)]


def _ssm(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    def parameter(name: str) -> str:
        return (
            name
            if name.startswith("arn:")
            else f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{name.lstrip('/')}"
        )

    if operation == "GetParameters":
        return [Request("ssm:GetParameters", parameter(n)) for n in params.get("Names") or []]
    if operation == "GetParametersByPath":
        return [Request("ssm:GetParametersByPath", parameter(str(params.get("Path", ""))))]
    return [Request(f"ssm:{operation}", parameter(str(params.get("Name", ""))))]


def _states(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    arn = params.get("stateMachineArn") or params.get("executionArn") or params.get("mapRunArn") or "*"
    return [Request(f"states:{operation}", str(arn))]


def _events(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    if operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries") or []}
        return [
            Request(
                "events:PutEvents",
                b if b.startswith("arn:") else f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{b}",
            )
            for b in sorted(buses)
        ]
    raise KeyError(operation)


def _glue(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    base = f"arn:aws:glue:{region}:{ACCOUNT}"
    database = str(params.get("DatabaseName") or params.get("Name", ""))
    resources = [f"{base}:catalog", f"{base}:database/{database}"]
    if operation in ("GetTable", "DeleteTable"):
        resources.append(f"{base}:table/{database}/{params.get('Name', '')}")
    elif operation in ("CreateTable", "UpdateTable"):
        resources.append(f"{base}:table/{database}/{(params.get('TableInput') or {}).get('Name', '')}")
    elif operation == "GetTables":
        resources.append(f"{base}:table/{database}/*")
    elif operation != "GetDatabase":
        raise KeyError(operation)
    return [Request(f"glue:{operation}", r) for r in resources]


def _secretsmanager(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    return [Request(f"secretsmanager:{operation}", str(params.get("SecretId", "")))]


def _lambda(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    name = str(params.get("FunctionName", ""))
    arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    return [Request("lambda:InvokeFunction" if operation == "Invoke" else f"lambda:{operation}", arn)]


_MAPPERS: dict[str, Mapper] = {
    "s3": _s3,
    "dynamodb": _dynamodb,
    "ssm": _ssm,
    "states": _states,
    "events": _events,
    "glue": _glue,
    "secretsmanager": _secretsmanager,
    "lambda": _lambda,
}
_DENIED_METADATA = {"HTTPStatusCode": 403, "RequestId": "local-iam-check"}
# Error codes IAM refusals come back with, per service (S3's differs).
_DENIED_CODE = {"s3": "AccessDenied"}


def requests_of(service: str, operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    """The authorisations IAM makes for one call. Raises KeyError for a call not mapped here."""
    mapper = _MAPPERS.get(service)
    if mapper is None:
        raise KeyError(f"{service}:{operation}")
    try:
        return mapper(operation, params, region)
    except KeyError:
        raise KeyError(f"{service}:{operation}") from None


def check_call(
    permissions: Permissions, service: str, operation: str, params: Mapping[str, Any], region: str
) -> None:
    """Refuse the call as IAM would (ClientError) unless the role allows every authorisation it needs."""
    try:
        requests = requests_of(service, operation, params, region)
    except KeyError:
        message = (
            f"{permissions.principal} called {service}:{operation}, which the local IAM check cannot map to "
            f"an action and resource yet: add it to local/intacct_local/iam.py"
        )
        with _denials_lock:
            DENIALS.append(
                {"principal": permissions.principal, "action": f"{service}:{operation}", "resource": "?"}
            )
        raise ClientError(
            {
                "Error": {"Code": "AccessDenied", "Message": message},
                "ResponseMetadata": _DENIED_METADATA,
            },
            operation,
        ) from None
    permissions.check(requests, operation, _DENIED_CODE.get(service, "AccessDeniedException"))
