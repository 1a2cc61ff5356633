"""CommonLayer ships bytecode Lambda uses: `sam build` builds it with layers/common/Makefile, which installs
wheels for Lambda's platform and compiles every module with unchecked-hash pycs for the runtime's Python.

Checked from the wiring and a dry run of the Makefile (`make -n`), never a real build: that is `make build`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from tests.conftest import ROOT

TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())
LAYER = TEMPLATE["Resources"]["CommonLayer"]
LAYER_DIR = ROOT / LAYER["Properties"]["ContentUri"]
RUNTIME = TEMPLATE["Globals"]["Function"]["Runtime"]  # python3.12
ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda's names → wheel platform tags


def _build_commands(artifacts: Path) -> list[str]:
    """What `sam build` would run for the layer: SAM runs `make build-<LogicalId>` with ARTIFACTS_DIR set."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # An enclosing `make test` must not pass its flags and variables down.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    done = subprocess.run(
        ["make", "--dry-run", "--makefile", str(LAYER_DIR / "Makefile"), "build-CommonLayer"],
        cwd=LAYER_DIR,
        env={**env, "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    # Join the recipe's continued lines: one string per command.
    return [line.strip() for line in done.stdout.replace("\\\n", " ").splitlines() if line.strip()]


def _one(commands: list[str], pattern: str) -> tuple[int, str]:
    found = [(i, c) for i, c in enumerate(commands) if re.search(pattern, c)]
    assert len(found) == 1, f"expected one command matching {pattern!r} in {commands}"
    return found[0]


def test_sam_builds_the_layer_with_its_makefile():
    assert LAYER["Metadata"]["BuildMethod"] == "makefile"
    assert re.search(r"^build-CommonLayer:", (LAYER_DIR / "Makefile").read_text(), re.MULTILINE)


def test_the_layer_is_compiled_with_unchecked_hash_pycs_for_the_runtimes_python(tmp_path):
    # Given the commands the layer build runs
    commands = _build_commands(tmp_path)
    site = f'"{tmp_path}/python"'
    # Then every module in the layer is compiled by the runtime's interpreter, into pycs that Python uses
    # without checking the source's mtime (zip packaging does not keep it exactly)
    index, compile_all = _one(commands, r"-m compileall ")
    assert compile_all.split()[0] == RUNTIME
    assert "--invalidation-mode unchecked-hash" in compile_all
    assert compile_all.endswith(site)
    # And only after everything the layer ships is in place
    assert index == len(commands) - 1


def test_the_layers_wheels_are_for_lambdas_python_and_architecture(tmp_path):
    commands = _build_commands(tmp_path)
    _, install = _one(commands, r"-m pip install ")
    (architecture,) = set(LAYER["Properties"]["CompatibleArchitectures"]) | set(
        TEMPLATE["Globals"]["Function"]["Architectures"]
    )
    platforms = re.findall(r"--platform (\S+)", install)
    assert platforms and all(p.endswith("_" + ARCHITECTURES[architecture]) for p in platforms)
    assert f"--python-version {RUNTIME.removeprefix('python')}" in install
    assert "--implementation cp" in install and "--only-binary=:all:" in install
    assert "-r requirements.txt" in install and f'--target "{tmp_path}/python"' in install


def test_the_layer_package_is_copied_without_the_developers_bytecode(tmp_path):
    # Tests and local runs leave cpython-311 pycs in layers/common/intacct_sync; the build drops them
    commands = _build_commands(tmp_path)
    copy, command = _one(commands, r"^cp -R intacct_sync ")
    assert command.endswith(f'"{tmp_path}/python/"')
    clean, command = _one(commands, r"^find .*__pycache__")
    assert f'"{tmp_path}/python/intacct_sync"' in command and "rm -rf" in command
    compile_all, _ = _one(commands, r"-m compileall ")
    assert copy < clean < compile_all
