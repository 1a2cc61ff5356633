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
    session, refreshed = intacct.session(ref.run_id, run.spec.entity, remaining_ms)
    return SessionReady(expires_at=session.expires_at.isoformat(), refreshed=refreshed)
