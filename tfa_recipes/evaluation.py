"""Average return, compiled and batched.

The tutorials' `compute_avg_return` steps one environment in eager mode, one episode after
another: about 6 ms a step here, two thirds of the DQN tutorial's run time. `Evaluator`
plays the same `num_episodes` episodes with the same policy, one per environment copy,
side by side in a single compiled loop, and averages the same sum of rewards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf
from tf_agents.environments import batched_py_environment, py_environment, tf_py_environment
from tf_agents.policies import random_tf_policy, tf_policy


@dataclass(frozen=True)
class EvalResult:
    average_return: float
    average_episode_length: float
    returns: tuple[float, ...]


class Evaluator:
    """Plays exactly one episode in each of `num_episodes` seeded environment copies."""

    def __init__(
        self,
        env_factory: Callable[[int], py_environment.PyEnvironment],
        num_episodes: int,
        seed: int,
    ) -> None:
        envs = [env_factory(seed + index) for index in range(num_episodes)]
        self.py_env = batched_py_environment.BatchedPyEnvironment(envs, multithreading=False)
        self.tf_env = tf_py_environment.TFPyEnvironment(self.py_env)
        self.num_episodes = num_episodes
        self._compiled: dict[int, tuple[tf_policy.TFPolicy, Callable]] = {}

    def __call__(self, policy: tf_policy.TFPolicy) -> EvalResult:
        if id(policy) not in self._compiled:
            self._compiled[id(policy)] = (policy, tf.function(self._episode_returns(policy)))
        returns, lengths = self._compiled[id(policy)][1]()
        returns, lengths = returns.numpy(), lengths.numpy()
        return EvalResult(
            average_return=float(np.mean(returns)),
            average_episode_length=float(np.mean(lengths)),
            returns=tuple(float(value) for value in returns),
        )

    def random_baseline(self) -> EvalResult:
        return self(
            random_tf_policy.RandomTFPolicy(self.tf_env.time_step_spec(), self.tf_env.action_spec())
        )

    def _episode_returns(self, policy: tf_policy.TFPolicy) -> Callable:
        env, n = self.tf_env, self.num_episodes

        def run() -> tuple[tf.Tensor, tf.Tensor]:
            time_step = env.reset()
            policy_state = policy.get_initial_state(n)
            returns = tf.zeros([n], tf.float32)
            lengths = tf.zeros([n], tf.int32)
            finished = tf.zeros([n], tf.bool)
            while not tf.reduce_all(finished):
                action_step = policy.action(time_step, policy_state)
                time_step = env.step(action_step.action)
                policy_state = action_step.state
                running = tf.logical_not(finished)
                # An environment that has finished its episode auto-resets and keeps
                # stepping with the others; its later rewards are not counted.
                returns += tf.where(running, tf.cast(time_step.reward, tf.float32), 0.0)
                lengths += tf.cast(running, tf.int32)
                finished = tf.logical_or(finished, time_step.is_last())
            return returns, lengths

        return run
