"""The tenant's Intacct, as the export steps use it: a valid session per entity, at most the tenant's
concurrency in flight, and every call's transactions billed to a run and the month.

Built once per execution environment by the wiring (``runtime``); the steps see it through the narrow
``steps.ports.Intacct`` protocol.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cached_property
from typing import Any, TypeVar

from intacct_sync.adapters.secrets import load_credentials
from intacct_sync.adapters.session_cache import SsmSessionCache
from intacct_sync.adapters.state_table import StateTable, TenantSemaphore
from intacct_sync.export.ledger import BatchedLedger
from intacct_sync.export.pages import FINISH_SECONDS, page_reserve_ms
from intacct_sync.intacct import (
    ApiSession,
    AuthenticationError,
    ControlError,
    FieldInfo,
    FunctionError,
    IntacctClient,
    Query,
    QueryPage,
    RemainingMs,
    RetryPolicy,
    SenderCredentials,
    SessionManager,
    Timeouts,
    UnreadableFormattingError,
    UserCredentials,
    UserFormatting,
    ge,
)
from intacct_sync.observability import logger
from intacct_sync.settings import Settings

T = TypeVar("T")
Recorder = Callable[[str, int], None]  # (run id, transactions): charges one call's transactions
# A timestamp valid only in the documented filter form (see TenantIntacct._filter_dates).
PROBE_VALUE = "12/31/1999 23:59:59"


@dataclass
class PageCalls:
    """A page Task's calls: one tenant slot held throughout, transactions and progress written in batches.

    ``query`` runs one charged query; ``progress`` is the sink for pages landed; ``remaining_ms`` is the
    time left (the Lambda's deadline or the slot's lease, whichever is sooner); no page starts with less
    than ``reserve_ms`` left, the longest one attempt of a page can take, so a Task ends within its
    Lambda's timeout by construction.
    """

    query: Callable[[Query, Callable[[bytes], None] | None], QueryPage]
    progress: BatchedLedger
    remaining_ms: Callable[[], int]
    reserve_ms: int


class TenantIntacct:
    """Calls Intacct for one tenant: sessions per entity (cached in SSM), the tenant semaphore, billing."""

    def __init__(self, settings: Settings, secrets: Any, ssm: Any, state: StateTable, dynamodb: Any) -> None:
        self._settings = settings
        self._secrets = secrets
        self._ssm = ssm
        self._state = state
        self._dynamodb = dynamodb
        self._managers: dict[str, SessionManager] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------------------------- wiring

    @cached_property
    def semaphore(self) -> TenantSemaphore:
        return TenantSemaphore(
            self._dynamodb,
            self._settings.state_table,
            tenant="intacct",
            limit=self._settings.tenant_concurrency,
            lease_seconds=self._settings.lease_seconds,
        )

    @cached_property
    def _credentials(self) -> tuple[SenderCredentials, UserCredentials]:
        """Read from Secrets Manager on first use, then kept for the execution environment's life."""
        return load_credentials(self._secrets, self._settings.credentials_secret_id)

    def check_credentials(self) -> None:
        """Read the credentials secret (no call to Intacct): CredentialsError naming what is missing when
        it cannot be used yet, e.g. the empty secret the stack created and nobody has filled in."""
        self._credentials  # noqa: B018  (read, and kept, as every call will)

    @cached_property
    def client(self) -> IntacctClient:
        settings = self._settings
        return IntacctClient(
            self._credentials[0],
            gateway_url=settings.gateway_url,
            retry=RetryPolicy(
                max_attempts=settings.retry_max_attempts, base_delay=settings.retry_base_delay_ms / 1000
            ),
            timeouts=Timeouts(read=settings.read_timeout_seconds),
        )

    def sessions(self, entity: str | None = None) -> SessionManager:
        """The session manager for the top level or one entity (each has its own cached session)."""
        key = entity or ""
        with self._lock:
            if key not in self._managers:
                user = replace(self._credentials[1], entity_id=entity) if entity else self._credentials[1]
                client = self.client
                name = self._settings.session_parameter_name + (f"-{entity}" if entity else "")
                cache = SsmSessionCache(self._ssm, name, self._settings.session_cache_max_age_seconds)
                self._managers[key] = SessionManager(
                    lambda deadline: self._login(client, user, deadline),
                    cache=cache,
                    refresh_margin=timedelta(seconds=self._settings.session_refresh_margin_seconds),
                )
            return self._managers[key]

    def _login(self, client: IntacctClient, user: UserCredentials, deadline: float | None) -> ApiSession:
        """``getAPISession``, then the API user's date and time preferences and the form filter values take,
        kept with the session (read once per session, cached with it in SSM)."""
        session = client.get_api_session(user, deadline)
        formatting = client.user_formatting(session, user.user_id, deadline)
        filter_dates = self._filter_dates(client, session, formatting, deadline)
        return replace(session, formatting=formatting, filter_dates=filter_dates)

    def _filter_dates(
        self, client: IntacctClient, session: ApiSession, formatting: UserFormatting, deadline: float | None
    ) -> str:
        """``standard`` when filter values take ``MM/DD/YYYY HH:MM:SS``, ``user`` when they take the user's
        own format. Not documented (docs/intacct/PROTOCOL.md §9), so unless the FilterDateFormat setting says,
        it is asked once per session, only when the two differ: a filter with a value valid only in the
        standard form (``12/31/1999 23:59:59``: month 31 and hour 23 exist in no other format) either runs
        (standard) or is refused as an invalid date (user). One transaction, for tenants whose user is not
        ``/mdY`` with a 24-hour clock."""
        chosen = self._settings.filter_date_format
        if chosen != "auto":
            return chosen
        try:
            if formatting.date_format.is_standard:
                return "standard"
        except UnreadableFormattingError:
            return "standard"  # refused when an export starts, naming the preference to change
        probe = Query(
            object="USERINFO",
            fields=("RECORDNO",),
            filter=ge("WHENMODIFIED", PROBE_VALUE),
            page_size=1,
        )
        try:
            client.query(session, probe, None, deadline)
        except FunctionError as exc:
            if "date" not in str(exc).lower():
                logger.warning(
                    "could not tell how filter dates are read; using the documented MM/DD/YYYY form",
                    extra={"errorno": exc.errorno},
                )
                return "standard"
            return "user"
        return "standard"

    # ---------------------------------------------------------------------------------- calls

    def session(
        self, run_id: str | None, entity: str | None, remaining_ms: RemainingMs
    ) -> tuple[ApiSession, bool]:
        """A valid session for the entity (a login only when none is cached), and whether it logged in."""
        before = self.client.total_transactions
        session = self.charged(run_id, entity, lambda s, deadline: s, remaining_ms)
        return session, self.client.total_transactions > before

    def query(self, run_id: str, entity: str | None, query: Query, remaining_ms: RemainingMs) -> QueryPage:
        """One ``query`` under a tenant slot, billed to the run, done within the invocation's time."""
        return self.charged(
            run_id, entity, lambda s, deadline: self.client.query(s, query, None, deadline), remaining_ms
        )

    def lookup(
        self, run_id: str, entity: str | None, object_name: str, remaining_ms: RemainingMs
    ) -> list[FieldInfo]:
        """The object's fields (``lookup``), billed to the run."""
        return self.charged(
            run_id, entity, lambda s, deadline: self.client.lookup(s, object_name, deadline), remaining_ms
        )

    @property
    def page_reserve_ms(self) -> int:
        """The longest one attempt of one page can take with this client, plus landing it
        (``export.pages.page_reserve_ms``)."""
        return page_reserve_ms(self.client.timeouts)

    @contextmanager
    def page_calls(self, run_id: str, entity: str | None, remaining_ms: RemainingMs) -> Iterator[PageCalls]:
        """A page Task's calls (``PageCalls``): one slot for the whole Task, since its pages are sequential
        (one call in flight), so it need not claim and release a slot, two DynamoDB writes, between pages;
        nor does a page wait for the ledger writes of the previous one (all are made before the block ends;
        the first failure is raised then). Time left is bounded by the slot's lease too, so the slot is
        never held past it."""
        reserve = self.page_reserve_ms
        ledger = BatchedLedger(self._state.record_run)
        try:
            # Wait for a slot only while a page could still be fetched after it.
            with self.semaphore.slot(max_wait=max(0.0, (remaining_ms() - reserve) / 1000)):
                lease_ends = time.monotonic() + self._settings.lease_seconds

                def left() -> int:
                    return min(remaining_ms(), int((lease_ends - time.monotonic()) * 1000))

                yield PageCalls(
                    query=lambda query, peek: self.charged(
                        run_id,
                        entity,
                        lambda s, deadline: self.client.query(s, query, peek, deadline),
                        left,
                        slot_held=True,
                        record=ledger.record,
                    ),
                    progress=ledger,
                    remaining_ms=left,
                    reserve_ms=reserve,
                )
        except BaseException:
            ledger.close()  # written as far as it can be; the Task's own error is the one to raise
            raise
        failed = ledger.close()
        if failed is not None:
            raise failed

    def charged(
        self,
        run_id: str | None,
        entity: str | None,
        call: Callable[[ApiSession, float], T],
        remaining_ms: RemainingMs,
        *,
        slot_held: bool = False,
        record: Recorder | None = None,
    ) -> T:
        """Run one Intacct call with a valid session under a tenant concurrency slot, and charge the
        transactions it used (logins included) to the run and the month. ``call(session, deadline)``
        must be done by ``deadline`` (``time.monotonic()`` seconds): the invocation's time left less what
        it needs to finish. With ``slot_held`` the caller already holds a slot; ``record`` replaces the
        ledger write the call would otherwise wait for.

        When Intacct refuses the login (AuthenticationError) or the sender (a ControlError), the credentials
        secret is read again, once: after a rotation a warm function would otherwise keep using the old
        password until it is recycled."""
        try:
            return self._charged_once(run_id, entity, call, remaining_ms, slot_held, record)
        except (AuthenticationError, ControlError):
            if not self._reload_credentials():
                raise
            logger.info("the credentials secret has changed; logging in with the new credentials")
            return self._charged_once(run_id, entity, call, remaining_ms, slot_held, record)

    def _reload_credentials(self) -> bool:
        """Read the secret again; when it changed, drop the client and sessions built from the old one."""
        fresh = load_credentials(self._secrets, self._settings.credentials_secret_id)
        with self._lock:
            if fresh == self._credentials:
                return False
            self.__dict__["_credentials"] = fresh
            self.__dict__.pop("client", None)
            self._managers.clear()
        return True

    def _charged_once(
        self,
        run_id: str | None,
        entity: str | None,
        call: Callable[[ApiSession, float], T],
        remaining_ms: RemainingMs,
        slot_held: bool,
        record: Recorder | None,
    ) -> T:
        with self.client.transaction_tally() as tally:
            try:
                slot = nullcontext() if slot_held else self.semaphore.slot(max_wait=remaining_ms() / 2000)
                with slot:
                    deadline = time.monotonic() + remaining_ms() / 1000 - FINISH_SECONDS
                    return self.sessions(entity).call(lambda s: call(s, deadline), deadline)
            finally:
                (record or self._state.record_transactions)(run_id or "no-run", tally.total)
