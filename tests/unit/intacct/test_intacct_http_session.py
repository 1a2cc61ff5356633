"""The HTTP session reads the environment once when requests would otherwise read it on every call."""

from __future__ import annotations

from intacct_sync.intacct.transport import new_http_session as _new_http_session


def test_without_proxies_the_ca_bundle_is_read_once_and_netrc_ignored() -> None:
    session = _new_http_session({"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem", "HOME": "/root"})
    assert session.trust_env is False
    assert session.verify == "/etc/ssl/corp.pem"


def test_curl_ca_bundle_is_the_fallback_and_default_verification_stays_on() -> None:
    assert _new_http_session({"CURL_CA_BUNDLE": "/ca.pem"}).verify == "/ca.pem"
    plain = _new_http_session({})
    assert plain.verify is True and plain.trust_env is False


def test_with_a_proxy_requests_reads_the_environment_itself() -> None:
    for name in ("HTTPS_PROXY", "http_proxy", "NO_PROXY"):
        session = _new_http_session({name: "http://proxy.internal:3128", "REQUESTS_CA_BUNDLE": "/x.pem"})
        assert session.trust_env is True
        assert session.verify is True  # requests applies REQUESTS_CA_BUNDLE per request, as it always has
