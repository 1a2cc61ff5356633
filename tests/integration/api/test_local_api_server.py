"""`intacct-sync api` turns HTTP requests into the proxy events API Gateway would send, and back."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request

from intacct_local.api_server import LocalApiServer, Route, proxy_event
from intacct_local.cli import build_parser

ROUTES = [Route("POST", "/exports"), Route("GET", "/exports/{id}"), Route("GET", "/exports/{id}/records")]


def test_a_request_becomes_a_rest_proxy_event():
    event = proxy_event(
        "get",
        "/exports/customer-1/records?limit=5&cursor=abc%3D&tag=a&tag=b",
        [("Host", "127.0.0.1:8787"), ("Accept", "application/json"), ("X-Multi", "1"), ("X-Multi", "2")],
        routes=ROUTES,
    )
    assert event["httpMethod"] == "GET"
    assert event["path"] == "/exports/customer-1/records"
    assert event["resource"] == event["requestContext"]["resourcePath"] == "/exports/{id}/records"
    assert event["pathParameters"] == {"id": "customer-1"}
    assert event["queryStringParameters"] == {"limit": "5", "cursor": "abc=", "tag": "b"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert event["headers"]["X-Multi"] == "2" and event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["requestContext"]["domainName"] == "127.0.0.1:8787"
    assert event["requestContext"]["stage"] == "local"
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_text_bodies_pass_as_text_and_binary_ones_as_base64():
    text = proxy_event("POST", "/exports", [], b'{"object": "CUSTOMER"}', routes=ROUTES)
    assert text["body"] == '{"object": "CUSTOMER"}' and text["isBase64Encoded"] is False
    assert text["pathParameters"] is None and text["resource"] == "/exports"
    binary = proxy_event("POST", "/exports", [], b"\xff\xfe", routes=ROUTES)
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\xff\xfe"


def test_the_server_relays_status_headers_and_body_both_ways():
    seen = []

    def handler(event, context):
        seen.append(event)
        return {
            "statusCode": 202,
            "headers": {"Content-Type": "application/json", "Location": "http://x/exports/1"},
            "multiValueHeaders": {"X-Trace": ["a", "b"]},
            "body": json.dumps({"echo": json.loads(event["body"])}),
            "isBase64Encoded": False,
        }

    server = LocalApiServer(("127.0.0.1", 0), handler, ROUTES, None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        request = urllib.request.Request(  # noqa: S310 (loopback)
            f"{server.url}/exports",
            data=b'{"object": "VENDOR"}',
            headers={"Content-Type": "application/json", "Idempotency-Key": "k1"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            assert response.status == 202
            assert response.headers["Location"] == "http://x/exports/1"
            assert response.headers.get_all("X-Trace") == ["a", "b"]
            assert json.loads(response.read()) == {"echo": {"object": "VENDOR"}}
    finally:
        server.shutdown()
        server.server_close()
    (event,) = seen
    assert event["headers"]["Idempotency-Key"] == "k1" and event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


def test_a_crashing_handler_is_a_502_like_api_gateway():
    def handler(event, context):
        raise RuntimeError("init failed")

    server = LocalApiServer(("127.0.0.1", 0), handler, ROUTES, None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        try:
            urllib.request.urlopen(f"{server.url}/exports/1", timeout=5)  # noqa: S310 (loopback)
        except urllib.error.HTTPError as exc:
            assert exc.code == 502
            assert json.loads(exc.read())["error"] == "bad_gateway"
        else:
            raise AssertionError("expected a 502")
    finally:
        server.shutdown()
        server.server_close()


def test_the_cli_has_an_api_subcommand_on_loopback_by_default():
    args = build_parser().parse_args(["api"])
    assert (args.host, args.port, args.gateway_url) == ("127.0.0.1", 8787, None)
    args = build_parser().parse_args(["api", "--port", "0", "--records", "50", "--page-size", "10"])
    assert (args.port, args.records, args.page_size) == (0, 50, 10)
