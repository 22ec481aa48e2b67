"""Shared test helpers: run recipes through their real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """stderr without the C++ libraries' own log lines (Reverb, absl, TF)."""
        return [
            line
            for line in self.stderr.splitlines()
            if line.strip() and not line.startswith(("[reverb", "WARNING:absl", "I0000", "W0000"))
        ]


def run_cli(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> CliResult:
    """`python -m <args>` in a subprocess, as a user runs it (no display, no TTY)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("DISPLAY", None)
    completed = subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=full_env,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def read_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture
def cli():
    return run_cli


def pytest_collection_modifyitems(config, items):
    """Slow tests first, the longest budget (timeout) first: with two workers taking a file
    each at a time, a long regression that starts last runs alone at the end (the pixel
    regression, ~23 min, once started after everything else)."""

    def key(item):
        if item.get_closest_marker("slow") is None:
            return (1, 0)
        timeout = item.get_closest_marker("timeout")
        return (0, -(timeout.args[0] if timeout and timeout.args else 0))

    items.sort(key=key)
