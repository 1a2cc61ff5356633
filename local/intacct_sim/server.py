"""HTTP front end: the XML gateway endpoint, limits and faults, and the ``/__sim__/`` control API."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .config import SimulatorConfig, apply_runtime_changes
from .dataset import Dataset, Key
from .envelope import EnvelopeError, Request, control_failure, gateway_failure, parse_request
from .faults import IN_BAND_KINDS, FaultEngine, FaultRule, corrupt, html_error, truncate
from .formats import Formats, UserFormat
from .functions import FunctionRunner
from .gateway import XML_CONTENT_TYPE, Gateway, Reply, xml_reply
from .schema import objects_with_custom_fields
from .sessions import SessionStore
from .stats import Stats
from .vocab import DEFAULT_ENTITIES, Entity

GATEWAY_PATH = "/ia/xml/xmlgw.phtml"
CONTROL_PREFIX = "/__sim__/"
RATE_LIMIT_TEXT = "API rate limit exceeded: too many concurrent requests for this company"


def _entities(ids: tuple[str, ...]) -> tuple[Entity, ...]:
    known = {e.id: e for e in DEFAULT_ENTITIES}
    return tuple(known.get(i, Entity(n + 1, i, f"Entity {i}", "USD", "US")) for n, i in enumerate(ids))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections so their handler threads finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients dropping connections (timeouts, resets) are normal here; anything else is a bug.
        if isinstance(sys.exc_info()[1], ConnectionError) and not self.simulator.config.verbose:
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server_version = "cloudflare"  # the recorded ``Server`` header (real-objects/README.md)
    timeout = 120  # idle keep-alive connections are dropped after this many seconds
    disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid 40 ms ACK stalls
    _in_flight = False  # this connection's current gateway call is counted in Stats.in_flight
    server: _HTTPServer

    # ----- plumbing ---------------------------------------------------------------------------

    @property
    def sim(self) -> Simulator:
        return self.server.simulator

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.sim.config.verbose:
            sys.stderr.write(f"intacct-sim: {self.address_string()} {format % args}\n")

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked_body()
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.close_connection = True  # the body's end is unknown: the connection cannot be reused
            self._send(Reply(411, b"Content-Length required", "text/plain"), count=False)
            return None
        return self.rfile.read(int(length))

    def _chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # CRLF after each chunk

    def _send(self, reply: Reply, count: bool = True) -> None:
        if count:
            self.sim.stats_store.status(reply.status)
        self._finish_gateway_call()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. timed out on a slow fault)

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
        self._send(Reply(status, body, "application/json; charset=UTF-8"), count=False)

    def _finish_gateway_call(self) -> None:
        """Leave the in-flight count once, before the answer goes out (a client that has its answer
        may send the next request at once; it must not see this one still in flight)."""
        if self._in_flight:
            self._in_flight = False
            self.sim.stats_store.leave()

    def _reset_connection(self) -> None:
        """Close the socket with RST and no response (SO_LINGER 0)."""
        self._finish_gateway_call()
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    # ----- routing ----------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == GATEWAY_PATH:
            self._gateway()
        elif path.startswith(CONTROL_PREFIX):
            self._control("POST", path[len(CONTROL_PREFIX) :])
        else:
            self._json(404, {"error": f"no such endpoint {path}"})

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith(CONTROL_PREFIX):
            self._control("GET", path[len(CONTROL_PREFIX) :])
        elif path == GATEWAY_PATH:
            self._send(Reply(405, b"The XML gateway only accepts POST", "text/plain"), count=False)
        else:
            self._json(404, {"error": f"no such endpoint {path}"})

    def do_DELETE(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith(CONTROL_PREFIX):
            self._control("DELETE", path[len(CONTROL_PREFIX) :])
        else:
            self._json(404, {"error": f"no such endpoint {path}"})

    # ----- gateway ----------------------------------------------------------------------------

    def _gateway(self) -> None:
        body = self._body()
        if body is None:
            return
        sim = self.sim
        call_no = sim.faults.next_call()
        in_flight = sim.stats_store.enter()
        self._in_flight = True
        try:
            limit = sim.config.concurrency_limit
            if limit is not None and in_flight > limit:
                reply = xml_reply(
                    429, gateway_failure("GW-0010", f"{RATE_LIMIT_TEXT} [Request ID: sim-{call_no}]")
                )
                reply.headers["Retry-After"] = "1"
                self._send(reply)
                return
            started = time.monotonic()
            request: Request | None = None
            error: EnvelopeError | None = None
            try:
                request = parse_request(body)
            except EnvelopeError as exc:
                error = exc
            functions = request.function_names() if request else []
            objects = request.objects() if request else []
            rule = sim.faults.pick(call_no, functions, objects)
            if rule is not None:
                sim.stats_store.fault(rule.kind)
            if rule is not None and rule.phase == "before":
                if rule.kind == "slow":
                    sim.wait(rule.delay_ms / 1000)
                else:
                    self._wait_latency(started, 0)
                    self._fault(rule, None, request)
                    return
            if request is not None:
                reply = sim.gateway.execute(request)
            else:
                assert error is not None
                reply = xml_reply(200, control_failure(error))
            self._wait_latency(started, reply.records)
            if rule is not None and rule.phase == "after":
                if rule.kind == "slow":
                    sim.wait(rule.delay_ms / 1000)
                else:
                    self._fault(rule, reply, request)
                    return
            self._send(reply)
        finally:
            self._finish_gateway_call()

    def _wait_latency(self, started: float, records: int) -> None:
        cfg = self.sim.config
        delay = (cfg.latency_ms + cfg.latency_per_record_ms * records) / 1000 - (time.monotonic() - started)
        if delay > 0:
            self.sim.wait(delay)

    def _fault(self, rule: FaultRule, reply: Reply | None, request: Request | None) -> None:
        kind = rule.kind
        if kind in IN_BAND_KINDS:
            body = self.sim.gateway.in_band_failure(request, kind, rule.level or IN_BAND_KINDS[kind])
            self._send(Reply(200, body, XML_CONTENT_TYPE))
            return
        if kind == "connection_reset":
            self._reset_connection()
            return
        if kind == "http_429":
            limited = xml_reply(429, gateway_failure("GW-0010", f"{RATE_LIMIT_TEXT} [Request ID: sim-fault]"))
            limited.headers["Retry-After"] = "1"
            self._send(limited)
            return
        if kind in ("http_500", "http_502", "http_503", "http_524"):
            code = int(kind[5:])
            self._send(Reply(code, html_error(code), "text/html; charset=UTF-8"))
            return
        body = reply.body if reply is not None else _PLACEHOLDER
        body = truncate(body) if kind == "truncated_xml" else corrupt(body)
        self._send(Reply(200, body, XML_CONTENT_TYPE))

    # ----- control API ------------------------------------------------------------------------

    def _control(self, method: str, name: str) -> None:
        sim = self.sim
        payload: Any = None
        if method == "POST":
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            # A request with neither header has no body (RFC 9112 §6.3): `curl -X POST .../reset-stats`
            raw = b"" if self.headers.get("Content-Length") is None and not chunked else self._body()
            if raw is None:
                return
            try:
                payload = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as exc:
                self._json(400, {"error": f"invalid JSON: {exc}"})
                return
        try:
            result = self._control_action(sim, method, name, payload)
        except (ValueError, KeyError, TypeError) as exc:
            self._json(400, {"error": str(exc)})
            return
        if result is None:
            self._json(404, {"error": f"no such control endpoint {method} {CONTROL_PREFIX}{name}"})
        else:
            self._json(200, result)

    def _control_action(self, sim: Simulator, method: str, name: str, payload: Any) -> Any:
        """Dispatch one control call; None means no such endpoint."""
        route = (method, name)
        if route == ("GET", "health"):
            return {"status": "ok", "url": sim.url}
        if route == ("GET", "stats"):
            return sim.stats()
        if route == ("POST", "reset-stats"):
            sim.reset_stats()
            return sim.stats()
        if route == ("GET", "faults"):
            return sim.faults.rules()
        if route == ("POST", "faults"):
            sim.set_faults(_rule_list(payload))
            return sim.faults.rules()
        if route == ("DELETE", "faults"):
            sim.clear_faults()
            return []
        if route == ("GET", "config"):
            return sim.config.to_dict()
        if route == ("POST", "config"):
            sim.configure(**payload)
            return sim.config.to_dict()
        if route == ("POST", "mutate"):
            return _mutate(sim, payload)
        if route == ("POST", "replay"):
            if not isinstance(payload, dict) or set(payload) != {"object", "records"}:
                raise ValueError('replay takes {"object": ..., "records": [{field: text}, ...]}')
            sim.replay(str(payload["object"]), list(payload["records"]))
            return {"object": str(payload["object"]).upper(), "records": len(payload["records"])}
        if route == ("POST", "expire-sessions"):
            return {"expired": sim.expire_sessions()}
        if route == ("GET", "records"):
            query = parse_qs(urlsplit(self.path).query)
            return sim.records(query["object"][0], query["entity"][0] if "entity" in query else None)
        return None


_PLACEHOLDER = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b"<response><control><status>success</status></control></response>\n"
)


def _rule_list(payload: Any) -> list[dict[str, Any]]:
    rules = payload.get("rules") if isinstance(payload, dict) else payload
    if not isinstance(rules, list):
        raise ValueError('POST /__sim__/faults takes a JSON list of rules (or {"rules": [...]})')
    return rules


def _mutate(sim: Simulator, payload: dict[str, Any]) -> dict[str, Any]:
    """Random changes by count, and/or explicit ``records`` to upsert and ``delete_keys``."""
    allowed = {"object", "inserts", "updates", "deletes", "records", "delete_keys"}
    unknown = set(payload) - allowed
    if unknown or "object" not in payload:
        raise ValueError(f"mutate takes {sorted(allowed)} (object required); got {sorted(payload)}")
    obj = payload["object"]
    result: dict[str, Any] = sim.mutate(
        obj, int(payload.get("inserts", 0)), int(payload.get("updates", 0)), int(payload.get("deletes", 0))
    )
    result["upserted"] = [sim.upsert(obj, record) for record in payload.get("records", [])]
    result["deleted"] += [k for k in payload.get("delete_keys", []) if sim.delete(obj, k)]
    return result


class Simulator:
    """A running simulator. Use :func:`start_simulator`; also a context manager (stops on exit)."""

    def __init__(self, config: SimulatorConfig) -> None:
        started = time.perf_counter()
        self.config = config
        self.formats = Formats(
            UserFormat(config.date_format, config.clock),
            filter_mode=config.filter_date_format,
            locale=config.locale,
        )
        self.dataset = Dataset(
            config.records,
            config.seed,
            config.timezone,
            _entities(config.entities),
            sim_login=config.user_id,
            formats=self.formats,
            never_modified_percent=config.never_modified_percent,
            top_level_percent=config.top_level_percent,
            audit_objectkey=config.audit_objectkey,
            audit_bare_key_percent=config.audit_bare_key_percent,
            audit_recordno=config.audit_recordno,
            specs=objects_with_custom_fields(config.custom_fields),
        )
        self.stats_store = Stats()
        self.sessions = SessionStore(lambda: self.config.session_seconds)
        self.faults = FaultEngine(config.seed)
        self.faults.set_rules(config.faults)
        self._stopped = threading.Event()
        self._server = _HTTPServer((config.host, config.port), self)
        host = config.host if config.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self.url = self.base_url + GATEWAY_PATH
        self.runner = FunctionRunner(self.dataset, config, self.sessions, self.stats_store, self._endpoint)
        self.gateway = Gateway(config, self.dataset, self.sessions, self.stats_store, self.runner)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="intacct-sim", daemon=True
        )
        self._thread.start()
        self.startup_seconds = time.perf_counter() - started

    def _endpoint(self) -> str:
        return self.config.endpoint_url or self.url

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._server.server_address[1])

    def wait(self, seconds: float) -> None:
        """Sleep that ends early when the simulator stops."""
        self._stopped.wait(seconds)

    # ----- public control API -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Accounting counters (see stats.Stats)."""
        return self.stats_store.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters."""
        self.stats_store.reset()

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        """Replace the fault rules (call numbering restarts at 1)."""
        self.faults.set_rules(rules)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.faults.clear()

    def configure(self, **fields: Any) -> None:
        """Change run-time settings (``config.RUNTIME_FIELDS``: latency, concurrency, sessions, mutations,
        credentials, user formats, filter format, showprivate, refused/omitted/denied fields...); settings
        that shape the generated data are start-up only and raise ValueError."""
        with self.dataset.lock:
            apply_runtime_changes(self.config, fields)
            cfg = self.config
            self.formats.update(
                dateformat=cfg.date_format,
                clock=cfg.clock,
                filter_mode=cfg.filter_date_format,
                locale=cfg.locale,
            )
            if "user_id" in fields:
                self.dataset.rename_sim_user(cfg.user_id)

    def mutate(
        self, object: str, inserts: int = 0, updates: int = 0, deletes: int = 0
    ) -> dict[str, list[Key]]:
        """Random inserts/updates/deletes now; returns {"inserted", "updated", "deleted"} RECORDNO lists."""
        changed = self.dataset.mutate(object, inserts, updates, deletes)
        for kind, keys in changed.items():
            self.stats_store.mutated(kind, len(keys))
        return changed

    def expire_sessions(self) -> int:
        """Invalidate every session (the next call with one gets HTTP 401)."""
        return self.sessions.expire_all()

    def records(self, object: str, entity: str | None = None) -> list[dict[str, str]]:
        """Current live records exactly as the API renders them (all fields, strings), RECORDNO order."""
        return self.dataset.records(object, entity)

    def upsert(self, object: str, record: dict[str, Any]) -> Key:
        """Insert or update one record (API-style values, e.g. WHENMODIFIED '11/03/2024 01:30:00')."""
        return self.dataset.upsert(object, record)

    def delete(self, object: str, key: Key) -> bool:
        """Delete one record (adds an AUDITHISTORY 'D' row)."""
        return self.dataset.delete(object, key)

    def replay(self, object: str, records: list[dict[str, str]]) -> None:
        """Answer ``object`` with exactly these records ({field: text}, as ``recorded.recorded_records``
        gives the recorded real ones) instead of generated ones."""
        self.dataset.replay(object, records)

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator(config: SimulatorConfig | None = None, **overrides: Any) -> Simulator:
    """Generate the data, bind the port and serve in a daemon thread; returns once ready."""
    if config is None:
        config = SimulatorConfig(**overrides)
    elif overrides:
        raise TypeError("pass either a SimulatorConfig or keyword overrides, not both")
    return Simulator(config)
