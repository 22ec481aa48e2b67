"""scripts/python311.sh finds (or fetches) a Python 3.11 whatever `python3` the host has.

Each test runs the script with a PATH built from symlinks and stubs: a real 3.11 (the
interpreter this virtualenv was made from), a stub "3.12" that is not 3.11, a stub `uv`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SCRIPT = REPO / "scripts" / "python311.sh"
REAL_311 = Path(sys._base_executable)
# Answers `-c 'import platform; ...'` as a 3.12 would; is not 3.11 and has no venv or pip.
STUB_312 = """#!/bin/sh
case "$2" in *platform*) echo 3.12.1; exit 0;; esac
exit 1
"""
# `uv python find` fails until `uv python install 3.11` has "installed" $REAL_311.
STUB_UV = """#!/bin/sh
case "$*" in
  "python find --system 3.11") exit 2;;
  "python install 3.11") echo installing >&2; echo "$REAL_311" > "$UV_STATE";;
  "python find --python-preference only-managed 3.11") cat "$UV_STATE" 2>/dev/null || exit 2;;
  *) exit 3;;
esac
"""


@pytest.fixture
def host(tmp_path):
    """A fake host: its bin/ (the whole PATH) holds `sort` and `cat` until a test adds more."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sort", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return tmp_path


def _stub(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _run(host: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {
        "PATH": str(host / "bin"),
        "HOME": str(host / "home"),
        "PYENV_ROOT": str(host / "pyenv"),
        "TFA_TOOLS_DIR": str(host / "tools"),
        "UV_STATE": str(host / "uv-state"),
        "REAL_311": str(REAL_311),
        **env,
    }
    return subprocess.run([shutil.which("bash"), str(SCRIPT)], capture_output=True, text=True,
                          env=full_env, timeout=60)


def test_python3_that_is_311_is_used_silently(host):
    (host / "bin" / "python3").symlink_to(REAL_311)
    result = _run(host)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(host / "bin" / "python3") and result.stderr == ""


def test_python311_is_preferred_to_a_python3_of_another_version(host):
    _stub(host / "bin" / "python3", STUB_312)
    (host / "bin" / "python3.11").symlink_to(REAL_311)
    assert _run(host).stdout.strip() == str(host / "bin" / "python3.11")


def test_with_python3_312_only_the_newest_pyenv_311_is_used_and_said_in_one_line(host):
    _stub(host / "bin" / "python3", STUB_312)
    for version in ("3.11.4", "3.11.10"):
        link = host / "pyenv" / "versions" / version / "bin" / "python3.11"
        link.parent.mkdir(parents=True)
        link.symlink_to(REAL_311)
    _stub(host / "pyenv" / "versions" / "3.12.1" / "bin" / "python3.12", STUB_312)
    result = _run(host)
    newest = host / "pyenv" / "versions" / "3.11.10" / "bin" / "python3.11"
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(newest)
    assert result.stderr.splitlines() == [f"setup: no Python 3.11 on PATH; using pyenv's {newest}"]


def test_without_any_311_uv_installs_one(host):
    _stub(host / "bin" / "python3", STUB_312)
    _stub(host / "bin" / "uv", STUB_UV)
    result = _run(host)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(REAL_311)
    assert f"setup: fetching Python 3.11 with {host / 'bin' / 'uv'} python install 3.11" in (
        result.stderr.splitlines()
    )


def test_when_nothing_works_it_prints_the_install_commands_and_fails(host):
    _stub(host / "bin" / "python3", STUB_312)  # cannot make a venv or pip install uv
    result = _run(host)
    assert result.returncode == 1 and result.stdout == ""
    assert "installing uv (pip install uv, with python3 3.12.1)" in result.stderr
    for command in ("apt-get install python3.11 python3.11-venv", "brew install python@3.11",
                    "dnf install python3.11", "uv python install 3.11",
                    "PYTHON=/path/to/python3.11 bash scripts/setup.sh"):
        assert command in result.stderr


def test_python_variable_must_name_a_311(host):
    stub = _stub(host / "elsewhere" / "python", STUB_312)
    result = _run(host, PYTHON=str(stub))
    assert result.returncode == 1 and result.stdout == ""
    assert f"error: PYTHON={stub} is not a working Python 3.11" in result.stderr


def test_python_variable_naming_a_311_wins(host):
    (host / "bin" / "python3").symlink_to(REAL_311)
    result = _run(host, PYTHON=str(REAL_311))
    assert result.stdout.strip() == str(REAL_311) and result.returncode == 0


def test_the_real_311_reports_311():
    version = subprocess.run([REAL_311, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, env={**os.environ}).stdout
    assert version.strip() == "(3, 11)"
