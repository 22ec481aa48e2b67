"""dqn_cartpole --actors N --cluster ray: the roles as Ray actors on a local Ray instance.

The instance listens on 127.0.0.1 only (`ray_launcher.LOCAL_INSTANCE_ENV`); every test is
bounded in time, reads the roles' PIDs (and their Ray workers') from the launcher's lines,
and checks that none of them, and no process of the Ray instance, is left once the
launcher has exited (`nothing_of_ray_is_left`).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_checks import (
    ONE_TF_THREAD,
    Launcher,
    alive,
    assert_all_gone,
    assert_one_line_error,
    batched,
    role_pids,
)

from conftest import REPO, read_summary, run_cli

pytest.importorskip("ray", reason="--cluster ray needs Ray: pip install '.[ray]'")

RECIPE = "tfa_recipes.dqn_cartpole"
TINY = (
    "--cluster", "ray", "--eval-interval", "100", "--log-interval", "100",
    "--checkpoint-interval", "100", "--num-eval-episodes", "2", "--num-video-episodes", "0",
)
TIMEOUT = 240
# A role's Ray worker, from the launcher's line naming the role.
WORKER = re.compile(r"^(replay server|learner|actor \d+): pid \d+ \(Ray worker (\d+)",
                    re.MULTILINE)


@pytest.fixture(autouse=True)
def one_tf_thread(monkeypatch):
    for name, value in ONE_TF_THREAD.items():
        monkeypatch.setenv(name, value)


def ray_processes() -> set[int]:
    """Every process of a Ray instance on this machine: its servers (gcs_server, raylet,
    the monitors, the agents) and its workers (`ray::...`)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if command.startswith("ray::") or "/site-packages/ray/" in command:
            found.add(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def nothing_of_ray_is_left():
    before = ray_processes()
    yield
    deadline = time.monotonic() + 15
    while (left := {pid for pid in ray_processes() - before if alive(pid)}) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"Ray processes left behind: {sorted(left)}"


def every_pid(stdout: str) -> dict[str, list[int]]:
    """The roles' PIDs and their Ray workers'."""
    return {**role_pids(stdout), "Ray workers": [int(pid) for _, pid in WORKER.findall(stdout)]}


def worker_of(role: str, stdout: str) -> int:
    """The Ray worker the role first ran in (the roles start together: their lines come in
    any order)."""
    return next(int(pid) for name, pid in WORKER.findall(stdout) if name == role)


class Terminal(Launcher):
    """The launcher in a session of its own, as a shell runs it: Ctrl-C at the terminal
    reaches its whole process group (Ray's processes of the local instance included)."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", RECIPE, *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self.lines = []

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def test_two_actors_on_ray_complete_a_run_and_ray_restarts_a_dead_actor(tmp_path):
    run_dir = tmp_path / "run"
    # Iterations enough that the run cannot end before both restarts (the learner trains
    # ~130 iterations a second on two actors).
    launcher = Launcher(*TINY, "--actors", "2", "--num-iterations", "3000",
                        "--eval-interval", "1000", "--checkpoint-interval", "1000",
                        "--run-dir", str(run_dir))
    launcher.read_until("step = 100:")
    assert set(launcher.pids()) == {"replay server", "learner", "actor 0", "actor 1"}
    # The role's process dies: Ray restarts its actor, which starts the role again.
    os.kill(launcher.pids()["actor 1"][0], signal.SIGKILL)
    launcher.read_until("actor 1: pid")
    # The actor's Ray worker dies: Ray restarts it by itself.
    os.kill(worker_of("actor 0", "".join(launcher.lines)), signal.SIGKILL)
    launcher.read_until("actor 0 stopped")
    code, stdout, stderr = launcher.finish()
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr and not error_lines(stderr), stderr[-3000:]
    assert "actor 1 stopped (killed by SIGKILL); restarting it" in stdout
    assert "actor 0 stopped (its Ray worker died); restarting it" in stdout
    pids = every_pid(stdout)
    assert len(pids["actor 0"]) == 2 and len(pids["actor 1"]) == 2
    assert_all_gone(pids)
    assert "done: final Average Return" in stdout
    summary = read_summary(run_dir)
    assert summary["iterations"] == 3000 and summary["actors"] == 2
    assert (run_dir / "policies" / "policy" / "saved_model.pb").is_file()
    assert {p.name for p in (run_dir / "train").iterdir()} >= {"actor_0", "actor_1", "checkpoints"}
    assert (run_dir / "train" / "checkpoints" / "manifest-3000.json").is_file()


def test_ctrl_c_on_ray_saves_a_killed_learner_stops_the_run_and_the_same_command_resumes(
    tmp_path,
):
    run_dir = tmp_path / "run"
    args = (*TINY, "--actors", "1", "--num-iterations", "300", "--run-dir", str(run_dir))
    launcher = Terminal(*args)
    launcher.read_until("step = 100:")
    launcher.ctrl_c()
    code, stdout, stderr = launcher.finish()
    assert code == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert [line for line in error_lines(stderr) if "interrupted at iteration" in line], stderr
    assert_all_gone(every_pid(stdout))

    launcher = Launcher(*args)
    launcher.read_until("step = 200:")
    os.kill(launcher.pids()["learner"][0], signal.SIGKILL)
    code, stdout, stderr = launcher.finish()
    assert code == 1
    assert error_lines(stderr) == [
        "error: the learner stopped (killed by SIGKILL); its last checkpoint is kept: "
        "run the same command to resume"
    ], stderr[-2000:]
    assert re.search(r"^resuming from iteration \d+ ", stdout, re.MULTILINE), stdout[-2000:]
    assert_all_gone(every_pid(stdout))

    resumed = run_cli(RECIPE, *args, timeout=TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert re.search(r"^resuming from iteration \d+ ", resumed.stdout, re.MULTILINE)
    assert_all_gone(every_pid(resumed.stdout))
    assert read_summary(run_dir)["iterations"] == 300


def test_a_killed_ray_launcher_leaves_no_role_and_no_ray_process(tmp_path):
    launcher = Launcher(*TINY, "--actors", "1", "--num-iterations", "100000",
                        "--run-dir", str(tmp_path / "run"))
    # Every role and every process of the instance is running by then.
    launcher.read_until("step = 0:")
    launcher.process.kill()
    launcher.process.wait()
    # The kernel ends the instance's servers with the launcher (Ray's fate sharing), the
    # workers end with their raylet, each role with its worker (PR_SET_PDEATHSIG and its
    # watchdog), and the launcher's guard ends Ray's agents; `nothing_of_ray_is_left`
    # checks that no process of the instance is left.
    assert_all_gone(every_pid("".join(launcher.lines)), within=30)


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


BAD_RAY_FLAGS = (
    (("--cluster", "ray"), "--cluster ray runs the roles of a run with actors: add --actors N"),
    (("--cluster", "kubernetes", "--actors", "1"), "--cluster must be one of local, ray"),
    (("--cluster", "ray", "--role", "replay", "--replay-address", "127.0.0.1:1"),
     "--cluster ray starts every role itself: it goes without --role"),
    (("--actors", "1", "--ray-actor-cpus", "2"), "--ray-actor-cpus goes with --cluster ray"),
    (("--cluster", "ray", "--actors", "1", "--ray-learner-cpus", "-1"),
     "--ray-learner-cpus must be a number >= 0, got '-1'"),
    # This machine has no GPU: the local instance started for the run has none either.
    # (Before any command that imports Ray for a cluster: the batch's one process reads
    # the local instance's settings when Ray is first imported.)
    (("--cluster", "ray", "--actors", "1", "--ray-learner-gpus", "1"),
     "the local Ray instance cannot host the learner role: it asks for 1 CPUs and 1 GPUs"),
    (("--cluster", "ray", "--actors", "1", "--ray-address", free_address()),
     "no Ray cluster answers at 127.0.0.1:"),
)


@pytest.mark.parametrize("flags, expected", BAD_RAY_FLAGS)
def test_bad_ray_flags_and_clusters_are_one_line(flags, expected):
    assert_one_line_error(batched(RECIPE, BAD_RAY_FLAGS, run_dirs=True)[flags], expected)


def test_cluster_ray_without_ray_installed_is_one_line_and_writes_nothing(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None; from tfa_recipes.dqn_cartpole import RECIPE; "
        "sys.exit(RECIPE.main(sys.argv[1:]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, "--actors", "1", "--cluster", "ray",
         "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=120, cwd=REPO, stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert error_lines(completed.stderr) == [
        "error: --cluster ray needs Ray, which is not installed here: pip install "
        "'tfa_recipes[ray]' (or pip install ray==2.60.0)"
    ], completed.stderr[-2000:]
    assert not (tmp_path / "run").exists()
