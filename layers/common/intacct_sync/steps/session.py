"""Get API session: make sure a valid session is cached for the run's entity before pages fan out."""

from __future__ import annotations

from intacct_sync.export.payloads import RunRef, SessionReady
from intacct_sync.intacct import RETRYABLE_BY_THE_WORKFLOW
from intacct_sync.steps.ports import Intacct, RemainingMs, Store
from intacct_sync.steps.runs import load_run

# Failures a Step Functions Retry of this step may fix (the ASL's Retry names exactly these, plus Lambda's
# own service errors): those of any Intacct call, once the client has spent its own budget.
TRANSIENT_ERRORS = RETRYABLE_BY_THE_WORKFLOW


def get_session(store: Store, intacct: Intacct, ref: RunRef, remaining_ms: RemainingMs) -> SessionReady:
    """A valid session for the run's entity (``getAPISession`` only when none is cached or it is about to
    expire); its expiry only, never the session id."""
    run = load_run(store, ref.run_id)
    return session_ready(intacct, ref.run_id, run.spec.entity, remaining_ms)


def session_ready(
    intacct: Intacct, run_id: str, entity: str | None, remaining_ms: RemainingMs
) -> SessionReady:
    """A valid session for ``entity`` cached for every later call (a login only when none is cached or it
    is about to expire, billed to ``run_id``); its expiry only. The sync's first step uses it too, so a
    sync signs in once before its exports start. AuthenticationError when Intacct refuses the login."""
    session, refreshed = intacct.session(run_id, entity, remaining_ms)
    return SessionReady(expires_at=session.expires_at.isoformat(), refreshed=refreshed)
