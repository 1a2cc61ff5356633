"""Get API session: make sure a valid session is cached for the run's entity before pages fan out."""

from __future__ import annotations

from intacct_sync.export.payloads import RunRef, SessionReady
from intacct_sync.steps.ports import Intacct, Store
from intacct_sync.steps.runs import load_run


def get_session(store: Store, intacct: Intacct, ref: RunRef) -> SessionReady:
    """A valid session for the run's entity (``getAPISession`` only when none is cached or it is about to
    expire); its expiry only, never the session id."""
    run = load_run(store, ref.run_id)
    session, refreshed = intacct.session(ref.run_id, run.spec.entity)
    return SessionReady(expires_at=session.expires_at.isoformat(), refreshed=refreshed)
