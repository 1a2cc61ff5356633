"""The HTTP side of a gateway call: one pooled ``requests.Session``, and transport failures as errors.

Nothing secret leaves this module: a transport failure is described by its kind and host only, never by
the ``requests`` exception (whose ``.request.body`` holds the credentials).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from .classify import Call, Retryable
from .errors import TransportError
from .policy import Timeouts

USER_AGENT = "intacct-sync/0.1 python-requests"
HEADERS = {
    "Content-Type": "application/xml",
    "Accept": "application/xml, text/xml, application/json",
    "Accept-Encoding": "gzip",
    "User-Agent": USER_AGENT,
}


class _WholeBodyAdapter(HTTPAdapter):
    """Reads each response body in reads of up to 1 MiB instead of requests' 10 KiB.

    A 2000-record page is 0.5-25 MB: in 10 KiB reads that is hundreds of socket reads, and a thread
    waits for the GIL again after each one while other threads (the next page's encoding, other
    segments) run. Errors while reading are mapped to requests exceptions as ``Response.content`` does.
    """

    READ_SIZE = 1 << 20

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        response._content = b"".join(response.iter_content(self.READ_SIZE))
        return response


_PROXY_ENVIRONMENT = frozenset(("http_proxy", "https_proxy", "all_proxy", "no_proxy"))


def new_http_session(environ: Mapping[str, str] = os.environ) -> requests.Session:
    """A pooled session for the gateway (no urllib3 retries: the client's retry loop decides)."""
    session = requests.Session()
    # requests looks up proxies (scanning the whole environment), a CA bundle and ~/.netrc on every
    # request. Without proxies (as on Lambda) the CA bundle is read once here instead; with proxies
    # requests' own handling is kept. (.netrc is not wanted anyway: credentials travel in the XML body.)
    if not any(name.lower() in _PROXY_ENVIRONMENT for name in environ):
        session.trust_env = False
        session.verify = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True
    adapter = _WholeBodyAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def transport_failure(call: Call, exc: requests.RequestException, timeouts: Timeouts) -> Retryable:
    """A ``requests`` failure as a retryable (or final) transport error naming only its kind and host."""
    host = urlsplit(call.url).hostname or "?"
    kind = type(exc).__name__
    not_sent = _request_not_sent(exc)
    if isinstance(exc, requests.Timeout):
        errorno = "CONNECT_TIMEOUT" if isinstance(exc, requests.ConnectTimeout) else "READ_TIMEOUT"
        description = f"{kind} talking to {host} (timeouts {timeouts.connect}s/{timeouts.read}s)"
    elif isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        errorno, description = "CONNECTION", f"{kind}: connection to {host} failed or was reset"
    elif isinstance(exc, requests.exceptions.ContentDecodingError):
        errorno, description = "DECODING", f"{kind}: the response from {host} could not be decompressed"
    else:
        # Not a transient failure (e.g. an invalid URL): surface it at once.
        error = TransportError("TRANSPORT", f"{kind} calling {host}", function=call.function)
        return Retryable(error, kind, final=True)
    return Retryable(
        TransportError(errorno, description, function=call.function),
        kind,
        not_executed=not_sent,
    )


def _request_not_sent(exc: requests.RequestException) -> bool:
    """True when the connection could not even be opened, so the function certainly did not run."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason: Any = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError)
