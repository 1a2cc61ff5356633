"""Login, the endpoint switch, and session expiry against the simulator over real HTTP."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from intacct_sim import Simulator
from intacct_sync.intacct import (
    ApiSession,
    AuthenticationError,
    ControlError,
    IntacctClient,
    Query,
    RetryPolicy,
    SenderCredentials,
    SessionExpiredError,
    SessionManager,
    TransportError,
    UserCredentials,
)
from tests.integration.intacct.conftest import SIM_USER, RecordingSession

QUERY = Query("CUSTOMER", ("RECORDNO",), page_size=1)


class MemoryCache:
    def __init__(self) -> None:
        self.stored: ApiSession | None = None
        self.puts = 0

    def get(self, *, fresh: bool = False) -> ApiSession | None:
        return self.stored

    def put(self, value: ApiSession) -> None:
        self.stored = value
        self.puts += 1


def test_login_returns_a_session_with_the_configured_lifetime(client: IntacctClient, sim: Simulator) -> None:
    sim.configure(session_seconds=600)
    session = client.get_api_session(SIM_USER)
    assert session.session_id.endswith("..")
    assert session.endpoint == sim.url
    assert session.location_id is None
    assert 590 <= session.seconds_left(datetime.now(UTC)) <= 601
    assert sim.stats()["sessions_created"] == 1
    assert client.transactions == {"getAPISession": 1}


def test_calls_after_login_go_to_the_returned_endpoint(
    client: IntacctClient, sim: Simulator, http: RecordingSession
) -> None:
    # Given getAPISession hands out an endpoint different from the gateway URL
    endpoint = sim.url + "?shard=na99"
    sim.configure(endpoint_url=endpoint)
    session = client.get_api_session(SIM_USER)
    assert session.endpoint == endpoint
    # When the client queries
    client.query(session, QUERY)
    # Then the login went to the gateway and the query to the session's endpoint
    assert http.urls == [sim.url, endpoint]


def test_an_unreachable_session_endpoint_is_not_silently_replaced(
    client: IntacctClient, sim: Simulator
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    sim.configure(endpoint_url=f"http://127.0.0.1:{dead_port}/ia/xml/xmlgw.phtml")
    session = client.get_api_session(SIM_USER)
    with pytest.raises(TransportError) as info:
        client.query(session, QUERY)
    assert info.value.errorno == "CONNECTION"
    assert sim.stats()["transactions_by_function"].get("query", 0) == 0


def test_entity_login_sets_the_location(client: IntacctClient) -> None:
    session = client.get_api_session(UserCredentials("SIMCO", "sim-user", "sim-user-pw", entity_id="US"))
    assert session.location_id == "US"


def test_bad_sender_password_is_a_control_error(sim: Simulator) -> None:
    client = IntacctClient(
        SenderCredentials("intacct-sim", "wrong"), gateway_url=sim.url, retry=RetryPolicy()
    )
    with pytest.raises(ControlError) as info:
        client.get_api_session(SIM_USER)
    assert str(info.value) == "XL03000006: Incorrect Intacct XML Partner ID or password."
    stats = sim.stats()
    assert stats["http_requests"] == 1 and stats["transactions"] == 0


@pytest.mark.parametrize(
    "user",
    [
        UserCredentials("SIMCO", "sim-user", "wrong-password"),
        UserCredentials("OTHERCO", "sim-user", "sim-user-pw"),
        UserCredentials("SIMCO", "sim-user", "sim-user-pw", entity_id="NOPE"),
    ],
    ids=["password", "company", "entity"],
)
def test_bad_login_is_an_authentication_error_and_not_retried(
    client: IntacctClient, sim: Simulator, user: UserCredentials
) -> None:
    with pytest.raises(AuthenticationError) as info:
        client.get_api_session(user)
    assert str(info.value) == "XL03000006: Sign-in information is incorrect"
    assert "wrong-password" not in repr(info.value)
    assert sim.stats()["http_requests"] == 1
    assert client.total_transactions == 0


def test_an_expired_session_is_refused_with_session_expired_error(
    client: IntacctClient, sim: Simulator, session: ApiSession
) -> None:
    assert sim.expire_sessions() == 1
    with pytest.raises(SessionExpiredError) as info:
        client.query(session, QUERY)
    assert info.value.errorno == "XMLGW_JPP0002"
    assert info.value.http_status == 401
    assert session.session_id not in str(info.value) + repr(info.value)


def test_session_manager_logs_in_again_once_and_succeeds(client: IntacctClient, sim: Simulator) -> None:
    cache = MemoryCache()
    manager = SessionManager(lambda deadline: client.get_api_session(SIM_USER, deadline), cache=cache)
    first = manager.session()
    sim.reset_stats()
    sim.expire_sessions()
    page = manager.call(lambda s: client.query(s, QUERY))
    assert page.count == 1
    stats = sim.stats()
    assert stats["sessions_created"] == 1  # exactly one re-login
    assert stats["transactions_by_function"] == {"getAPISession": 1, "query": 1}
    assert stats["responses_by_status"] == {"401": 1, "200": 2}
    assert cache.puts == 2 and cache.stored is not None
    assert cache.stored.session_id != first.session_id


def test_session_manager_raises_when_the_new_session_is_refused_too(
    client: IntacctClient, sim: Simulator
) -> None:
    manager = SessionManager(lambda deadline: client.get_api_session(SIM_USER, deadline))
    manager.session()

    def expire_then_query(s: ApiSession) -> object:
        sim.expire_sessions()  # every session dies just before the call
        return client.query(s, QUERY)

    with pytest.raises(SessionExpiredError):
        manager.call(expire_then_query)
    assert sim.stats()["sessions_created"] == 2  # the first login and exactly one retry


def test_a_session_that_times_out_is_renewed(client: IntacctClient, sim: Simulator) -> None:
    sim.configure(session_seconds=0.5)
    manager = SessionManager(
        lambda deadline: client.get_api_session(SIM_USER, deadline), refresh_margin=timedelta(0)
    )
    manager.session()
    time.sleep(0.7)
    assert manager.call(lambda s: client.query(s, QUERY)).count == 1
    assert sim.stats()["sessions_created"] == 2
