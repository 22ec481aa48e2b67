"""Seed groups (`--seeds`) and results across seeds (`aggregate`): rliable's figures
checked by hand, and a group through the real command line on the TF-native CartPole (a
few seconds a seed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_checks import assert_one_line_error, batched

from tfa_recipes.errors import RecipeError
from tfa_recipes.output.aggregate import interval_estimates
from tfa_recipes.run.group import parse_seeds

from conftest import REPO, read_summary, run_cli

CLASSIC = "tfa_recipes.dqn_cartpole_classic"
TINY = (
    "--env-name", "tf:CartPole-v0", "--num-iterations", "200", "--log-interval", "100",
    "--eval-interval", "100", "--checkpoint-interval", "100", "--num-eval-episodes", "3",
    "--num-video-episodes", "0",
)


def hand_iqm(values) -> float:
    """The mean of the middle half: with n a multiple of 4, the middle n/2 sorted values."""
    ordered = np.sort(values)
    quarter = len(ordered) // 4
    return float(np.mean(ordered[quarter: len(ordered) - quarter]))


def hand_percentile_interval(values, statistic, reps: int = 20000) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    draws = rng.choice(values, size=(reps, len(values)), replace=True)
    samples = np.array([statistic(draw) for draw in draws])
    return float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))


def test_rliables_point_estimates_are_the_hand_computed_ones():
    values = [12.0, 200.0, 150.5, 30.0, 99.0, 180.0, 75.0, 64.0]
    estimates = interval_estimates(values)
    assert estimates["mean"] == pytest.approx(np.mean(values))
    assert estimates["median"] == pytest.approx(np.median(values))
    assert estimates["iqm"] == pytest.approx(hand_iqm(values))


def test_rliables_intervals_are_a_percentile_bootstrap():
    values = np.array([12.0, 200.0, 150.5, 30.0, 99.0, 180.0, 75.0, 64.0])
    estimates = interval_estimates(values, reps=20000)
    # Two bootstraps of 20,000 draws each: their 2.5th and 97.5th percentiles agree to a
    # few units here (the spread of the mean over 8 seeds is ~20).
    for name, statistic in (("mean_ci", np.mean), ("iqm_ci", hand_iqm)):
        low, high = hand_percentile_interval(values, statistic)
        assert estimates[name][0] == pytest.approx(low, abs=4), name
        assert estimates[name][1] == pytest.approx(high, abs=4), name


@pytest.mark.parametrize("text, seeds", [("0-4", [0, 1, 2, 3, 4]), ("3", [3]),
                                         ("0,3,7", [0, 3, 7]), (" 2-3 ", [2, 3])])
def test_seeds_are_a_range_or_a_list(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(
    "text", ["", "4-1", "a-b", "1,1", "0,", "-1", f"0-{2**32}", f"{2**32}", "0-1000"]
)
def test_other_seed_texts_are_refused(text):
    with pytest.raises(RecipeError, match="^--seeds must be a range such as 0-4"):
        parse_seeds(text)


REFUSED = (
    (("--seeds", "0-1", "--seed", "3"), "--seeds trains each seed in its own run: it goes "
                                        "without --seed"),
    (("--seeds", "x"), "--seeds must be a range such as 0-4"),
    (("--jobs", "2"), "--jobs goes with --seeds"),
    (("--seeds", "0-1", "--jobs", "0"), "--jobs must be a number >= 1"),
    (("--seeds", "0-1", "--eval-only"), "it goes without --eval-only"),
)


@pytest.mark.parametrize("flags, expected", REFUSED)
def test_group_flags_that_do_not_go_together_are_one_line(flags, expected):
    assert_one_line_error(batched(CLASSIC, REFUSED, run_dirs=True)[flags], expected)


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    group = tmp_path_factory.mktemp("group") / "g"
    result = run_cli(CLASSIC, *TINY, "--seeds", "0-1", "--jobs", "2", "--run-dir", str(group),
                     timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return group, result


def test_a_group_trains_each_seed_as_an_ordinary_run(group):
    group, result = group
    for seed in (0, 1):
        summary = read_summary(group / f"seed{seed}")
        assert summary["seed"] == seed and summary["iterations"] == 200
        assert (group / f"seed{seed}.log").read_text().count("done: final Average Return") == 1
    assert json.loads((group / "group.json").read_text()) == {"recipe": "dqn_cartpole_classic"}
    assert "done: 2 of 2 seeds; final Average Return IQM" in result.stdout


def test_a_group_writes_the_aggregate_its_curve_and_its_plot(group):
    group, _ = group
    result = json.loads((group / "aggregate.json").read_text())
    finals = [read_summary(group / f"seed{seed}")["final_average_return"] for seed in (0, 1)]
    assert result["seeds"] == 2 and result["recipe"] == "dqn_cartpole_classic"
    assert result["final"]["mean"] == pytest.approx(np.mean(finals))
    assert [row["seed"] for row in result["per_seed"]] == [0, 1]
    rows = (group / "aggregate.csv").read_text().splitlines()
    assert rows[0].startswith("iteration,seeds,mean,") and [r.split(",")[0] for r in rows[1:]] == [
        "0", "100", "200"
    ]
    assert (group / "returns.png").stat().st_size > 0


def test_the_same_command_finishes_the_group_again(group):
    group_dir, _ = group
    again = run_cli(CLASSIC, *TINY, "--seeds", "0-1", "--jobs", "2", "--run-dir",
                    str(group_dir), timeout=300)
    assert again.returncode == 0, again.stdout[-2000:]
    assert "done: 2 of 2 seeds" in again.stdout


def test_aggregate_recomputes_from_runs_made_one_by_one(group, tmp_path):
    group_dir, _ = group
    out = tmp_path / "out"
    result = run_cli("tfa_recipes", "aggregate", str(group_dir / "seed0"),
                     str(group_dir / "seed1"), "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 runs: final Average Return IQM" in result.stdout
    assert json.loads((out / "aggregate.json").read_text())["final"] == json.loads(
        (group_dir / "aggregate.json").read_text()
    )["final"]


def interrupted_group(args: list[str], begun) -> tuple[str, str]:
    """A group of `args`, Ctrl-C'd once `begun()`; its output, checked to exit 130."""
    process = subprocess.Popen(
        [sys.executable, "-m", CLASSIC, *args], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    while not begun():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout[-2000:] + stderr[-2000:]
    return stdout, stderr


def test_ctrl_c_stops_every_seed_and_the_group_resumes(tmp_path):
    group = tmp_path / "g"
    args = [*TINY, "--num-iterations", "3000", "--seeds", "0-1", "--jobs", "2",
            "--run-dir", str(group)]
    _, stderr = interrupted_group(
        args, lambda: all((group / f"seed{s}" / "metrics.csv").is_file() for s in (0, 1))
    )
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted; each seed saved")
    assert "Traceback" not in stderr
    resumed = run_cli(CLASSIC, *args, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    for seed in (0, 1):
        assert "resuming from iteration" in (group / f"seed{seed}.log").read_text()
        assert read_summary(group / f"seed{seed}")["iterations"] == 3000


# Seeds sharing one process (`loop.train.SharedLoop`, the default for a TF-native recipe):
# each trains exactly as it does alone, a failing seed leaves the others to finish, and
# Ctrl-C saves the seed in training and leaves the ones after it for the resume.
REINFORCE_TINY = (
    "--env-name", "tf:CartPole-v0", "--num-iterations", "20", "--log-interval", "10",
    "--eval-interval", "10", "--num-eval-episodes", "3", "--num-video-episodes", "0",
)


def figures(run) -> tuple:
    summary = read_summary(run)
    return (summary["evaluations"], summary["final_loss"], summary["random_average_return"],
            summary["environment_steps"])


@pytest.mark.parametrize("module, tiny", [(CLASSIC, TINY),
                                          ("tfa_recipes.reinforce_cartpole", REINFORCE_TINY)])
def test_seeds_sharing_a_process_train_exactly_as_they_do_alone(tmp_path, module, tiny):
    group = tmp_path / "g"
    result = run_cli(module, *tiny, "--seeds", "0-1", "--jobs", "1", "--run-dir", str(group),
                     timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 processes sharing compiled calls" in result.stdout
    # Seed 1 trained second, on the parts and compiled calls seed 0 left.
    alone = run_cli(module, *tiny, "--seed", "1", "--run-dir", str(tmp_path / "alone"),
                    timeout=300)
    assert alone.returncode == 0, alone.stderr[-2000:]
    assert figures(group / "seed1") == figures(tmp_path / "alone")
    # The command that trains the seed alone, as a process per seed records it.
    assert "--seed 1 --run-dir" in (group / "seed1" / "command.txt").read_text()


def test_a_seed_that_fails_in_a_shared_process_leaves_the_others_to_finish(tmp_path):
    group = tmp_path / "g"
    (group / "seed1").mkdir(parents=True)
    (group / "seed1" / "run.json").write_text(json.dumps({"recipe": "reinforce_cartpole"}))
    result = run_cli(CLASSIC, *TINY, "--seeds", "0-2", "--jobs", "1", "--run-dir", str(group),
                     timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("error: seed 1 failed")]
    assert len(failed) == 1 and "holds a 'reinforce_cartpole' run" in failed[0], lines
    assert "seed 0: done" in lines and "seed 2: done" in lines
    assert "done: 2 of 3 seeds" in result.stdout
    assert [row["seed"] for row in json.loads((group / "aggregate.json").read_text())[
        "per_seed"]] == [0, 2]


def test_ctrl_c_in_a_shared_process_saves_its_seed_and_the_resume_trains_the_rest(tmp_path):
    group = tmp_path / "g"
    args = [*TINY, "--num-iterations", "3000", "--seeds", "0-1", "--jobs", "1",
            "--run-dir", str(group)]
    stdout, _ = interrupted_group(args, (group / "seed0" / "metrics.csv").is_file)
    # Seed 0 in training (or, on a slow machine, seed 1 after it) saves; none after it starts.
    interrupted = [line for line in stdout.splitlines()
                   if line.endswith("interrupted, progress saved")]
    assert len(interrupted) == 1, stdout
    if interrupted[0].startswith("seed 0"):
        assert not (group / "seed1").exists()
    resumed = run_cli(CLASSIC, *args, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    assert any("resuming from iteration" in (group / f"seed{s}.log").read_text() for s in (0, 1))
    for seed in (0, 1):
        assert read_summary(group / f"seed{seed}")["iterations"] == 3000
