"""Shared test helpers: the events/ corpus and a guard against touching real AWS."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from intacct_sim import Simulator, SimulatorConfig, start_simulator

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

# No test may reach real AWS: fake credentials and a fixed region before any boto3 client exists.
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_DISABLED": "true",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/ (the same files `sam local invoke -e` uses)."""
    document: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return document


@pytest.fixture
def event():
    return load_event


def decode_presto_view(text: str) -> dict[str, Any]:
    """The JSON inside a Glue view's ``ViewOriginalText`` (the inverse of the encoding
    ``export.current.presto_view_input`` writes, as Athena's own CREATE VIEW stores it)."""
    prefix, suffix = "/* Presto View: ", " */"
    if not (text.startswith(prefix) and text.endswith(suffix)):
        raise ValueError("not a Presto view text")
    decoded: dict[str, Any] = json.loads(base64.b64decode(text[len(prefix) : -len(suffix)]))
    return decoded


@pytest.fixture
def heads(s3: Any) -> list[str]:
    """Keys of every HeadObject the test's ``s3`` client (a fixture of the test's folder or file) sends."""
    sent: list[str] = []
    s3.meta.events.register(
        "before-parameter-build.s3.HeadObject", lambda params, **_: sent.append(params["Key"])
    )
    return sent


@pytest.fixture(autouse=True)
def no_iam_denials(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every local run checks each AWS call against the template's policies (intacct_local.iam); a refusal
    fails the test even where the code turns the error into a warning, unless the test expects it."""
    from intacct_local import iam

    before = len(iam.DENIALS)
    yield
    refused = iam.DENIALS[before:]
    if refused and request.node.get_closest_marker("iam_denials") is None:
        pytest.fail(f"calls template.yaml's IAM policies do not allow: {refused[:5]}")


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Factory for private simulators on free loopback ports (200 records, seed 11 unless given), each
    stopped when the test ends."""
    started: list[Simulator] = []

    def make(**config: Any) -> Simulator:
        config.setdefault("records", 200)
        config.setdefault("seed", 11)
        sim = start_simulator(SimulatorConfig(port=0, **config))
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()
