"""API sessions with sliding expiry (PROTOCOL §2)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Session:
    """A session bound to company, user and entity ('' = top level)."""

    sessionid: str
    userid: str
    companyid: str
    locationid: str
    last_used: float
    expires: float


class SessionStore:
    """Thread-safe session registry; ``duration`` is read on every touch so config changes apply."""

    def __init__(self, duration: Callable[[], float]) -> None:
        self._duration = duration
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, userid: str, companyid: str, locationid: str) -> Session:
        """New session id ending in ``..`` like Intacct's."""
        now = time.time()
        session = Session(
            sessionid=secrets.token_urlsafe(30).replace("-", "x").replace("_", "y") + "..",
            userid=userid,
            companyid=companyid,
            locationid=locationid,
            last_used=now,
            expires=now + self._duration(),
        )
        with self._lock:
            self._sessions[session.sessionid] = session
        return session

    def touch(self, sessionid: str) -> Session | None:
        """The live session (its expiry slid to now + duration), or None if unknown or expired."""
        now = time.time()
        with self._lock:
            session = self._sessions.get(sessionid)
            if session is None:
                return None
            if session.expires <= now:
                del self._sessions[sessionid]
                return None
            session.last_used = now
            session.expires = now + self._duration()
            return session

    def peek(self, sessionid: str) -> Session | None:
        """The live session without touching its expiry."""
        with self._lock:
            session = self._sessions.get(sessionid)
            if session is None or session.expires <= time.time():
                return None
            return session

    def expire_all(self) -> int:
        """Forget every session; returns how many there were."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count
