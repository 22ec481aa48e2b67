"""`suite_gym` loading as the tutorials write it, seeded and with readable errors."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import gym
import numpy as np
from tf_agents.environments import py_environment, suite_gym

from tfa_recipes.envs.names import GYMNASIUM_PREFIX, TF_PREFIX
from tfa_recipes.errors import RecipeError

# gym 0.23 prints a banner and deprecation warnings on import and on seed(); the stack is
# pinned on purpose (see README), so they tell the user nothing they can act on.
warnings.filterwarnings("ignore", module=r"gym(\..*)?")



def load_gym(
    env_name: str,
    *,
    seed: int | None = None,
    max_episode_steps: int | None = None,
    gym_env_wrappers: Sequence[Any] = (),
    env_wrappers: Sequence[Any] = (),
    gym_kwargs: dict[str, Any] | None = None,
) -> py_environment.PyEnvironment:
    """`suite_gym.load(env_name, ...)`, seeded when `seed` is given.

    `gymnasium:<id>` loads Gymnasium's `<id>` instead (`envs.gymnasium.load_gymnasium`);
    `tf:<id>` the TF-native environment (`envs.tf_cartpole`), seen as a Python one (what
    videos take; training steps it in the graph); other ids are gym 0.23's, as the
    tutorials use them. Raises `RecipeError` naming the environment when gym (or
    Gymnasium) does not know it.
    """
    if env_name.startswith(TF_PREFIX):
        if max_episode_steps is not None or gym_env_wrappers or env_wrappers or gym_kwargs:
            raise RecipeError(f"{env_name} is a TF-native environment: it takes no gym options")
        from tfa_recipes.envs.tf_cartpole import load_tf_env
        from tfa_recipes.envs.tf_py import TFEnvironmentAsPy

        return TFEnvironmentAsPy(load_tf_env(env_name, seed=0 if seed is None else seed))
    if env_name.startswith(GYMNASIUM_PREFIX):
        from tfa_recipes.envs.gymnasium import load_gymnasium

        return load_gymnasium(
            env_name.removeprefix(GYMNASIUM_PREFIX),
            seed=seed,
            max_episode_steps=max_episode_steps,
            gym_env_wrappers=gym_env_wrappers,
            env_wrappers=env_wrappers,
            gym_kwargs=gym_kwargs,
        )
    try:
        env = suite_gym.load(
            env_name,
            max_episode_steps=max_episode_steps,
            gym_env_wrappers=gym_env_wrappers,
            env_wrappers=env_wrappers,
            gym_kwargs=gym_kwargs,
        )
    except gym.error.Error as error:
        # gin appends "In call to configurable 'load'" on a second line; keep gym's own.
        reason = str(error).splitlines()[0]
        raise RecipeError(f"unknown environment {env_name!r}: {reason}") from None
    if seed is not None:
        env.seed(seed)
    return env


def render_frame(py_env: py_environment.PyEnvironment) -> np.ndarray:
    """One RGB frame (H, W, 3, uint8) of a Python environment, headless."""
    return np.asarray(py_env.render(mode="rgb_array"), dtype=np.uint8)


# A prebuilt manylinux wheel for CPython 3.11: no swig, no compiler. It provides the same
# `Box2D` module that gym 0.23's box2d environments import.
BOX2D_INSTALL = "pip install Box2D==2.3.10"


def make_gym(env_name: str, *, seed: int | None = None) -> gym.Env:
    """`gym.make(env_name)` seeded with `env.seed(seed)`, as the Hands-On ML notebook does.

    For the from-scratch recipes, which step gym directly (`obs, reward, done, info`).
    Raises `RecipeError` for an unknown environment or a missing Box2D.
    """
    try:
        spec = gym.spec(env_name)
    except gym.error.Error as error:
        # gin appends "In call to configurable 'load'" on a second line; keep gym's own.
        reason = str(error).splitlines()[0]
        raise RecipeError(f"unknown environment {env_name!r}: {reason}") from None
    if str(spec.entry_point).startswith("gym.envs.box2d"):
        # Without Box2D gym 0.23 fails later with an AttributeError that names no package.
        try:
            import Box2D  # noqa: F401
        except ImportError:
            raise RecipeError(f"{env_name} needs Box2D: {BOX2D_INSTALL}") from None
    env = gym.make(env_name)
    if seed is not None:
        env.seed(seed)
        env.action_space.seed(seed)
    return env
