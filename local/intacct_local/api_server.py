"""`intacct-sync api`: the export API on loopback, against emulated AWS and the simulator.

Each HTTP request becomes the API Gateway REST proxy event that API Gateway would send, and goes to the real
ApiFunction handler (the same code as in Lambda); exports run through the real state machine in moto's
background threads. No IAM signature is checked locally. Standard library only (http.server).
"""

from __future__ import annotations

import base64
import errno
import json
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from intacct_local.emulated_aws import FakeLambdaContext, LocalStack, local_aws
from intacct_local.errors import RunError
from intacct_local.layer import logger
from intacct_local.runner import (
    SIM_CREDENTIALS,
    RunOptions,
    check_reachable,
    credentials_from_env,
    simulator,
    tenant_timezone,
)
from intacct_local.terminal import Interrupted

FUNCTION = "ApiFunction"
ACCOUNT_ID = "123456789012"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """One API event of the function in template.yaml: method and path template (/exports/{id})."""

    method: str
    path: str

    def match(self, path: str) -> dict[str, str] | None:
        names = re.findall(r"\{([^}/]+)\}", self.path)
        pattern = "^" + re.sub(r"\\\{[^}/]+\\\}", "([^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return dict(zip(names, (unquote(g) for g in found.groups()), strict=True)) if found else None


def template_routes(stack: LocalStack) -> list[Route]:
    """The ApiFunction's `Type: Api` events, as declared in template.yaml."""
    events = stack.functions[FUNCTION].get("Events", {})
    return [
        Route(str(e["Properties"]["Method"]).upper(), str(e["Properties"]["Path"]))
        for e in events.values()
        if e.get("Type") == "Api"
    ]


def proxy_event(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    routes: list[Route] | None = None,
    stage: str = "local",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The API Gateway REST (v1) proxy event for one HTTP request, as API Gateway builds it."""
    url = urlsplit(target)
    path = url.path or "/"
    query = parse_qsl(url.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    resource, parameters = path, None
    for route in routes or []:
        found = route.match(path)
        if found is not None:
            resource, parameters = route.path, found or None
            if route.method == method.upper():
                break
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    host = dict((k.lower(), v) for k, v in headers).get("host", "127.0.0.1")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "stage": stage,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "protocol": "HTTP/1.1",
            "requestId": f"local-{time.monotonic_ns()}",
            "extendedRequestId": f"local-{time.monotonic_ns()}",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": dict(headers).get("User-Agent")},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class LocalApiServer(ThreadingHTTPServer):
    """Serves the handler; one request at a time reaches it, as in one Lambda execution environment."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: Handler, routes: list[Route], log: TextIO | None
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.handler, self.routes, self.log = handler, routes, log
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self.handler(event, FakeLambdaContext(FUNCTION, 29, 512))


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalApiServer
    protocol_version = "HTTP/1.1"

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = [*self.headers.items(), ("X-Forwarded-Proto", "http")]
        event = proxy_event(
            self.command,
            self.path,
            headers,
            body,
            routes=self.server.routes,
            source_ip=str(self.client_address[0]),
        )
        try:
            response = self.server.invoke(event)
        except Exception as exc:  # an unhandled handler error: API Gateway answers 502 in that case
            response = {
                "statusCode": 502,
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "bad_gateway", "message": f"the function failed: {exc!r}"}),
            }
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
        self.send_response(int(response["statusCode"]))
        for name, value in (response.get("headers") or {}).items():
            self.send_header(name, str(value))
        for name, values in (response.get("multiValueHeaders") or {}).items():
            if name not in (response.get("headers") or {}):
                for value in values:
                    self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.log is not None:
            self.server.log.write(f"{self.command} {self.path} -> {code}\n")
            self.server.log.flush()

    def log_message(self, format: str, *args: Any) -> None:
        return None  # request lines go through log_request; nothing else is printed


def api_handler(stack: LocalStack) -> Handler:
    """The real ApiFunction handler on this emulated stack, invoked as Lambda would (its Timeout and the
    6 MB response limit enforced): an invocation that fails is answered as API Gateway answers it, 502."""

    def invoke(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        ok, result = stack.invoke(FUNCTION, event)
        if ok:
            return dict(result)
        return {
            "statusCode": 502,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"message": "Internal server error", "error": result.get("errorType")}),
        }

    return invoke


@contextmanager
def serve_api(
    stack: LocalStack, host: str = "127.0.0.1", port: int = 8787, log: TextIO | None = None
) -> Iterator[LocalApiServer]:
    """Serve the API for `stack` in a background thread (port 0 picks a free port)."""
    try:
        server = LocalApiServer((host, port), api_handler(stack), template_routes(stack), log)
    except OSError as exc:  # taken since check_port looked
        raise RunError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); give another --port"
        ) from None
    thread = threading.Thread(target=server.serve_forever, name="intacct-sync-api", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class ApiOptions:
    host: str = "127.0.0.1"
    port: int = 8787
    records: int = 10_000
    seed: int = 1
    page_size: int = 2000
    concurrency: int = 2
    latency_ms: int = 0
    timezone: str | None = None  # as RunOptions.timezone
    gateway_url: str | None = None
    verbose: bool = False
    log_path: Path | None = None  # where the functions' and the emulator's output goes (set by the CLI)
    function_env: dict[str, str] = field(default_factory=dict)  # settings the user set (function_settings)


def _banner(url: str, gateway: str, log_path: Path | None = None) -> str:
    logs = f"\nLogs (the functions', the emulator's): {log_path}\n" if log_path else ""
    return f"""intacct-sync API on {url}  (emulated AWS in this process; Intacct: {gateway})

  curl -s {url}/objects
  curl -s -X POST {url}/exports -H 'Content-Type: application/json' \\
       -d '{{"object": "CUSTOMER", "mode": "full"}}'
  curl -s {url}/exports/<export_id>
  curl -s '{url}/exports/<export_id>/records?limit=5'

Ctrl-C or kill stops it and its simulator (everything lives in memory).{logs}
"""


def check_port(host: str, port: int) -> None:
    """Refuse a port something else listens on, in one line, before anything starts (0: any free one)."""
    if port == 0:
        return
    try:
        with socket.create_server((host, port)):  # SO_REUSEADDR, as the server's own socket
            pass
    except OSError as exc:
        in_use = exc.errno == errno.EADDRINUSE
        raise RunError(
            f"port {port} on {host} is "
            + ("in use (another intacct-sync api?)" if in_use else f"not available ({exc.strerror or exc})")
            + ": stop what holds it, or give another with --port (0 picks a free one)"
        ) from None


def run_api(options: ApiOptions, stream: TextIO = sys.stderr) -> int:
    """Serve until stopped; returns the exit status (128 + the signal's number, as ``run``)."""
    check_port(options.host, options.port)
    run_options = RunOptions(
        records=options.records,
        seed=options.seed,
        concurrency=options.concurrency,
        latency_ms=options.latency_ms,
        timezone=options.timezone,
    )
    if options.gateway_url:
        credentials = credentials_from_env()
        check_reachable(options.gateway_url)
        sim_ctx: Any = nullcontext(None)
    else:
        credentials = dict(SIM_CREDENTIALS)
        sim_ctx = simulator(run_options)
    with sim_ctx as sim:
        gateway = sim.url if sim is not None else str(options.gateway_url)
        parameters = {
            "GatewayUrl": gateway,
            "PageSize": str(options.page_size),
            "TenantConcurrency": str(options.concurrency),
            "TenantTimezone": tenant_timezone(options.timezone, real_gateway=sim is None),
        }
        quiet = {
            "POWERTOOLS_LOG_LEVEL": "INFO" if options.verbose or options.log_path else "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        logger.setLevel(quiet["POWERTOOLS_LOG_LEVEL"])  # the shared logger exists already
        with (
            local_aws(credentials, parameters, {**options.function_env, **quiet}) as stack,
            serve_api(stack, options.host, options.port, stream) as server,
        ):
            try:  # the banner inside: a stop as soon as it is printed is a clean stop too
                stream.write(_banner(server.url, gateway, options.log_path))
                stream.flush()
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt as exc:
                stream.write("\nstopped\n")
                signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    return 128 + signum
