"""The tutorials' `train_py_env` and its `TFPyEnvironment`, closed with the run's other
resources."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from tf_agents.environments import py_environment, tf_py_environment

from tfa_recipes.envs.checks import require_discrete_actions, require_vector_observations


def tf_environment(
    py_env: py_environment.PyEnvironment, resources: ExitStack
) -> tf_py_environment.TFPyEnvironment:
    """The tutorials' `TFPyEnvironment(py_env)`, closed with the run's other resources:
    it steps `py_env` through a thread pool of its own, and a pool left to the
    interpreter's exit printed a traceback (a run with no iteration left to train)."""
    tf_env = tf_py_environment.TFPyEnvironment(py_env)
    resources.callback(tf_env.close)
    return tf_env


def train_environments(
    env_factory: Callable[[int], py_environment.PyEnvironment],
    seed: int,
    env_name: str,
    resources: ExitStack,
    *,
    network: str,
    discrete_actions: bool = False,
) -> tuple[py_environment.PyEnvironment, tf_py_environment.TFPyEnvironment]:
    """The tutorials' `train_py_env` (seeded with `seed`) and `TFPyEnvironment`, both closed
    with the run; refused in one line when `network` (a Dense network) cannot read its
    observations, or, with `discrete_actions`, DQN cannot pick its actions."""
    train_py_env = env_factory(seed)
    resources.callback(train_py_env.close)
    if discrete_actions:
        require_discrete_actions(train_py_env.action_spec(), env_name)
    require_vector_observations(train_py_env.observation_spec(), env_name, network)
    return train_py_env, tf_environment(train_py_env, resources)
