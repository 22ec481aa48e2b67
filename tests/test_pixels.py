"""ScreenPatchDifference: the PyTorch DQN tutorial's `get_screen` observations."""

from __future__ import annotations

import numpy as np
import pytest
from tf_agents.environments import tf_py_environment, utils
from tf_agents.specs import array_spec

from tfa_recipes.envs.gym import load_gym
from tfa_recipes.envs.pixels import (
    ScreenPatchDifference,
    cart_column,
    screen_patch,
    screen_view,
    window,
)

LEFT, RIGHT = np.array(0), np.array(1)


@pytest.fixture
def env() -> ScreenPatchDifference:
    py_env = ScreenPatchDifference(load_gym("CartPole-v1"))
    py_env.seed(0)
    return py_env


def place_cart(env: ScreenPatchDifference, x: float) -> None:
    """Put the cart at `x` (metres from the centre) with the pole upright."""
    env.gym.unwrapped.state = np.array([x, 0.0, 0.0, 0.0])


def cart_centre_in_patch(patch: np.ndarray) -> float:
    """Mean column of the black cart body in a 40-row patch.

    The cart spans frame rows 285-315 of 400 (patch rows 31-38); rows 31-33 hold the
    cart but neither the track line (row 35) nor much of the brown pole.
    """
    dark = patch[31:34].max(axis=-1) < 0.2
    columns = np.nonzero(dark.any(axis=0))[0]
    assert columns.size, "no cart in the patch"
    return float(columns.mean())


def test_spec_is_a_40x90x3_float32_difference_in_minus_one_to_one(env):
    expected = array_spec.BoundedArraySpec(
        (40, 90, 3), np.float32, minimum=-1.0, maximum=1.0, name="screen_difference"
    )
    assert env.observation_spec() == expected
    assert env.time_step_spec().observation == expected
    tf_env = tf_py_environment.TFPyEnvironment(env)
    assert tf_env.observation_spec().shape == (40, 90, 3)
    assert tf_env.observation_spec().dtype.name == "float32"


def test_observations_conform_to_the_spec_over_whole_episodes(env):
    # TF-Agents' own validator: shapes, dtypes and bounds of every time step.
    utils.validate_py_environment(env, episodes=3)


def test_patch_is_the_tutorials_3x40x90_strip_in_zero_to_one(env):
    env.reset()
    patch = env.current_patch()
    assert patch.shape == (40, 90, 3) and patch.dtype == np.float32
    assert 0.0 <= patch.min() and patch.max() <= 1.0
    # White background, black cart and track, brown pole: not a blank strip.
    assert patch.max() == 1.0 and patch.min() < 0.1


@pytest.mark.parametrize(
    "centre, expected",
    [
        (300, slice(120, 480)),
        (181, slice(1, 361)),
        (180, slice(0, 360)),
        (179, slice(0, 360)),
        (0, slice(0, 360)),
        (420, slice(240, 600)),
        (421, slice(240, 600)),
        (600, slice(240, 600)),
    ],
)
def test_window_is_centred_and_clamped_like_the_tutorials_slice_range(centre, expected):
    assert window(centre, 600, 360) == expected


# The 360-pixel window fits on the 600-pixel screen while |x| <= 120 px / 125 px per metre.
@pytest.mark.parametrize("x", [-0.95, 0.0, 0.5, 0.95])
def test_cart_away_from_the_edges_is_in_the_middle_of_the_patch(env, x):
    env.reset()
    place_cart(env, x)
    # 45 = 90 / 2; the window starts at an integer column, so allow a pixel of rounding.
    assert cart_centre_in_patch(env.current_patch()) == pytest.approx(44.5, abs=1.0)


# At x = -2 the cart's middle is at column 50 of 600, at x = 2 at column 550: the window
# stops at the screen's edge and the cart sits a quarter of its column into the patch.
@pytest.mark.parametrize("x, frame_column, window_start", [(-2.0, 50, 0), (2.0, 550, 240)])
def test_cart_near_a_track_end_keeps_the_window_on_screen(env, x, frame_column, window_start):
    env.reset()
    place_cart(env, x)
    assert cart_column(env, 600) == frame_column
    expected_column = (frame_column - window_start) / 4
    # The same patch as for a cart exactly at the screen's edge: the window is clamped.
    frame = env.render("rgb_array")
    np.testing.assert_array_equal(env.current_patch(), screen_patch(frame, 0 if x < 0 else 600))
    assert cart_centre_in_patch(env.current_patch()) == pytest.approx(expected_column, abs=1.5)


def test_reset_observation_is_zero_as_current_screen_minus_last_screen(env):
    observation = env.reset().observation
    assert observation.shape == (40, 90, 3)
    assert not observation.any()


def test_step_observation_is_the_new_patch_minus_the_previous_one(env):
    env.reset()
    for _ in range(8):
        before = env.current_patch()
        time_step = env.step(RIGHT)
        after = env.current_patch()
        np.testing.assert_array_equal(time_step.observation, after - before)
    # Eight pushes in one direction move the cart and the pole: the difference shows it.
    assert np.abs(time_step.observation).max() > 0.1


def test_difference_restarts_at_zero_after_an_episode_ends(env):
    time_step = env.reset()
    while not time_step.is_last():
        time_step = env.step(LEFT)
    time_step = env.step(LEFT)  # auto-reset: a new episode begins
    assert time_step.is_first()
    assert not time_step.observation.any()
    before = env.current_patch()
    time_step = env.step(RIGHT)
    np.testing.assert_array_equal(time_step.observation, env.current_patch() - before)


def test_rewards_and_episode_ends_are_cartpoles(env):
    plain = load_gym("CartPole-v1")
    plain.seed(0)
    plain.reset()
    env.reset()
    # The wrapper resets once while it is built, so compare dynamics, not seeds: with the
    # same start state both environments follow the same trajectory.
    env.gym.unwrapped.state = plain.gym.unwrapped.state.copy()
    for _ in range(200):
        expected, got = plain.step(LEFT), env.step(LEFT)
        assert (got.reward, got.step_type, got.discount) == (
            expected.reward,
            expected.step_type,
            expected.discount,
        )
        if expected.is_last():
            break
    assert got.is_last()


def test_screen_view_is_the_rendered_frame_over_an_episode(env):
    # CartPole's frames are read from its screen instead of copied whole: pixel for pixel
    # the frame `render("rgb_array")` returns, at every step and at the track's ends.
    rng = np.random.default_rng(0)
    env.reset()
    for step in range(60):
        if step in (20, 40):
            place_cart(env, -2.3 if step == 20 else 2.3)
        view = screen_view(env)
        assert not view.flags.writeable
        frame = np.array(view)
        del view
        np.testing.assert_array_equal(frame, env.render("rgb_array"))
        if env.step(np.array(rng.integers(2))).is_last():
            env.reset()


def test_screen_view_falls_back_to_a_copy_for_other_environments():
    other = load_gym("MountainCar-v0")
    other.reset()
    np.testing.assert_array_equal(screen_view(other), other.render("rgb_array"))
