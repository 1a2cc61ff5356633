"""Helpers for the Intacct client unit tests: recorded XML responses and a scripted HTTP session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from intacct_sync.intacct import (
    ApiSession,
    IntacctClient,
    RetryPolicy,
    SenderCredentials,
    UserCredentials,
)

DATA = Path(__file__).parent / "data"

SENDER = SenderCredentials("test-sender", "S3nder-Secret!")
USER = UserCredentials("testcompany", "testuser", "Us3r-Secret!")
SESSION = ApiSession(
    session_id="SeSsIoN-SeCrEt..",
    endpoint="https://na99.intacct.com/ia/xml/xmlgw.phtml",
    expires_at=datetime.now(UTC) + timedelta(hours=1),
)
SECRETS = (SENDER.sender_password, USER.user_password, SESSION.session_id)


def data_file(name: str) -> bytes:
    """A recorded response from tests/unit/intacct/data."""
    return (DATA / name).read_bytes()


@dataclass
class Sent:
    url: str
    body: bytes
    headers: dict[str, str]
    timeout: Any


@dataclass
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/xml; encoding=UTF-8"})


class ScriptedHttp:
    """Stands in for requests.Session: answers each post() with the next scripted Reply or exception."""

    def __init__(self, *steps: Reply | BaseException | Callable[[Sent], Reply]) -> None:
        self.steps = list(steps)
        self.sent: list[Sent] = []

    def post(self, url: str, data: bytes, headers: dict[str, str], timeout: Any) -> requests.Response:
        sent = Sent(url, data, dict(headers), timeout)
        self.sent.append(sent)
        if not self.steps:
            raise AssertionError("unexpected extra HTTP request")
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        reply = step(sent) if callable(step) else step
        response = requests.Response()
        response.status_code = reply.status
        response._content = reply.body
        response.headers.update(reply.headers)
        response.url = url
        return response

    def close(self) -> None:
        pass


def xml_reply(name: str, status: int = 200) -> Reply:
    return Reply(status=status, body=data_file(name))


@dataclass
class Harness:
    client: IntacctClient
    http: ScriptedHttp
    sleeps: list[float]


def make_harness(*steps: Any, retry: RetryPolicy | None = None, **kwargs: Any) -> Harness:
    """A client whose HTTP answers are scripted; sleeps are recorded instead of slept."""
    http = ScriptedHttp(*steps)
    sleeps: list[float] = []
    client = IntacctClient(
        SENDER,
        gateway_url="https://api.intacct.com/ia/xml/xmlgw.phtml",
        retry=retry or RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05),
        http=http,  # type: ignore[arg-type]
        sleep=sleeps.append,
        **kwargs,
    )
    return Harness(client, http, sleeps)
