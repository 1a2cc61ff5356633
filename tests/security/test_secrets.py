"""Secret hygiene: no Intacct password or session id anywhere an export leaves a trace.

Distinctive credentials, functions logging at DEBUG (and Python's root logger at DEBUG too, as Lambda's
advanced logging controls set it), a run that retries, one that logs in again after its session expired,
one after the user password was rotated (warm functions must pick up the new secret), and a run whose
login is refused. Then every trace is searched: stdout/stderr, Python logging records,
every Step Functions execution's history, every S3 object (keys, bodies, metadata), every DynamoDB item,
every EventBridge event, every SSM parameter but the session cache, the functions' configuration
(environment variables included), the runs' results. The session cache
(an SSM SecureString) is the one place a session id may be.
"""

from __future__ import annotations

import gzip
import json
import logging
import sys
import time
import urllib.parse
from typing import Any

import boto3
import pytest

from intacct_local.emulated_aws import REGION
from intacct_local.runner import LocalPipeline, RunOptions, local_pipeline, summary_table
from intacct_sync.adapters.events import ExportEvents
from intacct_sync.intacct import InvalidResponseError
from intacct_sync.observability import logger
from tests.unit.intacct.intacct_unit_support import USER, Reply, data_file, make_harness

pytestmark = pytest.mark.e2e

SENDER_PW = "Zx9-SENDER-PW-q7"
USER_PW = "Qm4-USER-PW-k2"
ROTATED_USER_PW = "Vb7-ROTATED-PW-w3"
ROTATED_SENDER_PW = "Jk5-ROTATED-SENDER-n8"
CREDENTIALS = {
    "sender_id": "hygiene-sender",
    "sender_password": SENDER_PW,
    "company_id": "HYGIENECO",
    "user_id": "hygiene-user",
    "user_password": USER_PW,
}
SESSION_PARAMETER = "/intacct-sync/dev/session"
REQUEST = {"object": "CUSTOMER", "fields": ["RECORDNO", "NAME", "WHENMODIFIED"]}


def variants(secret: str) -> set[str]:
    """The secret as it would appear written plainly, in JSON, XML, a URL or a Python repr."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        repr(secret)[1:-1],
        secret.replace("&", "&amp;").replace("<", "&lt;"),
    }


def executions_history(pipeline: LocalPipeline) -> dict[str, str]:
    """Every execution's description and full event history, as text."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    out = {}
    machines = (pipeline.stack.state_machine_arn, pipeline.stack.sync_state_machine_arn)
    pages = [p for m in machines for p in sfn.get_paginator("list_executions").paginate(stateMachineArn=m)]
    for page in pages:
        for execution in page["executions"]:
            arn = execution["executionArn"]
            events = [
                event
                for history in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
                for event in history["events"]
            ]
            described = sfn.describe_execution(executionArn=arn)
            out[f"execution {execution['name']}"] = json.dumps([described, events], default=str)
    return out


def bucket_contents(pipeline: LocalPipeline) -> dict[str, str]:
    """Every object's key, metadata and body (gzip bodies decompressed too)."""
    s3 = boto3.client("s3", region_name=REGION)
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=pipeline.stack.bucket):
        for item in page.get("Contents", []):
            key = item["Key"]
            obj = s3.get_object(Bucket=pipeline.stack.bucket, Key=key)
            body = obj["Body"].read()
            text = body.decode("utf-8", "replace")
            if body[:2] == b"\x1f\x8b":
                text += gzip.decompress(body).decode("utf-8", "replace")
            out[f"s3 {key}"] = json.dumps([key, obj.get("Metadata", {}), obj.get("ContentType")]) + text
    return out


def table_items(pipeline: LocalPipeline) -> dict[str, str]:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    items = [
        item
        for page in dynamodb.get_paginator("scan").paginate(TableName=pipeline.stack.table)
        for item in page["Items"]
    ]
    assert items, "the state table is empty: nothing was scanned"
    return {"dynamodb state table": json.dumps(items, default=str)}


def other_parameters() -> dict[str, str]:
    """Every SSM parameter except the session cache, with values."""
    ssm = boto3.client("ssm", region_name=REGION)
    out = {}
    for page in ssm.get_paginator("describe_parameters").paginate():
        for meta in page["Parameters"]:
            if meta["Name"] != SESSION_PARAMETER:
                value = ssm.get_parameter(Name=meta["Name"], WithDecryption=True)["Parameter"]["Value"]
                out[f"ssm {meta['Name']}"] = value
    return out


def cached_session_ids() -> list[str]:
    """Session ids the runs cached: every version of the session parameter, decrypted."""
    ssm = boto3.client("ssm", region_name=REGION)
    versions = ssm.get_parameter_history(Name=SESSION_PARAMETER, WithDecryption=True)["Parameters"]
    assert {v["Type"] for v in versions} == {"SecureString"}
    return [json.loads(v["Value"])["session_id"] for v in versions]


def test_no_password_or_session_id_is_written_anywhere_but_the_encrypted_session_cache(
    make_sim, capfd, caplog, monkeypatch
):
    # Given a tenant with distinctive credentials, and every session id it hands out recorded
    sim = make_sim(
        records=1200,
        seed=41,
        sender_id=CREDENTIALS["sender_id"],
        sender_password=SENDER_PW,
        company_id=CREDENTIALS["company_id"],
        user_id=CREDENTIALS["user_id"],
        user_password=USER_PW,
    )
    issued: list[str] = []
    create = sim.sessions.create

    def record_session(*args: Any, **kwargs: Any) -> Any:
        session = create(*args, **kwargs)
        issued.append(session.sessionid)
        return session

    monkeypatch.setattr(sim.sessions, "create", record_session)
    published: list[dict[str, Any]] = []
    publish = ExportEvents.publish

    def record_event(self: ExportEvents, detail_type: str, detail: dict[str, Any]) -> None:
        published.append({"detail-type": detail_type, "detail": detail})
        publish(self, detail_type, detail)

    monkeypatch.setattr(ExportEvents, "publish", record_event)
    options = RunOptions(page_size=200, concurrency=2, quiet=True, log_level="DEBUG")
    with local_pipeline(options, sim=sim, function_env={"INTACCT_RETRY_BASE_DELAY_MS": "5"}) as pipeline:
        boto3.client("secretsmanager", region_name=REGION).put_secret_value(
            SecretId=pipeline.stack.secret_id, SecretString=json.dumps(CREDENTIALS)
        )
        # And everything logged at DEBUG: the functions' loggers and Python's root logger
        capfd.readouterr()
        caplog.set_level(logging.DEBUG)
        for handler in logging.getLogger(logger.name).handlers:  # bound to stdout when first imported
            monkeypatch.setattr(handler, "stream", sys.stdout)
        # When a run retries a failed answer and a lost one, and succeeds
        sim.set_faults(
            [
                {"kind": "http_500", "count": 1, "function": "query"},
                {"kind": "truncated_xml", "count": 1, "function": "query"},
            ]
        )
        ok = pipeline.export(REQUEST, name="hygiene-ok")
        # And a sync's dry run counts every object (its documents, payloads and event are scanned too)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        planned = pipeline.stack.start_sync({"objects": "all", "dry_run": True}, name="hygiene-plan")
        while sfn.describe_execution(executionArn=planned)["status"] == "RUNNING":
            time.sleep(0.05)
        # And a second run finds its cached session expired and logs in again
        sim.expire_sessions()
        relogin = pipeline.export(REQUEST, name="hygiene-relogin")
        # And both passwords are rotated (at Intacct, then in the secret) while the functions are warm
        rotated_credentials = {
            **CREDENTIALS,
            "user_password": ROTATED_USER_PW,
            "sender_password": ROTATED_SENDER_PW,
        }
        sim.configure(user_password=ROTATED_USER_PW, sender_password=ROTATED_SENDER_PW)
        sim.expire_sessions()
        boto3.client("secretsmanager", region_name=REGION).put_secret_value(
            SecretId=pipeline.stack.secret_id, SecretString=json.dumps(rotated_credentials)
        )
        rotated = pipeline.export(REQUEST, name="hygiene-rotated")
        # And a last run's login is refused (the password changed at Intacct but not in the secret)
        sim.configure(user_password="changed-at-intacct")
        sim.expire_sessions()
        refused = pipeline.export(REQUEST, name="hygiene-refused")

        captured = capfd.readouterr()  # before the test's own AWS calls below add to the logs
        logged = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.__dict__!r}" for r in caplog.records)
        assert ok.status == "SUCCEEDED", ok.error
        assert sfn.describe_execution(executionArn=planned)["status"] == "SUCCEEDED"
        assert any(p["detail-type"] == "Intacct Sync Completed" for p in published)
        assert relogin.status == "SUCCEEDED", relogin.error
        assert rotated.status == "SUCCEEDED", (
            rotated.error
        )  # the old password was refused, the secret re-read
        assert refused.status == "FAILED" and "AuthenticationError" in str(refused.error)
        assert sim.stats()["faults_injected"] == {"http_500": 1, "truncated_xml": 1}
        assert len(issued) >= 3, "expected a login, one after the expiry and one after the rotation"
        # The one legitimate home of a session id: the SecureString session cache
        assert set(issued) == set(cached_session_ids())

        traces: dict[str, str] = {}
        traces.update(executions_history(pipeline))
        traces.update(bucket_contents(pipeline))
        traces.update(table_items(pipeline))
        traces.update(other_parameters())
        traces["eventbridge events"] = json.dumps(published, default=str)
        lam = boto3.client("lambda", region_name=REGION)
        traces["lambda configuration"] = json.dumps(
            [lam.get_function_configuration(FunctionName=name) for name in pipeline.stack.functions],
            default=str,
        )
        for result in (ok, relogin, rotated, refused):
            traces[f"run result {result.run_id}"] = json.dumps(result.__dict__, default=str)
            traces[f"run summary {result.run_id}"] = summary_table(result)
    traces["stdout"] = captured.out
    traces["stderr"] = captured.err
    traces["python logging"] = logged

    # The traces are real: the functions' DEBUG logs, the client's retry warnings and the refusal are there
    assert '"message":"export started"' in traces["stdout"]
    assert "attempt 1/6 failed" in traces["python logging"]
    assert "XL03000006" in traces["execution hygiene-refused"]
    assert any(key.startswith("s3 exports/object=CUSTOMER/run_id=hygiene-ok/part-") for key in traces)
    assert len(published) == 5  # four exports and the sync's plan
    assert any(key.startswith("s3 _meta/syncs/hygiene-plan") for key in traces)

    # Then no password and no session id appears in any of them
    needles = {
        name: variants(value)
        for name, value in [
            ("sender password", SENDER_PW),
            ("user password", USER_PW),
            ("rotated password", ROTATED_USER_PW),
            ("rotated sender password", ROTATED_SENDER_PW),
        ]
    }
    needles.update({f"session id {i}": variants(session) for i, session in enumerate(issued)})
    leaks = [
        f"{what} in {where}"
        for where, text in traces.items()
        for what, forms in needles.items()
        if any(form in text for form in forms)
    ]
    assert not leaks, leaks


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://api.intacct.com.attacker.example/ia/xml/xmlgw.phtml",
        "https://evilintacct.com/ia/xml/xmlgw.phtml",
        "http://api.intacct.com/ia/xml/xmlgw.phtml",
        "ftp://api.intacct.com/ia/xml/xmlgw.phtml",
    ],
)
def test_a_session_is_never_handed_to_an_endpoint_that_is_not_intacct_over_https(endpoint):
    # Given a getAPISession answer that points the session somewhere else
    body = data_file("session_success.xml").replace(
        b"https://unittest.intacct.com/ia/xml/xmlgw.phtml", endpoint.encode()
    )
    harness = make_harness(Reply(body=body))
    # When the client logs in, then it refuses the endpoint, and sends the session id nowhere
    with pytest.raises(InvalidResponseError, match="endpoint") as refused:
        harness.client.get_api_session(USER)
    assert refused.value.errorno == "INVALID_ENDPOINT"
    assert len(harness.http.sent) == 1 and b"fAkESesSiOnId.." not in harness.http.sent[0].body


def test_an_intacct_endpoint_over_https_is_accepted():
    body = data_file("session_success.xml").replace(b"unittest.intacct.com", b"na99.intacct.com")
    session = make_harness(Reply(body=body)).client.get_api_session(USER)
    assert session.endpoint == "https://na99.intacct.com/ia/xml/xmlgw.phtml"
