"""Hostile input, at every door: the export API (the real ApiFunction on the template's stack), the CLI, and
the state machine's own input. Every bad request gets a clear 4xx / usage error / failed run naming the
problem, and nothing starts: no execution, no Intacct call. Legal but hostile-looking values (XML markup,
SQL-ish text in a filter) are exported literally.
"""

from __future__ import annotations

import contextlib
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from intacct_local import cli
from intacct_local.api_server import api_handler, proxy_event, template_routes
from intacct_local.emulated_aws import REGION, FakeLambdaContext
from intacct_local.runner import SIM_CREDENTIALS, LocalPipeline, RunOptions, local_pipeline
from intacct_sim import SimulatorConfig, start_simulator
from intacct_sim.envelope import parse_request
from intacct_sim.filters import Comparison, Node, parse_xml_filter
from intacct_sync.errors import InvalidExportRequest
from intacct_sync.export.pages import PageTask, page_query
from intacct_sync.export.parts import decode_part
from intacct_sync.export.spec import ExportSpec
from intacct_sync.intacct import (
    FunctionError,
    IntacctClient,
    SenderCredentials,
    UserCredentials,
)

pytestmark = pytest.mark.e2e

FAST = {"INTACCT_RETRY_BASE_DELAY_MS": "5"}
XML_BREAKOUT = "</value><injected/>"
SQL_BREAKOUT = "' OR 1=1 --"
OK = {"object": "CUSTOMER", "mode": "full", "fields": ["RECORDNO", "NAME"]}


@dataclass
class Stack:
    """The template deployed in emulated AWS, the simulator behind it, and the API handler."""

    pipeline: LocalPipeline
    sim: Any
    handler: Any
    routes: Any
    keys: dict[str, str]  # hostile-looking NAME value -> RECORDNO of the record that has it

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        return list(sfn.list_executions(stateMachineArn=self.pipeline.stack.state_machine_arn)["executions"])

    def call(
        self, method: str, target: str, body: Any = None, *, raw: bytes | None = None, **headers: str
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        sent = {"Host": "localhost", **({"Content-Type": "application/json"} if body is not None else {})}
        sent.update({k.replace("_", "-"): v for k, v in headers.items()})
        event = proxy_event(method, target, list(sent.items()), data, routes=self.routes)
        response = self.handler(event, FakeLambdaContext("ApiFunction", 29, 512))
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    sim = start_simulator(SimulatorConfig(port=0, records=300, seed=51))
    keys = {value: str(sim.upsert("CUSTOMER", {"NAME": value})) for value in (XML_BREAKOUT, SQL_BREAKOUT)}
    try:
        with local_pipeline(
            RunOptions(page_size=100, concurrency=2, quiet=True), sim=sim, function_env=FAST
        ) as p:
            handler = api_handler(p.stack)
            yield Stack(p, sim, handler, template_routes(p.stack), keys)
    finally:
        sim.stop()


# --- the API ---------------------------------------------------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": "NAME", "op": "equalto", "value": "x"}
    for _ in range(depth):
        node = {"and": [node]}
    return node


API_CASES = [
    # (id, method, target, JSON body or raw bytes, headers, status, error code)
    (
        "object-xml-breakout",
        "POST",
        "/exports",
        {**OK, "object": "CUSTOMER</object><x/>"},
        {},
        400,
        "invalid_request",
    ),
    ("object-sql", "POST", "/exports", {**OK, "object": "CUSTOMER' OR 1=1 --"}, {}, 400, "invalid_request"),
    ("object-unicode", "POST", "/exports", {**OK, "object": "CUSTÖMER"}, {}, 400, "invalid_request"),
    (
        "object-trailing-newline",
        "POST",
        "/exports",
        {**OK, "object": "CUSTOMER\n"},
        {},
        400,
        "invalid_request",
    ),
    ("object-number", "POST", "/exports", {**OK, "object": 42}, {}, 400, "invalid_request"),
    ("object-list", "POST", "/exports", {**OK, "object": ["CUSTOMER"]}, {}, 400, "invalid_request"),
    ("object-not-offered", "POST", "/exports", {**OK, "object": "USERINFO"}, {}, 400, "unknown_object"),
    (
        "fields-xml-breakout",
        "POST",
        "/exports",
        {**OK, "fields": ["NAME</field><x/>"]},
        {},
        400,
        "invalid_request",
    ),
    ("fields-empty-part", "POST", "/exports", {**OK, "fields": ["A..B"]}, {}, 400, "invalid_request"),
    (
        "fields-too-many",
        "POST",
        "/exports",
        {**OK, "fields": [f"F{i}" for i in range(1001)]},
        {},
        400,
        "invalid_request",
    ),
    ("fields-unicode", "POST", "/exports", {**OK, "fields": ["NÄME"]}, {}, 400, "invalid_request"),
    (
        "filter-field-xml-breakout",
        "POST",
        "/exports",
        {**OK, "filter": {"field": "NAME</field><x/>", "op": "equalto", "value": "x"}},
        {},
        400,
        "invalid_request",
    ),
    (
        "filter-value-nul",
        "POST",
        "/exports",
        {**OK, "filter": {"field": "NAME", "op": "equalto", "value": "a\u0000b"}},
        {},
        400,
        "invalid_request",
    ),
    (
        "filter-value-lone-surrogate",
        "POST",
        "/exports",
        {**OK, "filter": {"field": "NAME", "op": "equalto", "value": "\ud800"}},
        {},
        400,
        "invalid_request",
    ),
    ("filter-too-deep", "POST", "/exports", {**OK, "filter": nested(12)}, {}, 400, "invalid_request"),
    (
        "filter-in-too-many",
        "POST",
        "/exports",
        {**OK, "filter": {"field": "NAME", "op": "in", "values": [str(i) for i in range(1001)]}},
        {},
        400,
        "invalid_request",
    ),
    (
        "filter-op-sql",
        "POST",
        "/exports",
        {**OK, "filter": {"field": "NAME", "op": "= 'x' OR 1=1", "value": "x"}},
        {},
        400,
        "invalid_request",
    ),
    ("filter-as-sql", "POST", "/exports", {**OK, "filter": "NAME = 'x' OR 1=1"}, {}, 400, "invalid_request"),
    ("page-size-negative", "POST", "/exports", {**OK, "page_size": -1}, {}, 400, "invalid_request"),
    ("page-size-zero", "POST", "/exports", {**OK, "page_size": 0}, {}, 400, "invalid_request"),
    ("page-size-fraction", "POST", "/exports", {**OK, "page_size": 1.5}, {}, 400, "invalid_request"),
    ("page-size-huge", "POST", "/exports", {**OK, "page_size": 10**30}, {}, 400, "invalid_request"),
    ("mode-null", "POST", "/exports", {**OK, "mode": None}, {}, 400, "invalid_request"),
    (
        "since-garbage",
        "POST",
        "/exports",
        {**OK, "mode": "incremental", "since": "'; DROP TABLE"},
        {},
        400,
        "invalid_request",
    ),
    (
        "entity-xml-breakout",
        "POST",
        "/exports",
        {**OK, "entity": "UK</locationid>"},
        {},
        400,
        "invalid_request",
    ),
    ("resume-not-offered", "POST", "/exports", {**OK, "resume_run_id": "x"}, {}, 400, "invalid_request"),
    (
        "huge-body",  # over the API's limit (a Step Functions input may not exceed 256 KiB)
        "POST",
        "/exports",
        json.dumps({**OK, "filter": {"field": "NAME", "op": "equalto", "value": "x" * 200_000}}).encode(),
        {"Content-Type": "application/json"},
        413,
        "request_too_large",
    ),
    (
        "not-utf8",
        "POST",
        "/exports",
        b"\xff\xfe{\x00",
        {"Content-Type": "application/json"},
        400,
        "invalid_request",
    ),
    (
        "xml-body",
        "POST",
        "/exports",
        b"<export/>",
        {"Content-Type": "text/xml"},
        415,
        "unsupported_media_type",
    ),
    (
        "idempotency-key-unicode",
        "POST",
        "/exports",
        OK,
        {"Idempotency-Key": "clé-1"},
        400,
        "invalid_idempotency_key",
    ),
    ("export-id-traversal", "GET", "/exports/..%2F..%2Fetc", None, {}, 400, "invalid_export_id"),
    ("export-id-unicode", "GET", "/exports/caf%C3%A9", None, {}, 400, "invalid_export_id"),
    ("records-limit-negative", "GET", "/exports/abc/records?limit=-1", None, {}, 400, "invalid_limit"),
    ("records-limit-huge", "GET", "/exports/abc/records?limit=99999999999", None, {}, 400, "invalid_limit"),
    ("records-cursor-forged", "GET", "/exports/abc/records?cursor=eyJ4Ijox", None, {}, 400, "invalid_cursor"),
    (
        "records-unknown-parameter",
        "GET",
        "/exports/abc/records?offset=5",
        None,
        {},
        400,
        "invalid_query_parameter",
    ),
    ("delete-exports", "DELETE", "/exports", None, {}, 405, "method_not_allowed"),
]


@pytest.mark.parametrize(
    ("method", "target", "body", "headers", "status", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in API_CASES],
)
def test_a_hostile_api_request_gets_a_clear_4xx_and_starts_nothing(
    stack, method, target, body, headers, status, code
):
    before = len(stack.executions())
    stack.sim.reset_stats()
    if isinstance(body, bytes):
        answer_status, answer = stack.call(method, target, raw=body, **headers)
    else:
        answer_status, answer = stack.call(method, target, body, **headers)
    assert (answer_status, answer["error"]) == (status, code), answer
    assert answer["message"] and "Traceback" not in answer["message"]
    assert len(stack.executions()) == before
    assert stack.sim.stats()["http_requests"] == 0


def test_legal_markup_and_sql_in_an_api_filter_are_exported_literally(stack):
    # Given a record whose NAME is XML markup that would close the <value> element if it were not escaped
    # When an export filtered on exactly that NAME is requested through the API
    status, answer = stack.call(
        "POST", "/exports", {**OK, "filter": {"field": "NAME", "op": "equalto", "value": XML_BREAKOUT}}
    )
    assert status == 202, answer
    export_id = answer["export_id"]
    deadline = time.monotonic() + 60
    while (state := stack.call("GET", f"/exports/{export_id}")[1])["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # Then it succeeds with exactly that one record, its NAME intact
    assert state["status"] == "SUCCEEDED", state
    status, page = stack.call("GET", f"/exports/{export_id}/records")
    assert status == 200, page
    assert [(str(r["RECORDNO"]), r["NAME"]) for r in page["records"]] == [
        (stack.keys[XML_BREAKOUT], XML_BREAKOUT)
    ]


# --- the state machine's input ---------------------------------------------------------------------------

HOSTILE_INPUTS = [
    ("empty", {}),
    ("object-xml-breakout", {"object": "CUSTOMER</object><x/>"}),
    ("object-trailing-newline", {"object": "CUSTOMER\n"}),
    ("object-unicode", {"object": "ÇUSTOMER"}),
    ("object-too-long", {"object": "A" * 101}),
    ("object-number", {"object": 7}),
    ("fields-string", {"object": "CUSTOMER", "fields": "NAME,RECORDNO"}),
    ("fields-breakout", {"object": "CUSTOMER", "fields": ["NAME</field><x/>"]}),
    (
        "filter-field-breakout",
        {"object": "CUSTOMER", "filter": {"field": "N>", "op": "equalto", "value": "x"}},
    ),
    ("filter-sql", {"object": "CUSTOMER", "filter": "1=1"}),
    ("page-size-zero", {"object": "CUSTOMER", "page_size": 0}),
    ("page-size-negative", {"object": "CUSTOMER", "page_size": -100}),
    ("page-size-text", {"object": "CUSTOMER", "page_size": "2000"}),
    ("mode-unknown", {"object": "CUSTOMER", "mode": "everything"}),
    ("entity-breakout", {"object": "CUSTOMER", "entity": "UK</locationid><x/>"}),
    ("unknown-key", {"object": "CUSTOMER", "gateway_url": "https://attacker.example/"}),
    ("resume-traversal", {"object": "CUSTOMER", "resume_run_id": "../../_meta/runs/x"}),
    ("not-an-object", ["CUSTOMER"]),
]


@pytest.mark.parametrize("document", [pytest.param(r, id=i) for i, r in HOSTILE_INPUTS])
def test_hostile_state_machine_input_fails_the_run_with_invalid_export_request_before_intacct(
    stack, document
):
    # When the state machine is started directly (console, CLI, another tool) with hostile input
    stack.sim.reset_stats()
    name = f"hostile-{time.time_ns()}"
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = stack.pipeline.stack.start_export(document, name=name)
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # Then the execution fails, saying why
    assert described["status"] == "FAILED"
    assert described["error"] == "InvalidExportRequest", described  # a non-object included
    assert json.loads(described["cause"])["errorMessage"]
    assert stack.pipeline.stack.failures[-1]["errorType"] == "InvalidExportRequest"
    # And nothing reached Intacct, nothing landed, no manifest claims success
    assert stack.sim.stats()["http_requests"] == 0
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_objects_v2(
        Bucket=stack.pipeline.stack.bucket, Prefix="exports/object=CUSTOMER/run_id=" + name
    )
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert not [k for k in keys if "/part-" in k]
    for key in keys:
        manifest = json.loads(s3.get_object(Bucket=stack.pipeline.stack.bucket, Key=key)["Body"].read())
        assert manifest["status"] == "failed" and manifest["error"]["error"] == "InvalidExportRequest"


def test_resuming_a_completed_run_is_refused_and_keeps_its_manifest(stack):
    done = stack.pipeline.export({"object": "CUSTOMER", "fields": ["RECORDNO", "NAME"]})
    assert done.status == "SUCCEEDED", done.error
    again = stack.pipeline.export({"object": "CUSTOMER", "resume_run_id": done.run_id})
    assert again.status == "FAILED" and "completed already" in str(again.error)
    assert again.manifest is not None and again.manifest == done.manifest


def test_legal_sql_in_a_filter_is_queried_literally_by_the_state_machine(stack):
    result = stack.pipeline.export(
        {
            "object": "CUSTOMER",
            "fields": ["RECORDNO", "NAME"],
            "filter": {"field": "NAME", "op": "equalto", "value": SQL_BREAKOUT},
        }
    )
    assert result.status == "SUCCEEDED", result.error
    s3 = boto3.client("s3", region_name=REGION)
    records = [
        record
        for part in result.manifest["parts"]
        for record in decode_part(
            s3.get_object(Bucket=stack.pipeline.stack.bucket, Key=part["key"])["Body"].read()
        )
    ]
    assert [(str(r["RECORDNO"]), r["NAME"]) for r in records] == [(stack.keys[SQL_BREAKOUT], SQL_BREAKOUT)]


# --- the CLI ---------------------------------------------------------------------------------------------

CLI_CASES = [
    # (id, argv, words the error line must contain)
    ("no-command", [], "required"),
    ("unknown-command", ["export"], "invalid choice"),
    ("unknown-flag", ["run", "--drop-tables"], "unrecognized arguments"),
    ("page-size-zero", ["run", "--page-size", "0"], "--page-size"),
    ("page-size-negative", ["run", "--page-size", "-5"], "--page-size"),
    ("page-size-text", ["run", "--page-size", "lots"], "--page-size"),
    ("page-size-float", ["run", "--page-size", "1e3"], "--page-size"),
    ("page-size-over", ["run", "--page-size", "2001"], "--page-size"),
    ("records-negative", ["run", "--records", "-1"], "--records"),
    ("records-huge", ["run", "--records", "9" * 40], "--records"),
    ("concurrency-zero", ["run", "--concurrency", "0"], "--concurrency"),
    ("latency-huge", ["run", "--latency-ms", "99999999"], "--latency-ms"),
    ("mode-unknown", ["run", "--mode", "everything"], "--mode"),
    ("seed-text", ["run", "--seed", "x"], "--seed"),
    ("object-xml-breakout", ["run", "--object", "CUSTOMER</object><x/>"], "--object"),
    ("object-sql", ["run", "--object", "CUSTOMER' OR 1=1 --"], "--object"),
    ("object-unicode", ["run", "--object", "CUSTÖMER"], "--object"),
    ("object-trailing-newline", ["run", "--object", "CUSTOMER\n"], "--object"),
    ("object-empty", ["run", "--object", ""], "--object"),
    ("object-too-long", ["run", "--object", "A" * 101], "--object"),
    ("object-not-in-catalogue", ["run", "--object", "PODOCUMENT"], "not in the object catalogue"),
    ("filter-not-json", ["run", "--filter", "STATUS=active"], "--filter"),
    ("filter-not-an-object", ["run", "--filter", "[1, 2]"], "--filter"),
    ("filter-no-op", ["run", "--filter", '{"field": "STATUS"}'], "--filter"),
    ("resume-not-a-run-id", ["run", "--resume", "../../etc"], "--resume"),
    ("resume-unknown-run", ["run", "--resume", "local-customer-1", "--out", "no-such-folder"], "--resume"),
    ("out-under-a-file", ["run", "--out", "/dev/null/out"], "--out"),
    ("fields-breakout", ["run", "--fields", "NAME,<x/>"], "--fields"),
    ("fields-repeated", ["run", "--fields", "NAME,name"], "--fields"),
    ("fields-too-many", ["run", "--fields", ",".join(f"F{i}" for i in range(1001))], "--fields"),
    ("timezone-unknown", ["run", "--timezone", "Mars/Olympus_Mons"], "--timezone"),
    ("timezone-traversal", ["run", "--timezone", "../../../etc/passwd"], "--timezone"),
    ("gateway-ftp", ["run", "--gateway-url", "ftp://api.intacct.com/"], "--gateway-url"),
    ("gateway-not-a-url", ["run", "--gateway-url", "javascript:alert(1)"], "--gateway-url"),
    ("api-port-over", ["api", "--port", "70000"], "--port"),
    ("api-timezone-unknown", ["api", "--timezone", "Nowhere/Land"], "--timezone"),
    ("api-gateway-not-a-url", ["api", "--gateway-url", "intacct"], "--gateway-url"),
]


@pytest.mark.parametrize(("argv", "words"), [pytest.param(a, w, id=i) for i, a, w in CLI_CASES])
def test_bad_cli_arguments_give_one_clear_error_line_exit_2_and_start_nothing(
    argv, words, monkeypatch, capsys
):
    started: list[Any] = []
    monkeypatch.setattr(cli, "run_export", lambda *a, **k: started.append(a))
    monkeypatch.setattr("intacct_local.api_server.run_api", lambda *a, **k: started.append(a))
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "error:" in line]
    assert code == 2
    assert len(errors) == 1 and captured.err.rstrip().endswith(errors[0]), captured.err
    assert words in errors[0]
    assert "Traceback" not in captured.err + captured.out
    assert started == []


def test_an_out_path_that_is_a_file_is_refused_before_anything_starts(tmp_path, monkeypatch, capsys):
    target = tmp_path / "not-a-directory"
    target.write_text("keep me")
    monkeypatch.setattr(cli, "run_export", lambda *a, **k: pytest.fail("the export started"))
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--out", str(target)])
    assert exited.value.code == 2
    assert "--out" in capsys.readouterr().err.splitlines()[-1]
    assert target.read_text() == "keep me"


# --- escaping, as a property ------------------------------------------------------------------------------


class RecordingHttp(requests.Session):
    """A requests session that keeps every body it sends (what the simulator receives)."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def post(self, url: str | bytes, data: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.bodies.append(data)
        return super().post(url, data=data, **kwargs)


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[IntacctClient, RecordingHttp, Any]]:
    sim = start_simulator(SimulatorConfig(port=0, records=20, seed=52))
    http = RecordingHttp()
    client = IntacctClient(
        SenderCredentials(SIM_CREDENTIALS["sender_id"], SIM_CREDENTIALS["sender_password"]),
        gateway_url=sim.url,
        http=http,
    )
    user = UserCredentials(
        SIM_CREDENTIALS["company_id"], SIM_CREDENTIALS["user_id"], SIM_CREDENTIALS["user_password"]
    )
    session = client.get_api_session(user)
    try:
        yield client, http, session
    finally:
        sim.stop()


def group(op: str, children: list[Any]) -> Any:
    """and/or are commutative, and the request groups sibling conditions by operator: compare as sets."""
    return (op, sorted(children, key=repr))


def as_tree(node: Node) -> Any:
    if isinstance(node, Comparison):
        return (node.op, node.field, list(node.values))
    return group(node.op, [as_tree(child) for child in node.children])


def expected_tree(filt: dict[str, Any]) -> Any:
    if "and" in filt or "or" in filt:
        (op,) = filt
        children = [expected_tree(child) for child in filt[op]]
        return children[0] if len(children) == 1 else group(op, children)
    values = filt["values"] if "values" in filt else [filt["value"]]
    return (filt["op"], filt["field"], [str(v) for v in values])


def xml_safe(text: str) -> bool:
    return all(
        c in "\t\n" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000
        for c in text
    )


any_text = st.text(max_size=40)
conditions = st.one_of(
    st.builds(
        lambda op, v: {"field": "NAME", "op": op, "value": v},
        st.sampled_from(["equalto", "notequalto", "like", "lessthan"]),
        any_text,
    ),
    st.builds(
        lambda v: {"field": "NAME", "op": "in", "values": v}, st.lists(any_text, min_size=1, max_size=5)
    ),
    st.builds(
        lambda v: {"field": "CUSTOMERID", "op": "between", "values": v},
        st.lists(any_text, min_size=2, max_size=2),
    ),
)
filters = st.one_of(conditions, st.builds(lambda c: {"or": c}, st.lists(conditions, min_size=1, max_size=3)))


@settings(max_examples=150, deadline=None)
@given(filt=filters, after_key=st.one_of(st.none(), any_text), upper_key=st.one_of(st.none(), any_text))
def test_any_filter_reaches_the_simulator_exactly_as_written(gateway, filt, after_key, upper_key):
    """filter JSON -> ExportSpec -> PageTask -> page_query -> the request the simulator receives, parsed back:
    the same tree, every value byte for byte, or a refusal up front when a value is not XML-safe."""
    client, http, session = gateway
    texts = [str(v) for c in filt.get("or", [filt]) for v in c.get("values", [c.get("value")])]
    try:
        spec = ExportSpec.from_payload({"object": "CUSTOMER", "filter": filt})
    except InvalidExportRequest as exc:
        assert not all(xml_safe(t) for t in texts), exc  # refused only for text XML cannot carry
        return
    assert all(xml_safe(t) for t in texts)
    if not all(xml_safe(k) for k in (after_key or "", upper_key or "")):
        return  # keys come from Intacct's own XML answers, which cannot carry such characters
    task = PageTask(
        run_id="prop",
        object=spec.object,
        fields=("RECORDNO", "NAME"),
        filter=spec.filter,
        key_field="RECORDNO",
        page_size=10,
        after_key=after_key,
        upper_key=upper_key,
    )
    with contextlib.suppress(
        FunctionError
    ):  # e.g. text against the numeric RECORDNO: an answer, not a broken body
        client.query(session, page_query(task))
    request = parse_request(http.bodies[-1])  # raises on anything the simulator could not parse
    (query_element,) = [f.element for op in request.operations for f in op.functions]
    (filter_element,) = query_element.findall("filter")
    bounds = []
    if after_key is not None:
        bounds.append(("greaterthan", "RECORDNO", [after_key]))
    if upper_key is not None:
        bounds.append(("lessthan", "RECORDNO", [upper_key]))
    expected = expected_tree(filt)
    if bounds:
        expected = group("and", [expected, *bounds])
    assert as_tree(parse_xml_filter(filter_element)) == expected
    assert ET.tostring(filter_element).count(b"<injected") == 0


def test_the_property_test_sees_what_the_simulator_sees(gateway):
    # A guard for the test above: bodies are recorded, and parsing finds a hostile value intact
    client, http, session = gateway
    task = PageTask(
        "prop",
        "CUSTOMER",
        ("RECORDNO",),
        {"field": "NAME", "op": "equalto", "value": XML_BREAKOUT},
        "RECORDNO",
        5,
    )
    client.query(session, page_query(task))
    (query_element,) = [f.element for op in parse_request(http.bodies[-1]).operations for f in op.functions]
    assert as_tree(parse_xml_filter(query_element.find("filter"))) == ("equalto", "NAME", [XML_BREAKOUT])
    assert XML_BREAKOUT.encode() not in http.bodies[-1]  # it travelled escaped
