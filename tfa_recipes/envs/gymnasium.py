"""Gymnasium environments as TF-Agents `PyEnvironment`s (`--env-name gymnasium:<id>`).

TF-Agents 0.19's `suite_gym` speaks gym's old API (`reset() -> obs`, a 4-tuple `step`,
`seed()`), and its `spec_from_gym_space` checks for `gym.spaces` classes, so it cannot
load a Gymnasium environment (tensorflow/agents#928). `GymnasiumWrapper` is the same
bridge for Gymnasium's API:

- `reset(seed=...)`: `PyEnvironment.seed(k)` stores the seed and the next reset passes
  it, once, as Gymnasium intends (later resets continue the seeded generator), so one
  seed gives one sequence of episodes;
- `step` returns `(obs, reward, terminated, truncated, info)`: *terminated* (the pole
  fell, the lander crashed) is `ts.termination` with discount 0, *truncated* (the time
  limit) is `ts.truncation` with discount 1, so a bootstrapping agent keeps the value of
  a state the time limit cut off, as TF-Agents' own `TimeLimit` wrapper does for gym;
- `render_mode` is fixed when the environment is made; recipes film with
  `render(mode="rgb_array")`, so that is the default.

Ids without the `gymnasium:` prefix keep meaning gym 0.23's, as the tutorials use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

from tfa_recipes.envs.names import GYMNASIUM_PREFIX
from tfa_recipes.errors import RecipeError

INSTALL = "pip install gymnasium==1.3.0"


def _import_gymnasium():
    try:
        import gymnasium
    except ImportError:
        raise RecipeError(f"gymnasium environments need Gymnasium: {INSTALL}") from None
    return gymnasium


def spec_from_space(space: Any, name: str) -> Any:
    """The TF-Agents array spec (nested for Dict/Tuple spaces) of a Gymnasium space.

    As `suite_gym` converts gym's spaces: a Discrete space is a scalar bounded spec
    `[start, start + n - 1]`, a Box keeps its shape and dtype with scalar bounds where all
    bounds are equal.
    """
    spaces = _import_gymnasium().spaces
    if isinstance(space, spaces.Discrete):
        start = int(space.start)
        return array_spec.BoundedArraySpec(
            shape=(), dtype=space.dtype, minimum=start, maximum=start + int(space.n) - 1,
            name=name,
        )
    if isinstance(space, spaces.MultiDiscrete):
        return array_spec.BoundedArraySpec(
            shape=space.shape, dtype=space.dtype, minimum=space.start,
            maximum=space.start + space.nvec - 1, name=name,
        )
    if isinstance(space, spaces.MultiBinary):
        return array_spec.BoundedArraySpec(
            shape=space.shape, dtype=space.dtype, minimum=0, maximum=1, name=name
        )
    if isinstance(space, spaces.Box):
        low, high = space.low, space.high
        if np.all(low == low.flat[0]):
            low = low.flat[0]
        if np.all(high == high.flat[0]):
            high = high.flat[0]
        return array_spec.BoundedArraySpec(
            shape=space.shape, dtype=space.dtype, minimum=low, maximum=high, name=name
        )
    if isinstance(space, spaces.Tuple):
        return tuple(spec_from_space(s, f"{name}_{i}") for i, s in enumerate(space.spaces))
    if isinstance(space, spaces.Dict):
        return {key: spec_from_space(s, key) for key, s in space.spaces.items()}
    raise RecipeError(f"cannot express the Gymnasium space {space} as a TF-Agents spec")


def _as_spec(value: Any, spec: Any) -> Any:
    """`value` with the dtypes (and nesting) of `spec`."""
    if isinstance(spec, dict):
        return {key: _as_spec(value[key], s) for key, s in spec.items()}
    if isinstance(spec, tuple):
        return tuple(_as_spec(v, s) for v, s in zip(value, spec, strict=True))
    return np.asarray(value, dtype=spec.dtype)


def _to_space(action: Any, spec: Any) -> Any:
    """A TF-Agents action as the Gymnasium space wants it (Discrete takes a Python int)."""
    if isinstance(spec, dict):
        return {key: _to_space(action[key], s) for key, s in spec.items()}
    if isinstance(spec, tuple):
        return tuple(_to_space(a, s) for a, s in zip(action, spec, strict=True))
    action = np.asarray(action, dtype=spec.dtype)
    return action.item() if action.shape == () and spec.shape == () else action


class GymnasiumWrapper(py_environment.PyEnvironment):
    """A Gymnasium `Env` as a `PyEnvironment` that resets itself after a LAST step."""

    def __init__(self, env: Any) -> None:
        super().__init__(handle_auto_reset=True)
        self._env = env
        self._observation_spec = spec_from_space(env.observation_space, "observation")
        self._action_spec = spec_from_space(env.action_space, "action")
        self._pending_seed: int | None = None

    @property
    def gym(self) -> Any:
        """The wrapped Gymnasium environment (the name TF-Agents' `GymWrapper` uses)."""
        return self._env

    def observation_spec(self) -> Any:
        return self._observation_spec

    def action_spec(self) -> Any:
        return self._action_spec

    def seed(self, seed: int) -> None:
        """Seed the next reset (and the action space's sampler)."""
        self._pending_seed = int(seed)
        self._env.action_space.seed(int(seed))

    def _reset(self) -> ts.TimeStep:
        seed, self._pending_seed = self._pending_seed, None
        observation, _info = self._env.reset(seed=seed)
        return ts.restart(_as_spec(observation, self._observation_spec))

    def _step(self, action: Any) -> ts.TimeStep:
        step = self._env.step(_to_space(action, self._action_spec))
        observation, reward, terminated, truncated, _info = step
        observation = _as_spec(observation, self._observation_spec)
        reward = np.asarray(reward, dtype=np.float32)
        if terminated:
            return ts.termination(observation, reward)
        if truncated:
            return ts.truncation(observation, reward, discount=np.float32(1.0))
        return ts.transition(observation, reward, discount=np.float32(1.0))

    def render(self, mode: str = "rgb_array") -> Any:
        if mode != self._env.render_mode:
            raise ValueError(
                f"render(mode={mode!r}): this Gymnasium environment was made with "
                f"render_mode={self._env.render_mode!r}"
            )
        return self._env.render()

    def close(self) -> None:
        self._env.close()


def _register_namespace(env_id: str) -> None:
    """Gymnasium >= 1.0 no longer loads plugins: ALE's ids exist once ale_py registers them."""
    if env_id.startswith("ALE/"):
        gymnasium = _import_gymnasium()
        import ale_py

        # ale-py prints its banner on the first ALEInterface unless told to log errors only.
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
        gymnasium.register_envs(ale_py)


def load_gymnasium(
    env_id: str,
    *,
    seed: int | None = None,
    max_episode_steps: int | None = None,
    render_mode: str | None = "rgb_array",
    gym_env_wrappers: Sequence[Any] = (),
    env_wrappers: Sequence[Any] = (),
    gym_kwargs: dict[str, Any] | None = None,
) -> py_environment.PyEnvironment:
    """`gymnasium.make(env_id)` as a `PyEnvironment`, like `suite_gym.load` for gym.

    `gym_env_wrappers` wrap the Gymnasium environment, `env_wrappers` the `PyEnvironment`.
    Raises `RecipeError` naming the environment when Gymnasium cannot make it (an unknown
    id, a missing dependency such as Box2D).
    """
    gymnasium = _import_gymnasium()
    name = GYMNASIUM_PREFIX + env_id
    try:
        _register_namespace(env_id)
        env = gymnasium.make(
            env_id, max_episode_steps=max_episode_steps, render_mode=render_mode,
            **(gym_kwargs or {}),
        )
    except gymnasium.error.UnregisteredEnv as error:
        raise RecipeError(f"unknown environment {name!r}: {error}") from None
    except gymnasium.error.Error as error:
        # e.g. DependencyNotInstalled: Box2D for LunarLander, ale-py for ALE/...
        raise RecipeError(f"cannot make environment {name!r}: {error}") from None
    for wrapper in gym_env_wrappers:
        env = wrapper(env)
    py_env: py_environment.PyEnvironment = GymnasiumWrapper(env)
    for wrapper in env_wrappers:
        py_env = wrapper(py_env)
    if seed is not None:
        py_env.seed(seed)
    return py_env
