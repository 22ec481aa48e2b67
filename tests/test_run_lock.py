"""A run directory has one owner: RunLock, in process and through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from cli_checks import assert_one_line_error

from tfa_recipes.errors import RecipeError
from tfa_recipes.run.directory import LOCK_NAME, RunDir
from tfa_recipes.run.lock import HOLDER_PID_ENV, RunLock

from conftest import REPO, run_cli

HOLD = """
import sys, time
from pathlib import Path
from tfa_recipes.run.directory import RunDir
from tfa_recipes.run.lock import RunLock
with RunLock(RunDir(Path(sys.argv[1]))):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/run; stopped by PID afterwards."""
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "locked"
        yield run_dir, process
    finally:
        process.kill()
        process.wait(timeout=30)


def snapshot(path):
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*")}


def test_a_second_owner_is_refused_with_the_owners_pid(holder):
    run_dir, process = holder
    with pytest.raises(RecipeError, match=f"is in use by process {process.pid}$"):
        with RunLock(RunDir(run_dir)):
            pass


def test_the_lock_is_taken_once_a_second_use_in_the_same_process_is_refused(tmp_path):
    """The lifecycle takes it once, where a run is opened: nothing nests it any more."""
    run = RunDir(tmp_path / "run")
    with RunLock(run):
        assert (run.path / LOCK_NAME).read_text().strip() == str(os.getpid())
        with pytest.raises(RecipeError, match=f"is in use by process {os.getpid()}$"):
            with RunLock(run):
                pass
    # Released: another process can take it now.
    taken = subprocess.run(
        [sys.executable, "-c", HOLD.replace("time.sleep(120)", "pass"), str(run.path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert taken.stdout.strip() == "locked", taken.stderr


def test_the_cli_refuses_a_run_directory_in_use_and_touches_nothing(holder):
    run_dir, process = holder
    (run_dir / "metrics.csv").write_text("iteration\n0\n")
    before = snapshot(run_dir)
    result = run_cli(
        "tfa_recipes.dqn_cartpole", "--num-iterations", "2", "--run-dir", str(run_dir),
        timeout=120,
    )
    assert_one_line_error(result, f"{run_dir} is in use by process {process.pid}")
    assert snapshot(run_dir) == before


def test_a_killed_owners_lock_does_not_block(holder):
    run_dir, process = holder
    process.kill()
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while True:
        try:
            with RunLock(RunDir(run_dir)):
                break
        except RecipeError:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_a_process_started_for_the_holder_shares_its_lock_and_no_other_does(holder, monkeypatch):
    """The learner a Ray worker starts for the Ray launcher (not its child: no descriptor
    to inherit) names the launcher's PID; a PID that does not hold the lock is refused."""
    run_dir, process = holder
    monkeypatch.setenv(HOLDER_PID_ENV, str(process.pid))
    with RunLock(RunDir(run_dir)) as shared:
        assert shared.fd is not None
    # Still the holder's after the sharer left, and no one else's to share.
    monkeypatch.setenv(HOLDER_PID_ENV, str(os.getpid()))
    with pytest.raises(RecipeError, match=f"is in use by process {process.pid}$"):
        with RunLock(RunDir(run_dir)):
            pass
