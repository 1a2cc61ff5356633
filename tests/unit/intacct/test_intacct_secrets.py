"""No password or session id in any repr, exception message, exception chain or log line."""

from __future__ import annotations

import logging
import pickle
import traceback

import pytest
import requests

from intacct_sync.intacct import (
    ApiSession,
    ControlError,
    CredentialsError,
    FunctionError,
    IntacctClient,
    IntacctError,
    Query,
    SessionExpiredError,
    TransportError,
    UserCredentials,
    credentials_from_env,
    credentials_from_mapping,
    credentials_mapping,
)
from tests.unit.intacct.intacct_unit_support import (
    SECRETS,
    SENDER,
    SESSION,
    USER,
    Reply,
    make_harness,
    xml_reply,
)

QUERY = Query("CUSTOMER", ("RECORDNO",))


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_reprs_hide_passwords_and_session_ids() -> None:
    assert_no_secret(repr(SENDER) + str(SENDER))
    assert_no_secret(repr(USER) + str(USER))
    assert_no_secret(repr(SESSION) + str(SESSION))
    assert "sender_id='test-sender'" in repr(SENDER)
    assert "endpoint='https://na99.intacct.com/ia/xml/xmlgw.phtml'" in repr(SESSION)
    client = IntacctClient(SENDER)
    assert_no_secret(repr(client))


def test_error_fields_echoing_a_secret_are_scrubbed() -> None:
    # Given Intacct echoes the session id and the sender password in an error (e.g. a schema error)
    body = (
        f"<response><control><status>failure</status></control><errormessage><error>"
        f"<errorno>XL03000003</errorno><description>XML Parse schema error</description>"
        f"<description2>bad value {SESSION.session_id} near {SENDER.sender_password}</description2>"
        f"<correction>check {SESSION.session_id}</correction>"
        f"</error></errormessage></response>"
    ).encode()
    h = make_harness(Reply(body=body))
    with pytest.raises(ControlError) as info:
        h.client.query(SESSION, QUERY)
    err = info.value
    everything = " ".join(
        [str(err), repr(err), err.description, err.description2, err.correction, str(err.errors)]
    )
    assert_no_secret(everything)
    assert "bad value *** near ***" in err.description2


def test_login_errors_scrub_the_user_password() -> None:
    body = (
        b"<response><control><status>success</status></control><operation><authentication>"
        b"<status>failure</status><userid>u</userid><companyid>c</companyid></authentication>"
        b"<errormessage><error><errorno>XL03000006</errorno><description2>password Us3r-Secret! is wrong"
        b"</description2></error></errormessage></operation></response>"
    )
    h = make_harness(Reply(body=body))
    with pytest.raises(IntacctError) as info:
        h.client.get_api_session(USER)
    assert_no_secret(str(info.value) + repr(info.value))


@pytest.mark.parametrize(
    "step",
    [
        requests.ConnectionError("reset"),
        requests.ReadTimeout("timeout"),
        requests.exceptions.InvalidURL("bad url"),
    ],
)
def test_transport_errors_keep_no_reference_to_the_request(step: Exception) -> None:
    # requests exceptions carry .request.body, which holds the credentials: it must not be reachable
    h = make_harness(*[step] * 4)
    with pytest.raises(TransportError) as info:
        h.client.query(SESSION, QUERY)
    err = info.value
    assert err.__cause__ is None and err.__context__ is None
    assert_no_secret("".join(traceback.format_exception(err)))


@pytest.mark.parametrize(
    "reply",
    [
        xml_reply("gateway_401.xml", status=401),
        xml_reply("function_failure.xml"),
        Reply(status=502, body=b"<html>bad gateway</html>", headers={"Content-Type": "text/html"}),
    ],
)
def test_error_messages_never_contain_the_request(reply: Reply) -> None:
    h = make_harness(*[reply] * 4)
    with pytest.raises(IntacctError) as info:
        h.client.query(SESSION, QUERY)
    text = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert_no_secret(text)
    assert "<request>" not in text and "<sessionid>" not in text


def test_errors_survive_pickling_without_secrets() -> None:
    error = FunctionError("BL01001973", "desc", "desc2", "fix", http_status=200, function="query")
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert str(clone) == "BL01001973: desc; desc2; fix"


def test_session_expired_error_str_is_built_from_fields_only() -> None:
    err = SessionExpiredError("XMLGW_JPP0002", "Sign-in information is incorrect.", http_status=401)
    assert str(err) == "XMLGW_JPP0002: Sign-in information is incorrect."
    assert repr(err) == (
        "SessionExpiredError(errorno='XMLGW_JPP0002', http_status=401, "
        "message='XMLGW_JPP0002: Sign-in information is incorrect.')"
    )


def test_no_log_line_contains_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h = make_harness(
        Reply(status=503, body=b""),
        xml_reply("session_success.xml"),
        requests.ConnectionError("reset"),
        xml_reply("query_single.xml"),
    )
    session = h.client.get_api_session(USER)
    h.client.query(session, QUERY)
    assert caplog.records  # the retries were logged
    everything = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert_no_secret(everything)
    assert "fAkESesSiOnId.." not in everything


# ------------------------------------------------------------------------------------------ credentials

FULL_ENV = {
    "INTACCT_SENDER_ID": "sid",
    "INTACCT_SENDER_PASSWORD": "spw-secret",
    "INTACCT_COMPANY_ID": "co",
    "INTACCT_USER_ID": "uid",
    "INTACCT_USER_PASSWORD": "upw-secret",
}


def test_credentials_from_env() -> None:
    sender, user = credentials_from_env({**FULL_ENV, "INTACCT_ENTITY_ID": "E1"})
    assert (sender.sender_id, sender.sender_password) == ("sid", "spw-secret")
    assert user == UserCredentials("co", "uid", "upw-secret", entity_id="E1")
    assert credentials_from_env(FULL_ENV)[1].entity_id is None
    assert credentials_from_env(FULL_ENV) == (sender, UserCredentials("co", "uid", "upw-secret"))


def test_credentials_from_env_names_every_missing_variable() -> None:
    env = {"INTACCT_SENDER_ID": "sid", "INTACCT_USER_PASSWORD": "upw-secret", "INTACCT_COMPANY_ID": ""}
    with pytest.raises(CredentialsError) as info:
        credentials_from_env(env)
    message = str(info.value)
    for name in ("INTACCT_SENDER_PASSWORD", "INTACCT_COMPANY_ID", "INTACCT_USER_ID"):
        assert name in message
    assert "INTACCT_SENDER_ID" not in message.replace("INTACCT_SENDER_PASSWORD", "")
    assert "upw-secret" not in message and "sid" not in message.replace("INTACCT_", "")


def test_credentials_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FULL_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("INTACCT_ENTITY_ID", raising=False)
    assert credentials_from_env()[0].sender_id == "sid"


def test_credentials_from_mapping() -> None:
    data = {
        "sender_id": "sid",
        "sender_password": "spw-secret",
        "company_id": "co",
        "user_id": "uid",
        "user_password": "upw-secret",
        "entity_id": "E1",
    }
    sender, user = credentials_from_mapping(data)
    assert sender.sender_password == "spw-secret" and user.entity_id == "E1"


def test_credentials_from_mapping_names_missing_keys_not_values() -> None:
    with pytest.raises(CredentialsError) as info:
        credentials_from_mapping({"sender_id": "sid", "sender_password": "spw-secret", "user_id": 5})
    message = str(info.value)
    assert "company_id" in message and "user_id" in message and "user_password" in message
    assert "spw-secret" not in message and "sender_password" not in message
    assert isinstance(info.value, ValueError)


def test_api_session_cache_dict_round_trip_and_corruption() -> None:
    data = SESSION.to_cache_dict()
    assert data["session_id"] == SESSION.session_id  # the cache is an encrypted store
    assert ApiSession.from_cache_dict(data) == SESSION
    for broken in (
        {**data, "expires_at": "tomorrow"},
        {**data, "expires_at": "2030-01-01T00:00:00"},  # naive
        {**data, "session_id": ""},
        {k: v for k, v in data.items() if k != "endpoint"},
    ):
        with pytest.raises((ValueError, KeyError, TypeError)):
            ApiSession.from_cache_dict(broken)


def test_the_secret_mapping_round_trips_with_and_without_an_entity() -> None:
    sender, user = credentials_from_env({**FULL_ENV, "INTACCT_ENTITY_ID": "E1"})
    assert credentials_from_mapping(credentials_mapping(sender, user)) == (sender, user)
    sender, user = credentials_from_env(FULL_ENV)
    assert "entity_id" not in credentials_mapping(sender, user)
