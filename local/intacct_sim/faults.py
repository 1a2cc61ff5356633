"""Fault injection rules and the fault responses themselves.

A rule is a JSON object::

    {"kind": "http_500", "probability": 0.1}
    {"kind": "http_524", "on_calls": [3, 4]}
    {"kind": "truncated_xml", "count": 2, "function": "query", "object": "CUSTOMER"}
    {"kind": "slow", "delay_ms": 5000, "on_calls": [2]}

``on_calls`` are 1-based gateway call numbers counted from when the rules were installed;
``probability`` draws from an RNG seeded by the simulator seed; ``count`` stops a rule after that many
firings; ``function``/``object`` restrict it to requests containing that function/object. Without
``on_calls`` or ``probability`` a rule fires on every matching call (until ``count``). The first
matching rule wins.

Faults in phase ``before`` answer before any function runs (no transactions counted); ``after``
faults let the functions execute and then spoil the answer, like a CDN timing out on a request the
backend completed (524). ``phase`` may be overridden per rule.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

DEFAULT_PHASE = {
    "http_500": "before",
    "http_502": "before",
    "http_503": "before",
    "http_429": "before",
    "connection_reset": "before",
    "http_524": "after",
    "truncated_xml": "after",
    "malformed_xml": "after",
    "slow": "after",
    "service_offline": "before",
    "try_again_later": "before",
}
RULE_KEYS = {"kind", "probability", "on_calls", "count", "function", "object", "delay_ms", "phase", "level"}
# Kinds answered with HTTP 200 and an XML failure document; ``level`` says where the error sits.
IN_BAND_KINDS = {"service_offline": "result", "try_again_later": "control"}

# fylein/sageintacct-sdk-py PR #132 (api_base.py): a failed <result> whose description2 contains this is
# a server outage to retry.
OFFLINE_TEXT = "The Service is Temporarily Off-line."
# hotgluexyz/tap-intacct PR #17 (client.py): an error whose correction contains this is retried.
TRY_AGAIN_CORRECTION = "Please Try Again Later"
TRY_AGAIN_TEXT = "The request could not be completed at this time."
DEFAULT_SLOW_MS = 35_000.0  # beyond the JS SDK's 30 s default timeout


@dataclass
class FaultRule:
    """A validated rule plus how often it has fired."""

    kind: str
    phase: str
    probability: float | None = None
    on_calls: frozenset[int] | None = None
    count: int | None = None
    function: str | None = None
    object: str | None = None
    delay_ms: float = DEFAULT_SLOW_MS
    level: str | None = None
    fired: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """Validate a JSON rule (ValueError on anything unknown)."""
        if not isinstance(data, dict):
            raise ValueError(f"fault rule must be an object, got {data!r}")
        unknown = set(data) - RULE_KEYS
        if unknown:
            raise ValueError(f"unknown fault rule keys {sorted(unknown)}; allowed {sorted(RULE_KEYS)}")
        kind = data.get("kind")
        if kind not in DEFAULT_PHASE:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {sorted(DEFAULT_PHASE)}")
        phase = data.get("phase", DEFAULT_PHASE[kind])
        if phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        probability = data.get("probability")
        if probability is not None and not 0 <= float(probability) <= 1:
            raise ValueError("probability must be within 0..1")
        on_calls = data.get("on_calls")
        level = data.get("level")
        if level is not None and (kind not in IN_BAND_KINDS or level not in ("control", "result")):
            raise ValueError("level ('control' or 'result') applies to service_offline and try_again_later")
        return cls(
            kind=kind,
            phase=phase,
            probability=None if probability is None else float(probability),
            on_calls=None if on_calls is None else frozenset(int(c) for c in on_calls),
            count=None if data.get("count") is None else int(data["count"]),
            function=data.get("function"),
            object=None if data.get("object") is None else str(data["object"]).upper(),
            delay_ms=float(data.get("delay_ms", DEFAULT_SLOW_MS)),
            level=level if level is not None else IN_BAND_KINDS.get(kind),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON view including ``fired``."""
        out: dict[str, Any] = {"kind": self.kind, "phase": self.phase, "fired": self.fired}
        if self.probability is not None:
            out["probability"] = self.probability
        if self.on_calls is not None:
            out["on_calls"] = sorted(self.on_calls)
        for key in ("count", "function", "object"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.kind == "slow":
            out["delay_ms"] = self.delay_ms
        if self.level is not None:
            out["level"] = self.level
        return out


class FaultEngine:
    """Holds the rules and decides, per gateway call, which fault (if any) fires."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._calls = 0
        self._rng = random.Random(seed)

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """Replace all rules and restart call numbering at 1."""
        parsed = [FaultRule.from_dict(r) for r in rules]
        with self._lock:
            self._rules = parsed
            self._calls = 0
            self._rng = random.Random(self._seed)

    def clear(self) -> None:
        """Remove all rules."""
        self.set_rules([])

    def rules(self) -> list[dict[str, Any]]:
        """Current rules as JSON."""
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def next_call(self) -> int:
        """Number the next gateway call (1-based since the rules were installed)."""
        with self._lock:
            self._calls += 1
            return self._calls

    def pick(self, call_no: int, functions: list[str], objects: list[str]) -> FaultRule | None:
        """The first rule that fires for this call (and count it), or None."""
        with self._lock:
            for rule in self._rules:
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.function is not None and rule.function not in functions:
                    continue
                if rule.object is not None and rule.object not in objects:
                    continue
                if rule.on_calls is not None and call_no not in rule.on_calls:
                    continue
                if rule.probability is not None and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None


_CLOUDFLARE = """<!DOCTYPE html>
<html lang="en-US">
<head>
<title>{host} | {code}: {title}</title>
<meta charset="UTF-8">
<meta http-equiv="X-UA-Compatible" content="IE=Edge">
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/main.css">
</head>
<body>
<div id="cf-wrapper"><div id="cf-error-details">
<h1><span class="cf-error-type">{title}</span> <span class="cf-error-code">Error code {code}</span></h1>
<p>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a> for more information.</p>
<p>{detail}</p>
<span>Cloudflare Ray ID: <strong>8c1d2e3f4a5b6c7d</strong></span>
</div></div>
</body>
</html>
"""


def html_error(code: int) -> bytes:
    """An HTML error page like the CDN / web tier returns (no XML at all)."""
    if code in (502, 524):
        title = "Bad gateway" if code == 502 else "A timeout occurred"
        detail = (
            "The web server reported a bad gateway error."
            if code == 502
            else "The origin web server timed out responding to this request."
        )
        return _CLOUDFLARE.format(host="api.intacct.com", code=code, title=title, detail=detail).encode()
    titles = {500: "Internal Server Error", 503: "Service Temporarily Unavailable"}
    title = titles.get(code, "Error")
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n'
        f"<html><head><title>{code} {title}</title></head>"
        f"<body><h1>{title}</h1><p>The server encountered a temporary error and could not complete your "
        "request.</p></body></html>\n"
    ).encode()


def truncate(body: bytes) -> bytes:
    """Cut a document roughly in half (never leaving a well-formed document)."""
    cut = max(1, min(len(body) - 1, len(body) // 2))
    return body[:cut]


def corrupt(body: bytes) -> bytes:
    """Make a document malformed: an unclosed, unescaped fragment right after <response>."""
    marker = b"<response>"
    at = body.find(marker)
    if at < 0:
        return b"<response><broken & unescaped <<" + body
    at += len(marker)
    return body[:at] + b"<status>success</statu><&bogus>" + body[at:]
