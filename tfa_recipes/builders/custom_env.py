"""The TensorFlow side of `tfa_recipes.custom_env`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

from functools import partial
from typing import Any

import gym.wrappers
import numpy as np
import tensorflow as tf
import tf_agents.environments.wrappers
from tf_agents.environments import py_environment, tf_py_environment, utils
from tf_agents.environments.wrappers import ActionRepeat

from tfa_recipes.custom_env import Config
from tfa_recipes.envs.grid import ACTION_NAMES, GridEnvironment
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.loop.evaluation import Evaluator
from tfa_recipes.output import media
from tfa_recipes.run.directory import RunDir
from tfa_recipes.seeds import set_seeds

# Down three times, then right three times: from (0, 0) to the goal (3, 3).
PATH_TO_GOAL = (1, 1, 1, 3, 3, 3)


def wrapper_docs() -> dict[str, str]:
    """Every TF-Agents environment wrapper and the first line of its docstring."""
    docs = {}
    for name in dir(tf_agents.environments.wrappers):
        obj = getattr(tf_agents.environments.wrappers, name)
        if isinstance(obj, type) and issubclass(
            obj, tf_agents.environments.wrappers.PyEnvironmentBaseWrapper
        ):
            docs[name] = (obj.__doc__ or "").strip().split("\n")[0]
    return docs


def play_actions(env: py_environment.PyEnvironment, actions: tuple[int, ...]) -> list[Any]:
    """Reset, then step with `actions` until the episode ends; every time step."""
    time_steps = [env.reset()]
    for action in actions:
        if time_steps[-1].is_last():
            break
        time_steps.append(env.step(np.array(action, dtype=np.int32)))
    return time_steps


def run(config: Config, run_dir: RunDir) -> dict[str, Any]:
    set_seeds(config.seed)
    my_env = GridEnvironment()
    utils.validate_py_environment(my_env, episodes=config.validation_episodes)
    print(f"validate_py_environment: {config.validation_episodes} episodes match the specs")
    time_step = my_env.reset()
    print(f"reset: {time_step}")
    time_step = my_env.step(np.array(1, dtype=np.int32))
    print(f"step(1) (down): {time_step}")

    tf_env = tf_py_environment.TFPyEnvironment(GridEnvironment())
    tf_step = tf_env.step(tf.constant([3], dtype=tf.int32))
    print(
        f"TFPyEnvironment: batch_size {tf_env.batch_size}, "
        f"observation {tf_step.observation.dtype.name}{tf_step.observation.shape.as_list()}"
    )
    random_result = Evaluator(
        lambda seed: GridEnvironment(), config.num_eval_episodes, config.seed
    ).random_baseline()
    print(
        f"random policy on the grid: Average Return = {random_result.average_return} "
        f"over {config.num_eval_episodes} episodes"
    )

    docs = wrapper_docs()
    listing = "\n".join(f"{name:27s} {doc}" for name, doc in docs.items())
    (run_dir.path / "wrappers.txt").write_text(listing + "\n")
    print(listing)

    repeating_env = ActionRepeat(GridEnvironment(), times=config.action_repeat_times)
    repeated = play_actions(repeating_env, (1,))
    print(
        f"ActionRepeat(times={config.action_repeat_times}) on the grid, one step down: "
        f"reward {float(repeated[-1].reward)}, last: {bool(repeated[-1].is_last())}"
    )

    limited_repeating_env = load_gym(
        config.env_name,
        seed=config.seed,
        gym_env_wrappers=[
            partial(gym.wrappers.TimeLimit, max_episode_steps=config.max_episode_steps)
        ],
        env_wrappers=[partial(ActionRepeat, times=config.action_repeat_times)],
    )
    action_spec = limited_repeating_env.action_spec()
    rng = np.random.default_rng(config.seed)
    time_step, rewards = limited_repeating_env.reset(), []
    while not time_step.is_last():
        action = rng.integers(action_spec.minimum, action_spec.maximum + 1)
        time_step = limited_repeating_env.step(np.array(action, dtype=action_spec.dtype))
        rewards.append(float(time_step.reward))
    print(
        f"suite_gym.load({config.env_name!r}, TimeLimit({config.max_episode_steps}), "
        f"ActionRepeat({config.action_repeat_times})): {type(limited_repeating_env).__name__} "
        f"around {limited_repeating_env.unwrapped}; a random episode took {len(rewards)} "
        f"steps, rewards {rewards}"
    )

    film_env = GridEnvironment()
    film_env.reset()
    frames = [film_env.render()]
    for action in PATH_TO_GOAL:
        time_step = film_env.step(np.array(action, dtype=np.int32))
        frames.append(film_env.render())
    media.write_video(
        frames, run_dir.video("grid-episode", config.video_format), fps=config.video_fps
    )
    print(
        f"filmed {' '.join(ACTION_NAMES[action] for action in PATH_TO_GOAL)}: "
        f"reward {float(time_step.reward)} at the goal"
    )
    return {
        "validated_episodes": config.validation_episodes,
        "observation_spec": str(my_env.observation_spec()),
        "action_spec": str(my_env.action_spec()),
        "tf_batch_size": tf_env.batch_size,
        "random_average_return": random_result.average_return,
        "wrappers": docs,
        "action_repeat_grid_reward": float(repeated[-1].reward),
        "wrapped_env": {
            "outer_wrapper": type(limited_repeating_env).__name__,
            "unwrapped": str(limited_repeating_env.unwrapped),
            "rewards": rewards,
        },
        "goal_reward": float(time_step.reward),
    }
