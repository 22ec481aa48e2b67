"""dqn_cartpole_pixels through its real command line, at tiny budgets."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from cli_checks import assert_one_line_error, batched
from PIL import Image

from conftest import read_summary, run_cli

RECIPE = "tfa_recipes.dqn_cartpole_pixels"
# Iterations are episodes; a batch of 8 makes updates start within the first episode.
TINY = (
    "--num-iterations", "4",
    "--batch-size", "8",
    "--replay-memory-capacity", "400",
    "--log-interval", "2",
    "--eval-interval", "2",
    "--checkpoint-interval", "2",
    "--num-eval-episodes", "2",
    "--num-video-episodes", "1",
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, object]:
    run_dir = tmp_path_factory.mktemp("pixels") / "run"
    result = run_cli(RECIPE, *TINY, "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


def metrics_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def checkpoint_values(run_dir: Path) -> dict[str, int]:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(run_dir / "train" / "checkpoints"))
    names = ("steps_done", "episodes_done", "iteration", "replay_memory/_last_id")
    return {name: int(reader.get_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE")) for name in names}


def test_prints_the_random_baseline_and_progress_by_episode(tiny_run):
    _, result = tiny_run
    assert "random policy: Average Return = " in result.stdout
    assert "step = 0: Average Return = " in result.stdout
    assert "step = 2: loss = " in result.stdout
    assert "step = 4: Average Return = " in result.stdout


def test_metrics_count_episodes_and_their_environment_steps(tiny_run):
    run_dir, _ = tiny_run
    rows = metrics_rows(run_dir)
    assert [int(row["iteration"]) for row in rows] == [0, 2, 4]
    steps = [int(row["EnvironmentSteps"]) for row in rows]
    # A CartPole episode lasts at least 8 steps.
    assert steps[0] == 0 and steps[1] >= 16 and steps[2] >= steps[1] + 16
    losses = [float(row["loss"]) for row in rows if row["loss"]]
    assert len(losses) == 2 and all(math.isfinite(loss) and loss >= 0 for loss in losses)
    returns = [float(row["AverageReturn"]) for row in rows if row["AverageReturn"]]
    assert len(returns) == 3 and all(8 <= value <= 500 for value in returns)
    summary = read_summary(run_dir)
    assert summary["iterations"] == 4 and summary["environment_steps"] == steps[2]
    assert 8 <= summary["random_average_return"] <= 500


@pytest.mark.parametrize("name", ["trained-agent", "random-agent", "best-agent"])
def test_gifs_decode_to_full_cartpole_frames(tiny_run, name):
    run_dir, _ = tiny_run
    path = run_dir / f"{name}.gif"
    frames = iio.imread(path)
    # The tutorial films env.render() frames, not the 40x90 patches the agent sees.
    assert frames.ndim == 4 and frames.shape[1:] == (400, 600, 3)
    assert frames.shape[0] >= 5 and frames.dtype == np.uint8
    assert 50 < frames.mean() < 255
    assert iio.immeta(path)["loop"] == 0


def test_returns_plot_is_a_png(tiny_run):
    run_dir, _ = tiny_run
    with Image.open(run_dir / "returns.png") as image:
        assert image.format == "PNG" and image.size[0] > 300


def test_run_directory_records_the_tutorials_values_and_the_state_to_resume(tiny_run):
    run_dir, _ = tiny_run
    config = json.loads((run_dir / "config.json").read_text())
    assert config["batch_size"] == 8 and config["num_iterations"] == 4
    assert (config["env_name"], config["gamma"], config["eps_decay"]) == ("CartPole-v1", 0.999, 200)
    assert (config["target_update"], config["video_format"]) == (10, "gif")
    assert (run_dir / "policies" / "policy" / "saved_model.pb").is_file()
    assert list((run_dir / "train").glob("events.out.tfevents.*"))
    saved = checkpoint_values(run_dir)
    steps = read_summary(run_dir)["environment_steps"]
    # The exploration schedule's step counter, the episode counter and the replay memory
    # (every step plus one episode-boundary item per episode) are in the checkpoint.
    assert saved["steps_done"] == steps and saved["episodes_done"] == saved["iteration"] == 4
    assert saved["replay_memory/_last_id"] + 1 == steps + 4


def test_eval_only_plays_the_exported_policy_on_screen_patches(tiny_run):
    run_dir, _ = tiny_run
    result = run_cli(RECIPE, "--run-dir", str(run_dir), "--eval-only")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "saved policy: Average Return = " in result.stdout
    assert iio.imread(run_dir / "saved-policy.gif").shape[1:] == (400, 600, 3)


def test_the_policy_at_its_best_evaluation_is_exported(tiny_run):
    run_dir, _ = tiny_run
    summary = read_summary(run_dir)
    returns = [value for _, value in summary["evaluations"]]
    first_best = next(it for it, value in summary["evaluations"] if value == max(returns))
    assert summary["best_policy"] == {"iteration": first_best, "average_return": max(returns)}
    assert (run_dir / "policies" / "best_policy" / "saved_model.pb").is_file()


def test_eval_only_best_plays_the_policy_kept_at_the_best_evaluation(tiny_run):
    run_dir, _ = tiny_run
    result = run_cli(RECIPE, "--run-dir", str(run_dir), "--eval-only", "--best")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "best saved policy: Average Return = " in result.stdout
    assert iio.imread(run_dir / "saved-best-policy.gif").shape[1:] == (400, 600, 3)


def test_resume_continues_the_schedule_and_the_replay_memory(tiny_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run[0], run_dir)
    before = checkpoint_values(run_dir)
    result = run_cli(
        RECIPE, "--run-dir", str(run_dir), "--num-iterations", "6", "--num-video-episodes", "0"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resuming from iteration 4 ({before['steps_done']} environment steps)" in result.stdout
    assert "random policy" not in result.stdout
    after = checkpoint_values(run_dir)
    steps = read_summary(run_dir)["environment_steps"]
    assert after["episodes_done"] == 6 and after["steps_done"] == steps > before["steps_done"]
    assert after["replay_memory/_last_id"] + 1 == steps + 6


BAD_INPUT = (
    (("--env-name", "NoSuchEnv-v0"), "unknown environment 'NoSuchEnv-v0'"),
    (("--env-name", "MountainCar-v0"), "--env-name must be a CartPole environment"),
    (("--gamma", "1.5"), "--gamma must be <= 1, got 1.5"),
    (("--eps-decay", "0"), "--eps-decay must be >= 1, got 0.0"),
    (("--best",), "--best goes with --eval-only"),
)


@pytest.mark.parametrize("flags, expected", BAD_INPUT)
def test_bad_input_is_one_line_and_exit_2(flags, expected):
    assert_one_line_error(batched(RECIPE, BAD_INPUT, run_dirs=True)[flags], expected)


def test_per_frame_batch_norm_is_training_mode_on_each_frame_alone():
    import tensorflow as tf
    from tf_agents.specs import tensor_spec

    from tfa_recipes.blocks import networks

    observation_spec = tensor_spec.BoundedTensorSpec((40, 90, 3), tf.float32, -1.0, 1.0)
    action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
    q_net = networks.pixel_q_network(observation_spec, action_spec)
    q_net.create_variables()
    frames = tf.random.stateless_uniform([3, 40, 90, 3], seed=(1, 2), minval=-0.2, maxval=0.2)

    moving_before = [v.numpy() for v in q_net.variables if "moving" in v.name]

    per_frame, _ = networks.PerFrameBatchNorm(q_net)(frames)

    moving_after = [v.numpy() for v in q_net.variables if "moving" in v.name]
    assert len(moving_after) == 6
    assert all(np.array_equal(a, b) for a, b in zip(moving_before, moving_after, strict=True))

    # The tutorial's select_action: policy_net in training mode on a batch of one frame.
    one_at_a_time = np.concatenate(
        [q_net(frames[i : i + 1], training=True)[0].numpy() for i in range(3)]
    )
    np.testing.assert_allclose(per_frame.numpy(), one_at_a_time, atol=1e-4)
    # Another frame beside it in the batch changes nothing (a batched evaluation).
    alone, _ = networks.PerFrameBatchNorm(q_net)(frames[:1])
    np.testing.assert_allclose(alone.numpy(), per_frame.numpy()[:1], atol=1e-5)
    # Different from the moving averages, which it reads nothing from.
    inference, _ = q_net(frames, training=False)
    assert not np.allclose(inference.numpy(), per_frame.numpy(), atol=1e-3)


def test_acting_with_frame_statistics_runs_end_to_end(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        RECIPE, *TINY, "--num-video-episodes", "0", "--act-with-frame-statistics", "true",
        "--run-dir", str(run_dir),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["act_with_frame_statistics"] is True
    summary = read_summary(run_dir)
    assert [iteration for iteration, _ in summary["evaluations"]] == [0, 2, 4]
    assert all(9 <= value <= 500 for _, value in summary["evaluations"])
