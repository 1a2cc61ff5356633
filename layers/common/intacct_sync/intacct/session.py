"""API sessions: the value returned by ``getAPISession``, a cache protocol, and the manager that logs in
again once when a session is refused."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from .errors import SessionExpiredError
from .formatting import UserFormatting

T = TypeVar("T")


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiSession:
    """A session id, the endpoint it is tied to, and when it is projected to expire.

    ``repr()``/``str()`` never show the session id. ``expires_at`` is timezone-aware (UTC). A session
    logged in by the tenant also carries the API user's date and time preferences (``formatting``) and how
    filter values must be written (``filter_dates``: ``standard`` or ``user``), read once per session.
    """

    session_id: str = field(repr=False)
    endpoint: str
    expires_at: datetime
    location_id: str | None = None
    formatting: UserFormatting | None = None
    filter_dates: str | None = None

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None or self.expires_at.utcoffset() is None:
            raise ValueError("ApiSession.expires_at must be timezone-aware")
        if self.expires_at.utcoffset() != timedelta(0):
            object.__setattr__(self, "expires_at", self.expires_at.astimezone(UTC))

    def seconds_left(self, now: datetime | None = None) -> float:
        """Seconds until ``expires_at`` (negative once expired)."""
        return (self.expires_at - (now or utc_now())).total_seconds()

    def to_cache_dict(self) -> dict[str, Any]:
        """A JSON-ready dict for an encrypted store (it contains the session id)."""
        return {
            "session_id": self.session_id,
            "endpoint": self.endpoint,
            "expires_at": self.expires_at.isoformat(),
            "location_id": self.location_id,
            "formatting": self.formatting.to_dict() if self.formatting else None,
            "filter_dates": self.filter_dates,
        }

    @classmethod
    def from_cache_dict(cls, data: Mapping[str, Any]) -> ApiSession:
        """The inverse of ``to_cache_dict``; raises ``ValueError``/``KeyError``/``TypeError`` when corrupt."""
        session_id = data["session_id"]
        endpoint = data["endpoint"]
        location_id = data.get("location_id")
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("cached session has no session_id")
        if not isinstance(endpoint, str) or not endpoint:
            raise ValueError("cached session has no endpoint")
        if location_id is not None and not isinstance(location_id, str):
            raise TypeError("cached session location_id must be a string")
        expires_at = datetime.fromisoformat(str(data["expires_at"]))
        formatting = data.get("formatting")
        filter_dates = data.get("filter_dates")
        return cls(
            session_id=session_id,
            endpoint=endpoint,
            expires_at=expires_at,
            location_id=location_id,
            formatting=UserFormatting.from_dict(formatting) if isinstance(formatting, dict) else None,
            filter_dates=filter_dates if filter_dates in ("standard", "user") else None,
        )


class SessionCache(Protocol):
    """Where a session is shared between invocations (e.g. an SSM SecureString)."""

    def get(self, *, fresh: bool = False) -> ApiSession | None:
        """The stored session; `fresh` bypasses any local copy (another worker may have replaced it)."""
        ...

    def put(self, session: ApiSession) -> None: ...


class SessionManager:
    """Hands out a valid session and logs in again (once) when Intacct refuses it.

    A session is reused while more than ``refresh_margin`` of its projected life is left; it is looked up
    in memory first, then in ``cache``; a new one comes from ``login`` (e.g.
    ``lambda deadline: client.get_api_session(user, deadline)``) and is stored with ``cache.put``.
    ``deadline`` (``time.monotonic()`` seconds, or None) bounds a login's retries.
    """

    def __init__(
        self,
        login: Callable[[float | None], ApiSession],
        *,
        cache: SessionCache | None = None,
        refresh_margin: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._login = login
        self._cache = cache
        self._margin = refresh_margin.total_seconds()
        self._clock = clock
        self._current: ApiSession | None = None
        self._lock = threading.RLock()

    def _usable(self, session: ApiSession | None) -> bool:
        return session is not None and session.seconds_left(self._clock()) > self._margin

    def session(self, deadline: float | None = None) -> ApiSession:
        """The in-memory or cached session while it has more than the margin left, else a new login."""
        with self._lock:
            if self._usable(self._current):
                assert self._current is not None
                return self._current
            if self._cache is not None:
                cached = self._cache.get()
                if cached is not None and self._usable(cached):
                    self._current = cached
                    return cached
            return self.refresh(deadline)

    def refresh(self, deadline: float | None = None) -> ApiSession:
        """Log in now (even if the current session looks valid) and store the new session."""
        with self._lock:
            fresh = self._login(deadline)
            self._current = fresh
            if self._cache is not None:
                self._cache.put(fresh)
            return fresh

    def call(self, fn: Callable[[ApiSession], T], deadline: float | None = None) -> T:
        """Run ``fn(session)``; if the session is refused, log in again once and run it again.

        A second ``SessionExpiredError`` is raised to the caller.
        """
        session = self.session(deadline)
        try:
            return fn(session)
        except SessionExpiredError:
            return fn(self._replacement(session, deadline))

    def _replacement(self, refused: ApiSession, deadline: float | None) -> ApiSession:
        """A session to use instead of a refused one: one that another caller (a thread here, or another
        function through the cache) already obtained, else a new login. Workers that meet an expired
        session together so log in once, not once each."""
        with self._lock:
            current = self._current
            if current is not None and current.session_id != refused.session_id and self._usable(current):
                return current
            if self._cache is not None:
                cached = self._cache.get(fresh=True)
                if cached is not None and cached.session_id != refused.session_id and self._usable(cached):
                    self._current = cached
                    return cached
            return self.refresh(deadline)
