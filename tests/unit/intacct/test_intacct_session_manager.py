"""SessionManager: reuse while valid, log in when needed, re-login exactly once on a refused session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intacct_sync.intacct import ApiSession, AuthenticationError, SessionExpiredError, SessionManager
from tests.unit.intacct.intacct_unit_support import USER

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def session(name: str, minutes_left: float) -> ApiSession:
    return ApiSession(
        name, "https://na1.intacct.com/ia/xml/xmlgw.phtml", NOW + timedelta(minutes=minutes_left)
    )


class FakeClient:
    def __init__(self, *sessions: ApiSession | Exception) -> None:
        self.sessions = list(sessions)
        self.logins = 0

    def get_api_session(self, user: object) -> ApiSession:
        self.logins += 1
        item = self.sessions.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class MemoryCache:
    def __init__(self, stored: ApiSession | None = None) -> None:
        self.stored = stored
        self.puts: list[ApiSession] = []

    def get(self, *, fresh: bool = False) -> ApiSession | None:
        return self.stored

    def put(self, value: ApiSession) -> None:
        self.stored = value
        self.puts.append(value)


def manager(client: FakeClient, cache: MemoryCache | None = None, margin: float = 5) -> SessionManager:
    return SessionManager(
        lambda deadline: client.get_api_session(USER),
        cache=cache,
        refresh_margin=timedelta(minutes=margin),
        clock=lambda: NOW,
    )


def test_logs_in_once_and_reuses_the_session() -> None:
    client = FakeClient(session("s1", 60))
    cache = MemoryCache()
    m = manager(client, cache)
    assert m.session().session_id == "s1"
    assert m.session().session_id == "s1"
    assert client.logins == 1
    assert [s.session_id for s in cache.puts] == ["s1"]


def test_uses_a_valid_cached_session_without_logging_in() -> None:
    client = FakeClient()
    m = manager(client, MemoryCache(session("cached", 30)))
    assert m.session().session_id == "cached"
    assert client.logins == 0


def test_a_cached_session_inside_the_margin_is_replaced() -> None:
    client = FakeClient(session("fresh", 60))
    cache = MemoryCache(session("old", 4))
    m = manager(client, cache, margin=5)
    assert m.session().session_id == "fresh"
    assert cache.stored is not None and cache.stored.session_id == "fresh"


def test_refresh_forces_a_login() -> None:
    client = FakeClient(session("s1", 60), session("s2", 60))
    m = manager(client)
    m.session()
    assert m.refresh().session_id == "s2"
    assert m.session().session_id == "s2"
    assert client.logins == 2


def test_call_relogs_in_once_on_a_refused_session() -> None:
    client = FakeClient(session("s1", 60), session("s2", 60))
    cache = MemoryCache()
    m = manager(client, cache)
    seen: list[str] = []

    def fn(s: ApiSession) -> str:
        seen.append(s.session_id)
        if s.session_id == "s1":
            raise SessionExpiredError("XMLGW_JPP0002", "expired", http_status=401)
        return "ok"

    assert m.call(fn) == "ok"
    assert seen == ["s1", "s2"]
    assert client.logins == 2
    assert [s.session_id for s in cache.puts] == ["s1", "s2"]


def test_a_second_refusal_is_raised() -> None:
    client = FakeClient(session("s1", 60), session("s2", 60), session("s3", 60))
    m = manager(client)
    calls: list[str] = []

    def fn(s: ApiSession) -> None:
        calls.append(s.session_id)
        raise SessionExpiredError("XL03000006", "Sign-in information is incorrect")

    with pytest.raises(SessionExpiredError):
        m.call(fn)
    assert calls == ["s1", "s2"]
    assert client.logins == 2


def test_other_errors_are_not_retried() -> None:
    client = FakeClient(session("s1", 60))
    m = manager(client)
    calls = []

    def fn(s: ApiSession) -> None:
        calls.append(s)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        m.call(fn)
    assert len(calls) == 1


def test_login_failure_propagates() -> None:
    client = FakeClient(AuthenticationError("XL03000006", "Sign-in information is incorrect"))
    with pytest.raises(AuthenticationError):
        manager(client).session()


def test_seconds_left_and_utc_normalisation() -> None:
    from datetime import timezone

    s = ApiSession(
        "x", "https://a.intacct.com/", datetime(2026, 1, 1, 4, 0, tzinfo=timezone(timedelta(hours=-8)))
    )
    assert s.expires_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert s.expires_at.tzinfo == UTC
    assert s.seconds_left(NOW - timedelta(seconds=90)) == 90
    with pytest.raises(ValueError, match="timezone-aware"):
        ApiSession("x", "https://a.intacct.com/", datetime(2026, 1, 1))


def test_workers_meeting_an_expired_session_log_in_once_between_them() -> None:
    # Given two workers (two functions) sharing one cache, both holding session "old"
    old, new = session("old", 60), session("new", 60)
    cache = MemoryCache(old)
    first_client, second_client = FakeClient(new), FakeClient()
    first, second = manager(first_client, cache), manager(second_client, cache)
    assert first.session() is old and second.session() is old

    def refuse_old(s: ApiSession) -> str:
        if s.session_id == "old":
            raise SessionExpiredError("XMLGW_JPP0002", "expired", http_status=401)
        return s.session_id

    # When Intacct refuses "old" to both, one after the other
    assert first.call(refuse_old) == "new"
    assert second.call(refuse_old) == "new"
    # Then the first logged in and the second took its session from the cache
    assert (first_client.logins, second_client.logins) == (1, 0)
    assert cache.puts == [new]
