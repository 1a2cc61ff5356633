"""`make build` and `make test` need the Lambda runtime's Python (3.12) for the layer's bytecode: without one
they stop at once, in one line saying what to install; with one they hand it to the layer build."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

# Where the Makefile looks outside PATH, pyenv and uv (a machine with one there finds it: nothing to test).
SYSTEM_PLACES = [
    "/usr/local/bin/python3.12",
    "/usr/bin/python3.12",
    *glob.glob("/opt/python/3.12*/bin/python3.12"),
]


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def bare_env(home: str) -> dict[str, str]:
    """A machine with the system's tools only: no pyenv, no uv, no project venv on PATH."""
    return {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"}


def test_without_python_3_12_make_build_stops_with_one_line_saying_what_to_install(tmp_path):
    if any(os.access(p, os.X_OK) for p in SYSTEM_PLACES):
        pytest.skip("this machine has a system Python 3.12")
    done = make("check-layer-python", env=bare_env(str(tmp_path)))
    assert done.returncode != 0
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("make: sam build needs Python 3.12")]
    assert "pyenv install 3.12" in line and "LAYER_PYTHON=/path/to/python3.12" in line
    assert "Traceback" not in done.stderr


def test_a_named_interpreter_of_another_version_is_refused(tmp_path):
    done = make("check-layer-python", f"LAYER_PYTHON={sys.executable}", env=bare_env(str(tmp_path)))
    assert done.returncode != 0
    assert f"is Python {sys.version_info[0]}.{sys.version_info[1]}, not 3.12" in done.stderr


def test_make_test_checks_for_it_before_anything_else_and_make_build_passes_it_to_the_layer(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    commands = make("--dry-run", "test", "LAYER_PYTHON=/opt/py312/bin/python3.12", env=env).stdout
    lines = [line for line in commands.splitlines() if line.strip()]
    check = next(i for i, line in enumerate(lines) if "/opt/py312/bin/python3.12 -c" in line)
    lint = next(i for i, line in enumerate(lines) if "ruff check" in line)
    build = next(line for line in lines if " build --template template.yaml" in line)
    assert check < lint
    assert 'LAYER_PYTHON="/opt/py312/bin/python3.12"' in build
