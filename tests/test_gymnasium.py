"""Gymnasium environments through `load_gym("gymnasium:<id>")` and `--env-name`."""

from __future__ import annotations

import json
import math

import gymnasium
import numpy as np
import pytest
from cli_checks import assert_one_line_error, run_cli_batch
from tf_agents.environments import utils as env_utils
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

from tfa_recipes.envs.gym import load_gym, render_frame
from tfa_recipes.envs.gymnasium import GymnasiumWrapper, spec_from_space
from tfa_recipes.errors import RecipeError

from conftest import read_summary, run_cli

RECIPE = "tfa_recipes.dqn_cartpole"
TINY = (
    "--num-iterations", "4",
    "--log-interval", "2",
    "--eval-interval", "2",
    "--num-eval-episodes", "1",
    "--num-video-episodes", "1",
    "--initial-collect-steps", "8",
)


def _episode(env, actions) -> list[ts.TimeStep]:
    """The time steps of one episode (reset, then `actions` in turn until a LAST step)."""
    steps = [env.reset()]
    for index in range(10_000):
        steps.append(env.step(np.asarray(actions[index % len(actions)], dtype=np.int64)))
        if steps[-1].is_last():
            return steps
    raise AssertionError("episode did not end")


def test_discrete_space_is_a_scalar_bounded_spec_from_its_start():
    spec = spec_from_space(gymnasium.spaces.Discrete(3, start=1), "action")
    assert spec == array_spec.BoundedArraySpec((), np.int64, minimum=1, maximum=3, name="action")


def test_box_space_keeps_shape_dtype_and_per_element_bounds():
    space = gymnasium.spaces.Box(low=np.array([-1.0, -2.0]), high=2.0, dtype=np.float32)
    spec = spec_from_space(space, "observation")
    assert spec.shape == (2,) and spec.dtype == np.float32
    np.testing.assert_array_equal(spec.minimum, [-1.0, -2.0])
    assert np.ndim(spec.maximum) == 0 and spec.maximum == 2.0


def test_dict_and_tuple_spaces_become_nested_specs():
    space = gymnasium.spaces.Dict(
        {"pixels": gymnasium.spaces.Box(0, 255, (2, 2, 3), np.uint8),
         "pair": gymnasium.spaces.Tuple((gymnasium.spaces.Discrete(2),
                                         gymnasium.spaces.MultiBinary(3)))}
    )
    spec = spec_from_space(space, "observation")
    assert spec["pixels"].dtype == np.uint8 and spec["pixels"].maximum == 255
    assert spec["pair"][0].maximum == 1 and spec["pair"][1].shape == (3,)


def test_cartpole_v1_has_the_specs_of_gyms_cartpole_v0():
    gymnasium_env = load_gym("gymnasium:CartPole-v1")
    gym_env = load_gym("CartPole-v0")
    assert gymnasium_env.action_spec() == gym_env.action_spec()
    assert gymnasium_env.observation_spec().shape == gym_env.observation_spec().shape
    assert gymnasium_env.observation_spec().dtype == gym_env.observation_spec().dtype
    assert gymnasium_env.time_step_spec().discount.dtype == np.float32


def test_wrapper_passes_tf_agents_environment_validation():
    env_utils.validate_py_environment(load_gym("gymnasium:CartPole-v1", seed=0), episodes=3)


def test_same_seed_plays_the_same_episode():
    actions = [0, 1, 1, 0, 1]
    first = _episode(load_gym("gymnasium:CartPole-v1", seed=7), actions)
    second = _episode(load_gym("gymnasium:CartPole-v1", seed=7), actions)
    other = _episode(load_gym("gymnasium:CartPole-v1", seed=8), actions)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.observation, b.observation)
    assert not np.array_equal(first[0].observation, other[0].observation)


def test_seed_applies_to_the_next_reset_only_so_episodes_differ():
    env = load_gym("gymnasium:CartPole-v1", seed=7)
    assert not np.array_equal(env.reset().observation, env.reset().observation)


def test_termination_ends_with_discount_zero():
    # Always pushing left topples the pole long before CartPole-v1's 500-step limit.
    steps = _episode(load_gym("gymnasium:CartPole-v1", seed=0), [0])
    assert len(steps) < 100
    assert steps[-1].step_type == ts.StepType.LAST and steps[-1].discount == 0.0
    assert all(step.discount == 1.0 for step in steps[1:-1])


def test_truncation_by_the_time_limit_ends_with_discount_one():
    steps = _episode(load_gym("gymnasium:CartPole-v1", seed=0, max_episode_steps=5), [0, 1])
    assert len(steps) == 6
    assert steps[-1].step_type == ts.StepType.LAST and steps[-1].discount == 1.0


def test_a_step_after_the_last_starts_a_new_episode():
    env = load_gym("gymnasium:CartPole-v1", seed=0, max_episode_steps=2)
    _episode(env, [0])
    assert env.step(np.int64(0)).step_type == ts.StepType.FIRST


def test_renders_rgb_frames_headless():
    env = load_gym("gymnasium:CartPole-v1", seed=0)
    env.reset()
    frame = render_frame(env)
    assert frame.shape == (400, 600, 3) and frame.dtype == np.uint8 and frame.mean() > 50


def test_lunar_lander_v3_loads_with_the_pinned_box2d_wheel():
    env = load_gym("gymnasium:LunarLander-v3", seed=0)
    assert isinstance(env, GymnasiumWrapper)
    assert env.observation_spec().shape == (8,) and env.action_spec().maximum == 3
    assert env.step(np.int64(0)).observation.shape == (8,)


def test_ale_breakout_v5_loads_from_ale_py():
    env = load_gym("gymnasium:ALE/Breakout-v5", seed=0)
    assert env.observation_spec().shape == (210, 160, 3)
    assert env.observation_spec().dtype == np.uint8 and env.action_spec().maximum == 3


def test_unknown_gymnasium_id_is_a_recipe_error_naming_it():
    with pytest.raises(RecipeError, match="unknown environment 'gymnasium:NoSuchEnv-v0'"):
        load_gym("gymnasium:NoSuchEnv-v0")


def test_dqn_cartpole_trains_on_gymnasium_cartpole_v1_through_its_cli(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(RECIPE, *TINY, "--env-name", "gymnasium:CartPole-v1",
                     "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "step = 4: Average Return = " in result.stdout
    config = json.loads((run_dir / "config.json").read_text())
    assert config["env_name"] == "gymnasium:CartPole-v1"
    summary = read_summary(run_dir)
    assert math.isfinite(summary["final_average_return"])
    assert (run_dir / "trained-agent.mp4").stat().st_size > 0


def test_unknown_gymnasium_id_on_the_cli_is_one_error_line(tmp_path):
    result = run_cli(RECIPE, *TINY, "--env-name", "gymnasium:NoSuchEnv-v0",
                     "--run-dir", str(tmp_path / "run"))
    assert_one_line_error(result, "unknown environment 'gymnasium:NoSuchEnv-v0'")


# Environments the recipes' Dense networks cannot read: one line each, and the run
# directory the command would have created is not left behind (issue 25, defect 6).
UNREADABLE = (
    (("--env-name", "gymnasium:FrozenLake-v1"), "a single int64 observation (a discrete state)"),
    (("--env-name", "gymnasium:ALE/Breakout-v5"), "uint8 observations of shape (210, 160, 3)"),
)


MODULES = ("tfa_recipes.dqn_cartpole", "tfa_recipes.reinforce_cartpole")


@pytest.fixture(scope="module")
def unreadable(tmp_path_factory) -> dict:
    """Each case's run directory and result, the commands run in one process."""
    folder = tmp_path_factory.mktemp("unreadable")
    cases = [(module, flags) for module in MODULES for flags, _ in UNREADABLE]
    run_dirs = [folder / f"case{index}" for index in range(len(cases))]
    results = run_cli_batch([
        (module, [*flags, "--num-iterations", "2", "--run-dir", str(run_dir)])
        for (module, flags), run_dir in zip(cases, run_dirs, strict=True)
    ])
    return dict(zip(cases, zip(run_dirs, results, strict=True), strict=True))


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("flags, expected", UNREADABLE)
def test_observations_a_dense_network_cannot_read_are_one_line_and_leave_nothing(
    unreadable, module, flags, expected
):
    run_dir, result = unreadable[(module, flags)]
    assert_one_line_error(result, f"reads one vector of floats per observation; {flags[1]} has "
                                  f"{expected}")
    assert not run_dir.exists()
