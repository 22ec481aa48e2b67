"""A run with actors when one of its processes dies: nothing is left running, each process
says at most one line, and the same command resumes (the README's "Actors and a learner"
table). Every process talks to 127.0.0.1 only, is bounded in time, and is stopped by PID."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import pytest
from cli_checks import ONE_TF_THREAD, Launcher, alive, assert_all_gone, role_pids

from conftest import REPO, read_summary, run_cli

RECIPE = "tfa_recipes.dqn_cartpole"
TINY = (
    "--eval-interval", "100", "--log-interval", "100", "--checkpoint-interval", "100",
    "--num-eval-episodes", "2", "--num-video-episodes", "0",
)
TIMEOUT = 240
# The watchdog's bound (distributed/watchdog.py: server_grace 10 s, checks every 0.5 s),
# plus a process's exit.
ROLE_EXIT_SECONDS = 30


@pytest.fixture(autouse=True)
def one_tf_thread(monkeypatch):
    for name, value in ONE_TF_THREAD.items():
        monkeypatch.setenv(name, value)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


# Where the launcher dies: while the actors' warm-up fills the table (right after the last
# role starts), while it trains, and while its learner saves a checkpoint every 10
# iterations (each save copies the table: most of the learner's time is saving).
MOMENTS = {
    "warm-up": ("actor 0: pid", ()),
    "mid-training": ("step = 200:", ()),
    "checkpointing": ("step = 100:", ("--checkpoint-interval", "10")),
}


@pytest.mark.parametrize("moment", sorted(MOMENTS))
def test_a_killed_launcher_leaves_nothing_running_and_the_run_resumes(tmp_path, moment):
    line, extra = MOMENTS[moment]
    run_dir = tmp_path / "run"
    args = ("--actors", "1", *TINY, *extra, "--num-iterations", "300", "--run-dir", str(run_dir))
    launcher = Launcher(*args)
    launcher.read_until(line)
    pids = launcher.pids()
    launcher.process.kill()
    launcher.process.wait()
    # The kernel's SIGTERM (PR_SET_PDEATHSIG) and each role's watchdog end every role,
    # even one blocked inside a TensorFlow call; the run's lock goes with them.
    assert_all_gone(pids, within=ROLE_EXIT_SECONDS)
    if moment != "mid-training":
        return
    resumed = run_cli(RECIPE, *args, timeout=TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # The checkpoint of iteration 200 follows its evaluation's line: the kill may come first.
    assert re.search(r"^resuming from iteration (100|200) ", resumed.stdout, re.MULTILINE), (
        resumed.stdout[-2000:]
    )
    assert_all_gone(role_pids(resumed.stdout))
    assert read_summary(run_dir)["iterations"] == 300


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def start_role(run_dir, address, *role) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", RECIPE, "--actors", "1", *TINY, "--num-iterations", "100000",
         "--run-dir", str(run_dir), "--replay-address", address, "--role", *role],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_a_dead_replay_server_ends_the_learner_and_an_actor_in_one_line_each(tmp_path):
    """Roles started by hand (as across machines): the server is killed mid-training."""
    run_dir, address = tmp_path / "run", free_address()
    server = start_role(run_dir, address, "replay")
    learner = start_role(run_dir, address, "learner")
    actor = start_role(run_dir, address, "actor", "--actor-id", "0")
    processes = [server, learner, actor]
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (run_dir / "train" / "checkpoints" / "manifest-100.json").is_file():
            assert time.monotonic() < deadline, "the learner never checkpointed iteration 100"
            assert all(p.poll() is None for p in processes), [p.poll() for p in processes]
            time.sleep(0.5)
        server.kill()
        killed = time.monotonic()
        outputs = {}
        for name, process in (("learner", learner), ("actor", actor)):
            _, stderr = process.communicate(timeout=ROLE_EXIT_SECONDS)
            outputs[name] = (process.returncode, stderr)
        assert time.monotonic() - killed < ROLE_EXIT_SECONDS
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.communicate()
    for name, (code, stderr) in outputs.items():
        assert code != 0, (name, stderr[-2000:])
        assert "Traceback" not in stderr, (name, stderr[-3000:])
        lines = error_lines(stderr)
        assert len(lines) == 1 and f"the replay server at {address}" in lines[0], (name, stderr)
    assert not any(alive(p.pid) for p in processes)


def test_a_run_with_actors_stopped_at_its_return_trains_on_with_a_higher_one(tmp_path):
    run_dir = tmp_path / "run"
    common = ("--actors", "1", *TINY, "--num-iterations", "200", "--run-dir", str(run_dir))
    stopped = run_cli(RECIPE, *common, "--stop-at-return", "0", timeout=TIMEOUT)
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    assert read_summary(run_dir)["stopped_at_return"]["iteration"] == 0
    # The same command: nothing left to train, at once (no role is started).
    again = run_cli(RECIPE, *common, "--stop-at-return", "0", timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing left to train" in again.stdout and not role_pids(again.stdout)
    # A higher threshold: the server no longer reads the old stop as the end.
    on = run_cli(RECIPE, *common, "--stop-at-return", "inf", timeout=TIMEOUT)
    assert on.returncode == 0, on.stderr[-3000:]
    assert_all_gone(role_pids(on.stdout))
    summary = read_summary(run_dir)
    assert summary["iterations"] == 200 and "stopped_at_return" not in summary


def test_a_launcher_whose_own_server_cannot_start_says_so_in_one_line(tmp_path):
    """A --connect-timeout shorter than the server's start-up names the server this
    command started, not "start it with --role replay"."""
    result = run_cli(RECIPE, "--actors", "1", *TINY, "--num-iterations", "100",
                     "--connect-timeout", "0.2", "--run-dir", str(tmp_path / "run"),
                     timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and "the replay server this command started" in lines[0], lines
    assert "--role replay" not in lines[0]
    assert_all_gone(role_pids(result.stdout))
    assert not (tmp_path / "run" / "train").exists()


def test_a_role_started_with_another_network_than_its_server_is_one_line(tmp_path):
    """Roles started by hand on a fresh run: the server records the config it serves, and a
    learner with another network (another table signature) is refused by name, not by a
    Reverb signature traceback, before it writes anything."""
    run_dir, address = tmp_path / "run", free_address()
    server = start_role(run_dir, address, "replay")
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (run_dir / "config.json").is_file():
            assert time.monotonic() < deadline and server.poll() is None, server.poll()
            time.sleep(0.2)
        result = run_cli(RECIPE, "--actors", "1", *TINY, "--num-iterations", "100000",
                         "--fc-layer-params", "64", "--run-dir", str(run_dir),
                         "--replay-address", address, "--role", "learner", timeout=120)
    finally:
        server.kill()
        server.communicate()
    assert result.returncode == 2, result.stderr[-2000:]
    assert error_lines(result.stderr) == [
        f"error: --fc-layer-params cannot change when a run resumes: {run_dir} was started "
        "with --fc-layer-params 100,50, not 64 (it shapes what the run's checkpoint holds); "
        "leave the flag out or pick another --run-dir"
    ], result.stderr[-2000:]
    assert not (run_dir / "train").exists() and not (run_dir / "command.txt").exists()
