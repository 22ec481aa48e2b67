"""reinforce_cartpole through its real command line, at tiny budgets."""

from __future__ import annotations

import json
import math
import re
import statistics

import pytest
from cli_checks import (
    assert_cartpole_video,
    assert_numeric_metrics,
    assert_one_line_error,
    assert_png,
    batched,
    config_json,
    interrupt_when,
    interrupted_iteration,
    metrics_rows,
    seed_group,
    seeded_run,
)

from conftest import read_summary, run_cli

RECIPE = "tfa_recipes.reinforce_cartpole"
TINY = (
    "--num-iterations", "4",
    "--log-interval", "2",
    "--eval-interval", "2",
    "--checkpoint-interval", "2",
    "--num-eval-episodes", "2",
    "--num-video-episodes", "1",
)
# CartPole-v0 ends an episode after 8 steps at the soonest and 200 at the latest.
SHORTEST_EPISODE, LONGEST_EPISODE = 8, 200


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("reinforce") / "run"
    result = run_cli(RECIPE, *TINY, "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


def test_prints_the_tutorials_console_lines(tiny_run):
    _, result = tiny_run
    assert "random policy: Average Return = " in result.stdout
    assert "step = 0: Average Return = " in result.stdout
    assert "step = 2: loss = " in result.stdout
    assert "step = 4: Average Return = " in result.stdout


def test_metrics_csv_has_numeric_rows(tiny_run):
    run_dir, _ = tiny_run
    assert_numeric_metrics(run_dir, iterations=[0, 2, 4], max_return=LONGEST_EPISODE)


def test_environment_steps_count_the_collected_episodes(tiny_run):
    run_dir, _ = tiny_run
    steps = [int(row["EnvironmentSteps"]) for row in metrics_rows(run_dir)]
    # No warm-up collect; each iteration adds 2 whole episodes (reset steps not counted).
    assert steps[0] == 0
    for iteration, count in zip((2, 4), steps[1:], strict=False):
        episodes = 2 * iteration
        assert episodes * SHORTEST_EPISODE <= count <= episodes * LONGEST_EPISODE
    assert read_summary(run_dir)["environment_steps"] == steps[-1]


@pytest.mark.parametrize("name", ["returns.png", "loss.png"])
def test_returns_and_loss_plots_are_pngs(tiny_run, name):
    assert_png(tiny_run[0] / name)


@pytest.mark.parametrize("name", ["trained-agent", "random-agent"])
def test_videos_decode_to_cartpole_frames(tiny_run, name):
    # One episode: the reset frame and at least 8 steps.
    assert_cartpole_video(tiny_run[0] / f"{name}.mp4", min_frames=SHORTEST_EPISODE + 1)


def test_run_directory_records_config_checkpoint_and_policy(tiny_run):
    run_dir, _ = tiny_run
    config = config_json(run_dir)
    assert config["collect_episodes_per_iteration"] == 2 and config["fc_layer_params"] == [100]
    assert config["replay_buffer_capacity"] == 2000 and config["video_fps"] == 60
    assert (run_dir / "policies" / "policy" / "saved_model.pb").is_file()
    assert list((run_dir / "train" / "checkpoints").glob("ckpt-4*"))
    summary = read_summary(run_dir)
    assert summary["recipe"] == "reinforce_cartpole" and summary["iterations"] == 4
    assert math.isfinite(summary["final_loss"])


def test_eval_only_replays_the_exported_policy(tiny_run):
    run_dir, _ = tiny_run
    result = run_cli(RECIPE, "--run-dir", str(run_dir), "--eval-only")
    assert result.returncode == 0, result.stderr[-2000:]
    average = float(re.search(r"saved policy: Average Return = ([\d.]+)", result.stdout).group(1))
    assert SHORTEST_EPISODE <= average <= LONGEST_EPISODE
    assert_cartpole_video(run_dir / "saved-policy.mp4", min_frames=SHORTEST_EPISODE + 1)


def test_a_larger_budget_continues_a_finished_run(tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli(RECIPE, *TINY, "--num-video-episodes", "0", "--run-dir", str(run_dir))
    assert first.returncode == 0, first.stderr[-2000:]
    steps = read_summary(run_dir)["environment_steps"]
    second = run_cli(RECIPE, "--run-dir", str(run_dir), "--num-iterations", "6")
    assert second.returncode == 0, second.stderr[-2000:]
    # The table is emptied every iteration, so there are no replay contents to restore.
    assert f"resuming from iteration 4 ({steps} environment steps)\n" in second.stdout
    assert "random policy" not in second.stdout
    assert [int(row["iteration"]) for row in metrics_rows(run_dir)] == [0, 2, 4, 6]
    assert read_summary(run_dir)["environment_steps"] >= steps + 2 * 2 * SHORTEST_EPISODE


def test_sigint_saves_progress_and_the_run_resumes(tmp_path):
    run_dir = tmp_path / "run"
    args = [*TINY, "--num-iterations", "100000", "--num-video-episodes", "0"]
    args += ["--run-dir", str(run_dir)]
    returncode, stderr = interrupt_when(RECIPE, args, "step = 4:")
    assert returncode == 130
    stopped_at = interrupted_iteration(stderr)
    assert stopped_at >= 4
    resumed = run_cli(RECIPE, "--run-dir", str(run_dir), "--num-iterations", str(stopped_at + 2))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming from iteration {stopped_at} " in resumed.stdout
    assert read_summary(run_dir)["iterations"] == stopped_at + 2


BAD_INPUT = (
    (("--env-name", "NoSuchEnv-v0"), "unknown environment 'NoSuchEnv-v0'"),
    (("--num-iterations", "-5"), "--num-iterations must be >= 1, got -5"),
    (("--collect-episodes-per-iteration", "0"), "--collect-episodes-per-iteration must be >= 1"),
    (("--learning-rate", "fast"), "--learning-rate: cannot read 'fast' as float"),
    (("--fc-layer-params", "100,-3"), "--fc-layer-params must be one or more values >= 1"),
    (("--no-such-flag", "1"), "unrecognized arguments: --no-such-flag"),
)


@pytest.mark.parametrize("flags, expected", BAD_INPUT)
def test_bad_input_is_one_line_and_exit_2(flags, expected):
    assert_one_line_error(batched(RECIPE, BAD_INPUT)[flags], expected)


def test_same_seed_repeats_everything_before_the_first_replay_sample(tmp_path):
    # Reverb's sampler takes no seed (google-deepmind/reverb#25) and decides which of the
    # two collected episodes the agent learns from, so returns after training differ
    # between runs of a seed. The seed fixes the rest: the random baseline, the untrained
    # policy's returns and the episodes of the first collect.
    flags = ("--num-iterations", "1", "--eval-interval", "1", "--log-interval", "1")

    def figures(seed: int, name: str) -> tuple:
        summary = seeded_run(RECIPE, tmp_path / name, seed, *flags)
        first_collect = int(metrics_rows(tmp_path / name)[1]["EnvironmentSteps"])
        return summary["random_average_return"], summary["evaluations"][0], first_collect

    first = figures(7, "a")
    assert figures(7, "b") == first
    assert figures(8, "c") != first


# Regression against the tutorial (191.5 at iteration 250, one run), with the tutorial's
# own budget. Measured with `python -m tfa_recipes.reinforce_cartpole --seed k` (250
# iterations, evaluations of 10 episodes every 50), 50-62 s of training each:
#     seed                      0      1      2      3      4
#     random policy          21.8   18.3   20.1   24.3   20.1
#     iteration 200         121.0  139.2  116.7  190.1  126.7
#     iteration 250         200.0  200.0  200.0  200.0  200.0
# Reverb's sampler takes no seed, so reruns differ and the returns swing by 50-100 between
# evaluations before 250; the bars sit well below the measured finals: median >= 150 and
# every seed at least 3x the best random baseline (~60-75).
REGRESSION_SEEDS = "0-4"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_reinforce_learns_cartpole_over_five_seeds(tmp_path):
    summaries = seed_group(RECIPE, tmp_path / "group", REGRESSION_SEEDS, timeout=1700)
    finals = [summary["final_average_return"] for summary in summaries.values()]
    randoms = [summary["random_average_return"] for summary in summaries.values()]
    report = json.dumps({"finals": finals, "randoms": randoms})
    assert len(finals) == 5, report
    assert statistics.median(finals) >= 150, report
    assert min(finals) >= 3 * max(randoms), report
