"""One gateway request end to end: sender check, authentication, functions, response document."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from .config import SimulatorConfig
from .dataset import Dataset
from .envelope import (
    EnvelopeError,
    FunctionCall,
    Operation,
    Request,
    control_failure,
    gateway_failure,
    write_control,
    write_errors,
)
from .faults import OFFLINE_TEXT, TRY_AGAIN_CORRECTION, TRY_AGAIN_TEXT
from .functions import QUERY_FUNCTIONS, Auth, FunctionRunner, Outcome
from .sessions import SessionStore
from .stats import Stats
from .timeutil import iso_with_offset
from .xmlwriter import XmlWriter

# Exactly as every recorded real response (real-objects/README.md): note the odd double parameter.
XML_CONTENT_TYPE = 'text/xml; encoding="UTF-8";charset=UTF-8'
ROLLBACK_ERROR = (
    "XL03000009",
    "",
    "The entire transaction in this operation has been rolled back due to an error.",
    "",
)


@dataclass
class Reply:
    """What the HTTP layer sends back."""

    status: int
    body: bytes
    content_type: str = XML_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    records: int = 0
    executed: bool = False  # functions ran (so 'after' faults may apply)


def xml_reply(status: int, body: bytes) -> Reply:
    """An XML reply with the gateway's content type."""
    return Reply(status, body)


class Gateway:
    """Executes parsed requests. Stateless apart from the shared stores it is given."""

    def __init__(
        self,
        config: SimulatorConfig,
        dataset: Dataset,
        sessions: SessionStore,
        stats: Stats,
        runner: FunctionRunner,
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.sessions = sessions
        self.stats = stats
        self.runner = runner
        self.tz = ZoneInfo(config.timezone)
        self._executed_ids: set[tuple[str, str]] = set()  # (companyid, function controlid) for uniqueid
        self._ids_lock = threading.Lock()

    def execute(self, request: Request) -> Reply:
        """Run a structurally valid request."""
        cfg = self.config
        if request.control["senderid"] != cfg.sender_id or request.sender_password != cfg.sender_password:
            error = EnvelopeError(
                "XL03000006", "", "Incorrect Intacct XML Partner ID or password.", request.control
            )
            return xml_reply(200, control_failure(error, request.pretty))
        if request.policyid:
            error = EnvelopeError(
                "XL03000006", "", f"{request.policyid} is not a valid transport policy.", request.control
            )
            return xml_reply(200, control_failure(error, request.pretty))

        authenticated: list[tuple[Operation, Auth | None, str]] = []
        for operation in request.operations:
            auth, failure = self._authenticate(operation)
            if failure == "session":
                return xml_reply(
                    401,
                    gateway_failure(
                        "XMLGW_JPP0002", "Sign-in information is incorrect. Please check your request."
                    ),
                )
            authenticated.append((operation, auth, failure))

        w = XmlWriter(request.pretty)
        w.start("response")
        write_control(w, "success", request.control)
        outcomes: list[Outcome] = []
        # One function whose json/csv body comes back bare: do not also escape it into XML for nothing.
        single = sum(len(op.functions) for op, auth, _ in authenticated if auth is not None) == 1
        for operation, auth, _ in authenticated:
            w.start("operation")
            if auth is None:
                self._write_auth_failure(w, operation)
                w.end()
                continue
            self._write_auth(w, auth)
            results = [self._run(call, auth, request.uniqueid) for call in operation.functions]
            if operation.transaction and any(r.status == "failure" for r in results):
                for result in results:
                    result.errors.append(ROLLBACK_ERROR)
                    if result.status == "success":
                        result.status, result.write_data, result.raw = "aborted", None, None
            for result in results:
                if not (single and result.raw is not None):
                    self._write_result(w, result)
            outcomes.extend(results)
            w.end()
        w.end()

        self._after_queries(outcomes)
        records = sum(o.records for o in outcomes)
        if len(outcomes) == 1 and outcomes[0].raw is not None:
            content_type, body = outcomes[0].raw  # json/csv bodies come bare (PROTOCOL §3)
            return Reply(200, body, content_type, records=records, executed=True)
        return Reply(200, w.to_bytes(), records=records, executed=bool(outcomes))

    def in_band_failure(self, request: Request | None, kind: str, level: str) -> bytes:
        """An HTTP-200 outage answer (fault kinds service_offline / try_again_later).

        ``result`` level: control and authentication succeed and every function fails with the error
        (where fylein's SDK looks for "The Service is Temporarily Off-line"); ``control`` level: the
        control block fails with the error (where hotglue's tap reads the correction "Please Try Again
        Later"). No function runs. The errorno is empty: no real one was found, and both peers match on
        the text only.
        """
        if kind == "service_offline":
            error = ("", "", OFFLINE_TEXT, "")
        else:
            error = ("", "Service unavailable", TRY_AGAIN_TEXT, TRY_AGAIN_CORRECTION)
        control = request.control if request is not None else {}
        pretty = request.pretty if request is not None else False
        w = XmlWriter(pretty)
        w.start("response")
        if level == "control" or request is None:
            write_control(w, "failure", control)
            write_errors(w, [error])
            w.end()
            return w.to_bytes()
        write_control(w, "success", control)
        for operation in request.operations:
            w.start("operation")
            auth = self._peek_auth(operation)
            if auth is None:
                self._write_auth_failure_any(w, operation)
            else:
                self._write_auth(w, auth)
                for call in operation.functions:
                    w.start("result")
                    w.leaf("status", "failure")
                    w.leaf("function", call.name)
                    w.leaf("controlid", call.controlid)
                    write_errors(w, [error])
                    w.end()
            w.end()
        w.end()
        return w.to_bytes()

    def _peek_auth(self, operation: Operation) -> Auth | None:
        """Who is calling, without sliding a session's expiry (nothing runs)."""
        if operation.sessionid is not None:
            session = self.sessions.peek(operation.sessionid)
            if session is None:
                return None
            return Auth(session.userid, session.companyid, session.locationid, session)
        auth, _ = self._authenticate(operation)
        return auth

    def _write_auth_failure_any(self, w: XmlWriter, operation: Operation) -> None:
        w.start("authentication")
        w.leaf("status", "failure")
        login = operation.login
        w.leaf("userid", login.userid if login else "")
        w.leaf("companyid", login.companyid if login else "")
        w.leaf("locationid", (login.locationid or "") if login else "")
        w.end()
        write_errors(w, [("XL03000006", "", "Sign-in information is incorrect", "")])

    # ----- authentication ---------------------------------------------------------------------

    def _authenticate(self, operation: Operation) -> tuple[Auth | None, str]:
        """(auth, '') on success; (None, 'login') for bad credentials; (None, 'session') for a bad session."""
        cfg = self.config
        if operation.sessionid is not None:
            session = self.sessions.touch(operation.sessionid)
            if session is None:
                return None, "session"
            return Auth(session.userid, session.companyid, session.locationid, session), ""
        login = operation.login
        assert login is not None
        company, _, entity_suffix = login.companyid.partition("|")
        location = login.locationid or entity_suffix
        valid = (
            login.userid == cfg.user_id
            and company == cfg.company_id
            and login.password == cfg.user_password
            and (not location or self.dataset.entity(location) is not None)
        )
        if not valid:
            return None, "login"
        return Auth(login.userid, company, location or ""), ""

    def _write_auth(self, w: XmlWriter, auth: Auth) -> None:
        if auth.session is not None:
            stamp, timeout = auth.session.last_used, auth.session.expires
        else:
            stamp = time.time()
            timeout = stamp + self.config.session_seconds
        w.start("authentication")
        w.leaf("status", "success")
        w.leaf("userid", auth.userid)
        w.leaf("companyid", auth.companyid)
        w.leaf("locationid", auth.locationid)
        w.leaf("sessiontimestamp", iso_with_offset(datetime.fromtimestamp(stamp, self.tz), self.tz))
        w.leaf("sessiontimeout", iso_with_offset(datetime.fromtimestamp(timeout, self.tz), self.tz))
        w.end()

    @staticmethod
    def _write_auth_failure(w: XmlWriter, operation: Operation) -> None:
        login = operation.login
        assert login is not None
        w.start("authentication")
        w.leaf("status", "failure")
        w.leaf("userid", login.userid)
        w.leaf("companyid", login.companyid)
        w.leaf("locationid", login.locationid or "")
        w.end()
        write_errors(w, [("XL03000006", "", "Sign-in information is incorrect", "")])

    # ----- functions --------------------------------------------------------------------------

    def _run(self, call: FunctionCall, auth: Auth, uniqueid: bool) -> Outcome:
        key = (auth.companyid, call.controlid)
        if uniqueid:
            with self._ids_lock:
                duplicate = key in self._executed_ids
            if duplicate:
                outcome = Outcome(call.name, call.controlid, status="failure")
                outcome.errors.append(
                    (
                        "XL03000004",
                        "",
                        "A successful transaction has already been recorded with the control ID "
                        f"{call.controlid}.",
                        "Use a unique control ID, or set uniqueid to false.",
                    )
                )
                self.stats.transaction(call.name, 0)
                return outcome
        outcome = self.runner.run(call, auth)
        self.stats.transaction(call.name, outcome.records)
        if uniqueid and outcome.status == "success":
            with self._ids_lock:
                self._executed_ids.add(key)
        return outcome

    @staticmethod
    def _write_result(w: XmlWriter, outcome: Outcome) -> None:
        w.start("result")
        w.leaf("status", outcome.status)
        w.leaf("function", outcome.function)
        w.leaf("controlid", outcome.controlid)
        if outcome.write_data is not None:
            outcome.write_data(w)
        elif outcome.raw is not None:
            # json/csv inside a multi-function request: the bare body becomes the text of <data>.
            w.leaf("data", outcome.raw[1].decode("utf-8"))
        if outcome.errors:
            write_errors(w, outcome.errors)
        w.end()

    def _after_queries(self, outcomes: list[Outcome]) -> None:
        """Apply mutations_per_query after every N-th successful query of an object."""
        for outcome in outcomes:
            if outcome.status != "success" or outcome.function not in QUERY_FUNCTIONS or not outcome.object:
                continue
            rules = [r for r in self.config.mutations_per_query if r["object"] == outcome.object]
            if not rules:
                continue
            with self.dataset.lock:
                table = self.dataset.table(outcome.object)
                table.queries += 1
                count = table.queries
            for rule in rules:
                if count % rule["every"] == 0:
                    changed = self.dataset.mutate(
                        rule["object"], rule["inserts"], rule["updates"], rule["deletes"]
                    )
                    for kind, keys in changed.items():
                        self.stats.mutated(kind, len(keys))
