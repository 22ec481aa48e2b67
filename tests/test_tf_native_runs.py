"""Recipes on the TF-native CartPole (`--env-name tf:CartPole-v0`): the whole loop in the
graph, and, with no unseeded sampler in it, a run that repeats exactly and resumes exactly
where an uninterrupted one would be."""

from __future__ import annotations

import json

import pytest
from cli_checks import assert_one_line_error, batched

from conftest import read_summary, run_cli

CLASSIC = "tfa_recipes.dqn_cartpole_classic"
TINY = (
    "--env-name", "tf:CartPole-v0", "--log-interval", "100", "--eval-interval", "200",
    "--checkpoint-interval", "200", "--num-eval-episodes", "5", "--num-video-episodes", "0",
)


def metrics_without_wall_time(run_dir) -> list[list[str]]:
    return [line.split(",")[:-1] for line in (run_dir / "metrics.csv").read_text().splitlines()]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tf") / "run"
    result = run_cli(CLASSIC, *TINY, "--num-iterations", "400", "--num-video-episodes", "1",
                     "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_a_tf_native_run_writes_what_a_gym_run_writes(uninterrupted):
    summary = read_summary(uninterrupted)
    assert summary["iterations"] == 400 and summary["environment_steps"] == 100 + 400
    assert [row[0] for row in summary["evaluations"]] == [0, 200, 400]
    assert json.loads((uninterrupted / "config.json").read_text())["env_name"] == "tf:CartPole-v0"
    for name in ("returns.png", "loss.png", "trained-agent.mp4", "random-agent.mp4"):
        assert (uninterrupted / name).stat().st_size > 0, name
    assert (uninterrupted / "policies" / "policy" / "saved_model.pb").is_file()


def test_the_same_seed_gives_the_same_metrics(uninterrupted, tmp_path):
    again = tmp_path / "run"
    result = run_cli(CLASSIC, *TINY, "--num-iterations", "400", "--run-dir", str(again))
    assert result.returncode == 0, result.stderr[-3000:]
    assert metrics_without_wall_time(again) == metrics_without_wall_time(uninterrupted)


def test_a_resumed_run_ends_where_an_uninterrupted_one_ends(uninterrupted, tmp_path):
    """Stopped at 200 (as an interrupt stops, with a checkpoint), then resumed to 400: the
    environment's episodes, the exploration and the replay samples go on as they would."""
    run_dir = tmp_path / "run"
    first = run_cli(CLASSIC, *TINY, "--num-iterations", "200", "--run-dir", str(run_dir))
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = run_cli(CLASSIC, *TINY, "--num-iterations", "400", "--run-dir", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from iteration 200 (300 environment steps)" in resumed.stdout
    assert metrics_without_wall_time(run_dir) == metrics_without_wall_time(uninterrupted)


def test_the_saved_policy_scores_what_the_last_evaluation_scored(uninterrupted):
    result = run_cli("tfa_recipes", "evaluate", "--run-dir", str(uninterrupted),
                     "--num-video-episodes", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    final = read_summary(uninterrupted)["final_average_return"]
    line = result.stdout.splitlines()[-1]
    assert line.startswith("saved policy: Average Return = ") and line.endswith(" over 5 episodes")
    # metrics.csv (and so summary.json) keeps 6 significant digits.
    assert float(line.split()[5]) == pytest.approx(final, rel=1e-6)


REFUSED = (
    (("--env-name", "tf:CartPole-v0", "--driver", "py"),
     "tf:CartPole-v0 runs in the graph: it goes with --driver graph and --actors 0"),
    (("--env-name", "tf:CartPole-v0", "--actors", "1"),
     "tf:CartPole-v0 runs in the graph: it goes with --driver graph and --actors 0"),
    (("--env-name", "tf:Acrobot-v1"),
     "unknown TF-native environment 'tf:Acrobot-v1': expected one of tf:CartPole-v0, "
     "tf:CartPole-v1"),
)


@pytest.mark.parametrize("flags, expected", REFUSED)
def test_what_a_tf_native_environment_cannot_do_is_one_line(flags, expected):
    assert_one_line_error(
        batched("tfa_recipes.dqn_cartpole", REFUSED, run_dirs=True)[flags], expected
    )


REINFORCE = "tfa_recipes.reinforce_cartpole"
REINFORCE_TINY = (
    "--env-name", "tf:CartPole-v0", "--log-interval", "5", "--eval-interval", "10",
    "--checkpoint-interval", "10", "--num-eval-episodes", "3", "--num-video-episodes", "0",
)


@pytest.fixture(scope="module")
def reinforce_uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tf") / "reinforce"
    result = run_cli(REINFORCE, *REINFORCE_TINY, "--num-iterations", "30",
                     "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_reinforce_collects_whole_episodes_in_the_graph(reinforce_uninterrupted):
    summary = read_summary(reinforce_uninterrupted)
    assert summary["iterations"] == 30
    # Two episodes an iteration, each at least 8 steps on CartPole (a fall takes that long).
    assert summary["environment_steps"] >= 30 * 2 * 8
    assert [row[0] for row in summary["evaluations"]] == [0, 10, 20, 30]


def test_reinforce_repeats_and_resumes_exactly(reinforce_uninterrupted, tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli(REINFORCE, *REINFORCE_TINY, "--num-iterations", "10", "--run-dir",
                    str(run_dir))
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = run_cli(REINFORCE, *REINFORCE_TINY, "--num-iterations", "30", "--run-dir",
                      str(run_dir))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from iteration 10 " in resumed.stdout
    assert metrics_without_wall_time(run_dir) == metrics_without_wall_time(
        reinforce_uninterrupted
    )
