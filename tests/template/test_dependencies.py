"""The layer's requirements.txt is generated from pyproject.toml: one dependency list, never two."""

import tomllib

from tests.conftest import ROOT


def test_layer_requirements_match_pyproject():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = [line.strip() for line in (ROOT / "layers/common/requirements.txt").read_text().splitlines()]
    assert [line for line in layer if line and not line.startswith("#")] == declared, (
        "layers/common/requirements.txt is out of date: run `make requirements`"
    )


def test_layer_dependencies_are_pinned():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert declared and all("==" in d for d in declared)
