"""Wiring: settings + AWS adapters + the Intacct client, built once per execution environment."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cached_property
from typing import TypeVar

from intacct_sync.adapters.aws import AwsClients
from intacct_sync.adapters.events import ExportEvents
from intacct_sync.adapters.export_data import ExportData
from intacct_sync.adapters.secrets import load_credentials
from intacct_sync.adapters.session_cache import SsmSessionCache
from intacct_sync.adapters.state_table import BatchedLedger, TenantSemaphore
from intacct_sync.intacct import (
    ApiSession,
    AuthenticationError,
    ControlError,
    IntacctClient,
    Query,
    QueryPage,
    RetryPolicy,
    SenderCredentials,
    SessionManager,
    Timeouts,
    UserCredentials,
)
from intacct_sync.observability import logger
from intacct_sync.settings import Settings

T = TypeVar("T")
Recorder = Callable[[str, int], None]  # (run id, transactions): charges one call's transactions


@dataclass
class Runtime(ExportData):
    """Everything a handler needs; build with Runtime.from_env() at module load (cold start)."""

    settings: Settings
    aws: AwsClients
    _managers: dict[str, SessionManager] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_env(cls) -> Runtime:
        return cls(Settings.from_env(), AwsClients())

    @cached_property
    def events(self) -> ExportEvents:
        return ExportEvents(self.aws.events, self.settings.event_bus_name)

    @cached_property
    def semaphore(self) -> TenantSemaphore:
        return TenantSemaphore(
            self.aws.dynamodb,
            self.settings.state_table,
            tenant="intacct",
            limit=self.settings.tenant_concurrency,
            lease_seconds=self.settings.lease_seconds,
        )

    @cached_property
    def _credentials(self) -> tuple[SenderCredentials, UserCredentials]:
        """Read from Secrets Manager on first use, then kept for the execution environment's life."""
        return load_credentials(self.aws.secrets, self.settings.credentials_secret_id)

    @cached_property
    def client(self) -> IntacctClient:
        settings = self.settings
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
                name = self.settings.session_parameter_name + (f"-{entity}" if entity else "")
                cache = SsmSessionCache(self.aws.ssm, name, self.settings.session_cache_max_age_seconds)
                self._managers[key] = SessionManager(
                    self.client,
                    user,
                    cache=cache,
                    refresh_margin=timedelta(seconds=self.settings.session_refresh_margin_seconds),
                )
            return self._managers[key]

    def charged(
        self,
        run_id: str | None,
        entity: str | None,
        call: Callable[[ApiSession], T],
        *,
        slot_held: bool = False,
        record: Recorder | None = None,
    ) -> T:
        """Run one Intacct call with a valid session under a tenant concurrency slot, and charge the
        transactions it used (logins included) to the run and the month. With ``slot_held`` the caller
        already holds a slot for a sequence of calls (a page Task) and no other is claimed; ``record``
        (from ``ledger_in_background``) replaces the ledger write the call would otherwise wait for.

        When Intacct refuses the login (AuthenticationError) or the sender (a ControlError), the credentials
        secret is read again, once: after a rotation a warm function would otherwise keep using the old
        password until it is recycled."""
        try:
            return self._charged_once(run_id, entity, call, slot_held, record)
        except (AuthenticationError, ControlError):
            if not self._reload_credentials():
                raise
            logger.info("the credentials secret has changed; logging in with the new credentials")
            return self._charged_once(run_id, entity, call, slot_held, record)

    def _reload_credentials(self) -> bool:
        """Read the secret again; when it changed, drop the client and sessions built from the old one."""
        fresh = load_credentials(self.aws.secrets, self.settings.credentials_secret_id)
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
        call: Callable[[ApiSession], T],
        slot_held: bool,
        record: Recorder | None,
    ) -> T:
        with self.client.transaction_tally() as tally:
            try:
                with nullcontext() if slot_held else self.semaphore.slot():
                    return self.sessions(entity).call(call)
            finally:
                (record or self.state.record_transactions)(run_id or "no-run", tally.total)

    def charged_query(
        self,
        run_id: str,
        entity: str | None,
        query: Query,
        *,
        slot_held: bool = False,
        record: Recorder | None = None,
        peek: Callable[[bytes], None] | None = None,
    ) -> QueryPage:
        return self.charged(
            run_id,
            entity,
            lambda session: self.client.query(session, query, peek),
            slot_held=slot_held,
            record=record,
        )

    @contextmanager
    def ledger_in_background(self) -> Iterator[BatchedLedger]:
        """The run's counters for a page Task: ``.record`` for ``charged`` and the ledger itself as the
        progress sink, written from a background thread, batched (adapters.state_table.BatchedLedger), so
        a page Task's next Intacct call never waits for them. Everything has been written when the block
        ends (the first failure is raised then)."""
        ledger = BatchedLedger(self.state.record_run)
        try:
            yield ledger
        except BaseException:
            ledger.close()  # written as far as it can be; the Task's own error is the one to raise
            raise
        failed = ledger.close()
        if failed is not None:
            raise failed
