"""The Atari bridge on its own: gym 0.23 ids over ale-py, as Hands-On ML loads Breakout."""

from __future__ import annotations

import gym
import numpy as np
import pytest
from tf_agents.environments import suite_atari, suite_gym
from tf_agents.environments.atari_preprocessing import AtariPreprocessing
from tf_agents.environments.atari_wrappers import FrameStack4

from tfa_recipes.envs import atari
from tfa_recipes.errors import RecipeError
from tfa_recipes.output import media

from conftest import run_cli

NOOP, FIRE, RIGHT, LEFT = range(4)


def book_breakout(wrapper=atari.AtariPreprocessingWithAutoFire):
    """The book's call, word for word."""
    return suite_atari.load(
        "BreakoutNoFrameskip-v4",
        max_episode_steps=27000,
        gym_env_wrappers=[wrapper, FrameStack4],
    )


def play(env, actions) -> list[np.ndarray]:
    observations = [env.reset().observation]
    for action in actions:
        observations.append(env.step(np.array(action, dtype=np.int64)).observation)
    return observations


def test_the_books_suite_atari_call_gives_stacked_uint8_frames_and_four_actions():
    env = book_breakout()
    assert env.observation_spec().shape == (84, 84, 4)
    assert env.observation_spec().dtype == np.uint8
    action_spec = env.action_spec()
    assert (action_spec.minimum, action_spec.maximum) == (0, 3)
    assert env.gym.unwrapped.get_action_meanings() == ["NOOP", "FIRE", "RIGHT", "LEFT"]
    time_step = env.reset()
    assert time_step.is_first()
    assert time_step.observation.shape == (84, 84, 4)
    assert time_step.observation.dtype == np.uint8
    for _ in range(4):
        time_step = env.step(np.array(LEFT, dtype=np.int64))
    assert time_step.observation.shape == (84, 84, 4) and time_step.observation.dtype == np.uint8
    assert time_step.observation.max() > 0
    assert time_step.reward.dtype == np.float32


def test_ids_are_registered_with_gym_as_gym_021_did():
    assert gym.spec("BreakoutNoFrameskip-v4").entry_point == "tfa_recipes.envs.atari:AtariEnv"
    assert gym.spec("BreakoutNoFrameskip-v4").kwargs["frameskip"] == 1
    assert gym.spec("BreakoutNoFrameskip-v4").kwargs["repeat_action_probability"] == 0.0
    assert gym.spec("BreakoutNoFrameskip-v0").kwargs["repeat_action_probability"] == 0.25
    assert gym.spec("SpaceInvadersDeterministic-v4").kwargs["frameskip"] == 3
    assert gym.spec("Breakout-ram-v4").kwargs["obs_type"] == "ram"


def test_the_books_raw_breakout_v4_loads_with_suite_gym():
    env = suite_gym.load("Breakout-v4")
    assert env.observation_spec().shape == (210, 160, 3)
    assert (env.action_spec().minimum, env.action_spec().maximum) == (0, 3)
    assert isinstance(env.gym.unwrapped, atari.AtariEnv)
    env.seed(42)
    assert env.reset().observation.shape == (210, 160, 3)
    assert env.step(np.array(FIRE, dtype=np.int64)).step_type == 1


def test_gym_level_api_is_gym_021s():
    env = gym.make("BreakoutNoFrameskip-v4")
    seeds = env.seed(42)
    assert len(seeds) == 2 and seeds[0] == 42
    observation = env.reset()
    assert isinstance(observation, np.ndarray) and observation.shape == (210, 160, 3)
    observation, reward, done, info = env.step(FIRE)
    assert observation.shape == (210, 160, 3)
    assert isinstance(reward, float) and done is False and info["ale.lives"] == 5
    assert env.ale.lives() == 5
    observation, info = env.reset(seed=1, return_info=True)
    assert info == {"ale.lives": 5}


def test_render_gives_the_full_rgb_screen():
    env = book_breakout()
    env.reset()
    frame = env.render(mode="rgb_array")
    assert frame.shape == (210, 160, 3) and frame.dtype == np.uint8
    assert frame.max() > 0


def test_same_seed_same_actions_give_the_same_observations():
    actions = np.random.default_rng(0).integers(0, 4, size=300)
    first, second = book_breakout(), book_breakout()
    first.seed(3)
    second.seed(3)
    for a, b in zip(play(first, actions), play(second, actions), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_seed_drives_sticky_actions_of_v0():
    # -v4 has no source of randomness (gym's own words), so only -v0's sticky actions show
    # the seed: with another seed the same actions end in another state.
    actions = np.random.default_rng(0).integers(0, 4, size=300)

    def final_frame(seed: int) -> np.ndarray:
        env = suite_atari.load(
            "BreakoutNoFrameskip-v0", gym_env_wrappers=[AtariPreprocessing, FrameStack4]
        )
        env.seed(seed)
        return play(env, actions)[-1]

    np.testing.assert_array_equal(final_frame(1), final_frame(1))
    assert not np.array_equal(final_frame(1), final_frame(2))


def test_auto_fire_launches_the_ball_so_doing_nothing_loses_every_life():
    env = book_breakout()
    time_step = env.reset()
    lives = [env.gym.ale.lives()]
    steps = 0
    while not time_step.is_last() and steps < 2000:
        time_step = env.step(np.array(NOOP, dtype=np.int64))
        lives.append(env.gym.ale.lives())
        steps += 1
    assert time_step.is_last()
    assert lives[0] == 5 and lives[-1] == 0
    assert sorted(set(lives), reverse=True) == [5, 4, 3, 2, 1, 0]


def test_without_auto_fire_the_ball_never_comes():
    env = book_breakout(AtariPreprocessing)
    env.reset()
    for _ in range(300):
        time_step = env.step(np.array(NOOP, dtype=np.int64))
    assert not time_step.is_last() and env.gym.ale.lives() == 5


def test_skip_start_skips_40_steps_of_blinking_in_space_invaders():
    env = atari.load_atari("SpaceInvaders", seed=0)
    assert isinstance(env.gym.env, atari.AtariPreprocessingWithSkipStart)
    assert env.action_spec().maximum == 5
    env.reset()
    # 40 NOOP steps of 4 frames each.
    assert env.gym.ale.getEpisodeFrameNumber() == 40 * 4


def test_auto_fire_takes_one_step_at_reset():
    env = atari.load_atari("Breakout", seed=0)
    assert isinstance(env.gym.env, atari.AtariPreprocessingWithAutoFire)
    env.reset()
    assert env.gym.ale.getEpisodeFrameNumber() == 4


@pytest.mark.parametrize(
    "game, wrapper",
    [
        ("Breakout", atari.AtariPreprocessingWithAutoFire),
        ("SpaceInvaders", atari.AtariPreprocessingWithSkipStart),
        ("Pong", atari.AtariPreprocessingWithAutoFire),
        ("Freeway", AtariPreprocessing),
    ],
)
def test_each_game_gets_the_books_preprocessing_or_auto_fire_if_it_has_fire(game, wrapper):
    assert atari.preprocessing_for(game) is wrapper


def test_an_unknown_game_is_a_one_line_error_naming_the_listing_command():
    with pytest.raises(RecipeError) as caught:
        atari.environment_name("Breakfast")
    message = str(caught.value)
    assert "\n" not in message
    assert "unknown Atari game 'Breakfast'" in message
    assert "did you mean Breakout" in message
    assert "python -m tfa_recipes.envs.atari" in message


def test_listing_command_prints_the_games():
    result = run_cli("tfa_recipes.envs.atari", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    games = result.stdout.split()
    assert "Breakout" in games and "SpaceInvaders" in games and "Pong" in games
    assert games == atari.available_games()
    assert atari.environment_name("SpaceInvaders") == "SpaceInvadersNoFrameskip-v4"


def test_observation_picture_shows_the_newest_frame_in_pink(tmp_path):
    obs = np.zeros((84, 84, 4), dtype=np.uint8)
    obs[10, 10, :] = 100  # in every frame: grey
    obs[20, 20, 3] = 150  # only in the newest frame: pink
    image = media.stacked_frames_image(obs)
    assert image.shape == (84, 84, 3) and image.min() >= 0 and image.max() <= 1
    np.testing.assert_allclose(image[10, 10], [100 / 150] * 3)
    np.testing.assert_allclose(image[20, 20], [1.0, 0.0, 1.0])
    path = media.plot_observation(obs, tmp_path / "observation.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
