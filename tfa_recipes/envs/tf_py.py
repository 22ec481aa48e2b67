"""Python and TensorFlow environments seen as each other: the tutorials' `train_py_env` and
its `TFPyEnvironment`, closed with the run's other resources; a TF-native environment as a
PyEnvironment (for videos)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import numpy as np
import tensorflow as tf
from tf_agents.environments import py_environment, tf_py_environment
from tf_agents.specs import tensor_spec

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


class TFEnvironmentAsPy(py_environment.PyEnvironment):
    """A TF-native environment of batch 1 (`envs.tf_cartpole`) seen as a PyEnvironment,
    stepped eagerly: what the videos and every other consumer of a Python environment take.
    Training and evaluation step the TF environment itself, in the graph."""

    def __init__(self, tf_env: Any) -> None:
        super().__init__(handle_auto_reset=True)
        if tf_env.batch_size != 1:
            raise ValueError(f"a Python view needs a batch of 1, got {tf_env.batch_size}")
        self.tf_env = tf_env

    def observation_spec(self) -> Any:
        return tensor_spec.to_array_spec(self.tf_env.observation_spec())

    def action_spec(self) -> Any:
        return tensor_spec.to_array_spec(self.tf_env.action_spec())

    def seed(self, seed: int) -> None:
        self.tf_env.generator.reset_from_seed(seed)

    def _unbatched(self, time_step: Any) -> Any:
        return tf.nest.map_structure(lambda value: value.numpy()[0], time_step)

    def _reset(self) -> Any:
        return self._unbatched(self.tf_env.reset())

    def _step(self, action: Any) -> Any:
        return self._unbatched(self.tf_env.step(tf.constant([action])))

    def render(self, mode: str = "rgb_array") -> np.ndarray:
        return self.tf_env.render(mode)[0]
