"""dqn_cartpole_classic through its real command line, at tiny budgets."""

from __future__ import annotations

import json
import math
import re

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

RECIPE = "tfa_recipes.dqn_cartpole_classic"
TINY = (
    "--num-iterations", "60",
    "--log-interval", "20",
    "--eval-interval", "30",
    "--checkpoint-interval", "30",
    "--num-eval-episodes", "2",
    "--num-video-episodes", "1",
    "--initial-collect-steps", "64",
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("dqn_classic") / "run"
    result = run_cli(RECIPE, *TINY, "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


def test_prints_the_notebooks_console_lines(tiny_run):
    _, result = tiny_run
    assert "random policy: Average Return = " in result.stdout
    assert "step = 20: loss = " in result.stdout
    assert "step = 60: Average Return = " in result.stdout


def test_metrics_csv_has_numeric_rows(tiny_run):
    run_dir, _ = tiny_run
    assert_numeric_metrics(run_dir, iterations=[0, 20, 30, 40, 60], max_return=200)
    # 64 random warm-up steps, then one step per iteration (reset steps not counted).
    steps = [int(row["EnvironmentSteps"]) for row in metrics_rows(run_dir)]
    assert steps == [64, 84, 94, 104, 124]


def test_returns_plot_is_a_png(tiny_run):
    assert_png(tiny_run[0] / "returns.png")


@pytest.mark.parametrize("name", ["trained-agent", "random-agent"])
def test_videos_decode_to_cartpole_frames(tiny_run, name):
    assert_cartpole_video(tiny_run[0] / f"{name}.mp4", min_frames=9)


def test_checkpoint_holds_the_replay_buffer_beside_the_agent(tiny_run):
    run_dir, _ = tiny_run
    import tensorflow as tf

    checkpoint = tf.train.latest_checkpoint(str(run_dir / "train" / "checkpoints"))
    assert checkpoint.endswith("ckpt-60")
    names = [name for name, _ in tf.train.list_variables(checkpoint)]
    assert any(name.startswith("replay_buffer/") for name in names), names[:20]
    assert any(name.startswith("agent/") for name in names)


def test_run_directory_records_config_and_policy(tiny_run):
    run_dir, _ = tiny_run
    config = config_json(run_dir)
    assert config["fc_layer_params"] == [100] and config["replay_buffer_max_length"] == 100000
    assert (run_dir / "policies" / "policy" / "saved_model.pb").is_file()
    summary = read_summary(run_dir)
    assert summary["recipe"] == "dqn_cartpole_classic" and summary["environment_steps"] == 124
    assert math.isfinite(summary["final_loss"])


def test_eval_only_replays_the_exported_policy(tiny_run):
    run_dir, _ = tiny_run
    result = run_cli(RECIPE, "--run-dir", str(run_dir), "--eval-only", "--num-video-episodes", "0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"saved policy: Average Return = [\d.]+ over 2 episodes", result.stdout)


def test_a_larger_budget_continues_with_the_checkpointed_replay(tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli(RECIPE, *TINY, "--num-video-episodes", "0", "--run-dir", str(run_dir))
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_cli(RECIPE, "--run-dir", str(run_dir), "--num-iterations", "90")
    assert second.returncode == 0, second.stderr[-2000:]
    # The buffer comes back from the checkpoint: no second warm-up collect.
    assert "resuming from iteration 60 (124 environment steps)\n" in second.stdout
    assert "refilling" not in second.stdout and "random policy" not in second.stdout
    assert [int(row["iteration"]) for row in metrics_rows(run_dir)] == [0, 20, 30, 40, 60, 80, 90]
    assert read_summary(run_dir)["environment_steps"] == 154


def test_sigint_saves_progress_and_the_run_resumes(tmp_path):
    run_dir = tmp_path / "run"
    args = [*TINY, "--num-iterations", "1000000", "--num-video-episodes", "0"]
    args += ["--run-dir", str(run_dir)]
    returncode, stderr = interrupt_when(RECIPE, args, "step = 40:")
    assert returncode == 130
    stopped_at = interrupted_iteration(stderr)
    assert stopped_at >= 40
    resumed = run_cli(RECIPE, "--run-dir", str(run_dir), "--num-iterations", str(stopped_at + 30))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    expected = f"resuming from iteration {stopped_at} ({64 + stopped_at} environment steps)"
    assert expected in resumed.stdout
    assert read_summary(run_dir)["environment_steps"] == 64 + stopped_at + 30


BAD_INPUT = (
    (("--env-name", "NoSuchEnv-v0"), "unknown environment 'NoSuchEnv-v0'"),
    (("--num-iterations", "-5"), "--num-iterations must be >= 1, got -5"),
    (("--replay-buffer-max-length", "0"), "--replay-buffer-max-length must be >= 1, got 0"),
    (("--batch-size", "lots"), "--batch-size: cannot read 'lots' as int"),
    (("--fc-layer-params", ""), "--fc-layer-params must be one or more values >= 1"),
    (("--no-such-flag", "1"), "unrecognized arguments: --no-such-flag"),
)


@pytest.mark.parametrize("flags, expected", BAD_INPUT)
def test_bad_input_is_one_line_and_exit_2(flags, expected):
    assert_one_line_error(batched(RECIPE, BAD_INPUT)[flags], expected)


def test_same_seed_gives_the_same_returns(tmp_path):
    # TFUniformReplayBuffer samples with TensorFlow's seeded random ops, so unlike the
    # Reverb recipes the whole run repeats: every evaluation and the final loss. Only when
    # sampling happens in the train step: the notebook's prefetching dataset samples on
    # threads that race the driver's writes.
    flags = ("--num-iterations", "300", "--eval-interval", "100", "--log-interval", "100",
             "--num-eval-episodes", "3", "--prefetch-samples", "false")

    def figures(seed: int, name: str) -> tuple:
        summary = seeded_run(RECIPE, tmp_path / name, seed, *flags)
        return summary["evaluations"], summary["final_loss"]

    first = figures(3, "a")
    assert figures(3, "b") == first
    assert figures(4, "c") != first


# Regression: the notebook shows no figures; the 2023 tutorial it became reaches 200 from
# 2,000 iterations. This network (one layer of 100, the notebook's) learns more slowly.
# Measured with the notebook's budget and evaluation interval, 20,000 iterations with an
# evaluation every 1,000 (`--seed k --eval-interval 1000`):
#   sampling in the train step (`--no-prefetch-samples`, a seed's run repeats exactly):
#     seed                  0       1       2
#     first eval >= 195   10000   12000   17000        (40-42 s of training each)
#   the notebook's prefetching dataset (runs of a seed differ), evaluation every 500:
#     seed                  0       1       2       3       4
#     first eval >= 195     500*   1000*    -     10000    1000*
#     best by 20,000        200     200   182.3     200     200
#   (* an early greedy policy that happens to balance, then falls back; seeds 0/1 then
#   settle at 200 from 9,000/14,500, seed 4 hovers at 190-200.)
# Since the loop runs many in-graph iterations per call (roles.GraphIterations) the
# repeatable mode draws differently; measured again, on 2026-12-04, with
# `python -m tfa_recipes.dqn_cartpole_classic --seed k --num-iterations 20000
# --eval-interval 1000 --log-interval 5000 --no-prefetch-samples --num-video-episodes 0`
# (runs repeat exactly; CI's run of seeds 1-4 gave the same iterations):
#     seed                  0      1      2      3      4      5      6      7      8      9
#     first eval >= 195     -    1000  12000  10000   8000   9000   8000   8000   8000   9000
#     best by 20,000      164.2   200    200  199.2    200    200    200    200    200    200
# Nine seeds of ten reach the CartPole-v0 bar of 195 within the notebook's 20,000
# iterations; seed 0 climbs to 164 and stays at 140-160 (the notebook's one layer of 100
# learns more slowly than the 2023 tutorial's two). The test runs seeds 0-4 as they come:
# at least four of five reach 195, and every one ends far above the random policy (~22):
# its best evaluation is at least 150. A seed stops at its first evaluation of 195 or more
# (`--stop-at-return 195`); a seed's run repeats exactly, so its first such iteration is
# the one in the table.
REGRESSION_SEEDS = "0-4"
SOLVED, SOLVED_SEEDS, LEARNED = 195, 4, 150


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_dqn_classic_solves_cartpole_on_most_seeds_and_learns_on_all(tmp_path):
    summaries = seed_group(
        RECIPE, tmp_path / "group", REGRESSION_SEEDS,
        "--num-iterations", "20000", "--eval-interval", "1000", "--log-interval", "5000",
        "--prefetch-samples", "false", "--stop-at-return", str(SOLVED), timeout=1100,
    )
    first = {
        seed: next((it for it, value in summary["evaluations"] if value >= SOLVED), None)
        for seed, summary in summaries.items()
    }
    best = {seed: summary["best_average_return"] for seed, summary in summaries.items()}
    report = json.dumps({"first >= 195": first, "best": best})
    assert len(summaries) == 5, report
    assert sum(it is not None for it in first.values()) >= SOLVED_SEEDS, report
    assert min(best.values()) >= LEARNED, report
