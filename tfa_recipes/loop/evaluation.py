"""Average return, compiled and batched.

The tutorials' `compute_avg_return` steps one environment in eager mode, one episode after
another: about 6 ms a step here, two thirds of the DQN tutorial's run time. `Evaluator`
plays the same `num_episodes` episodes with the same policy, one per environment copy,
side by side in a single compiled loop, and averages the same sum of rewards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from tf_agents.environments import (
    batched_py_environment,
    py_environment,
    tf_py_environment,
    wrappers,
)
from tf_agents.policies import random_tf_policy, tf_policy

from tfa_recipes.blocks.randomness import drawn_from

# Set apart from every seed a run's other streams derive from theirs by small offsets.
_POLICY_DRAWS = 1 << 40


@dataclass(frozen=True)
class EvalResult:
    average_return: float
    average_episode_length: float
    returns: tuple[float, ...]


class _OneEpisode(wrappers.PyEnvironmentBaseWrapper):
    """Stops stepping its environment once an episode has ended, until the next reset.

    The batched loop steps every copy until the longest episode ends; the steps after a
    copy's own end are not counted, and for an environment that renders its
    observations (pixels) they would cost most of an evaluation.
    """

    def __init__(self, env: py_environment.PyEnvironment) -> None:
        super().__init__(env)
        self._last = None

    def _reset(self):
        self._last = None
        return self._env.reset()

    def _step(self, action):
        if self._last is None:
            time_step = self._env.step(action)
            if time_step.is_last():
                self._last = time_step
            return time_step
        return self._last


class Evaluator:
    """Plays exactly one episode in each of `num_episodes` seeded environment copies.

    Every call reseeds the copies (copy i with `seed + i`), so every evaluation of a run
    starts from the same states: evaluations are comparable across a run, and evaluating
    the exported policy later (`evaluate`, `--eval-only`) with the run's seed replays its
    last evaluation exactly when the policy is greedy (DQN's). An environment that takes
    no seed is left as it is.

    `tf_env_name`: a TF-native environment (`tf:CartPole-v0`), played as one batch of
    `num_episodes` copies in the graph, its start states' generator reseeded with `seed`
    at every call: no Python per step at all.
    """

    def __init__(
        self,
        env_factory: Callable[[int], py_environment.PyEnvironment],
        num_episodes: int,
        seed: int,
        *,
        tf_env_name: str | None = None,
    ) -> None:
        self.seed, self.num_episodes = seed, num_episodes
        self._compiled: dict[int, tuple[tf_policy.TFPolicy, Callable]] = {}
        if tf_env_name is not None:
            from tfa_recipes.envs.tf_cartpole import load_tf_env

            self._envs: list[_OneEpisode] = []
            self.tf_env = load_tf_env(tf_env_name, batch_size=num_episodes, seed=seed)
            # A policy's draws (the random baseline's) come from a generator reseeded with
            # the episodes: a stateful op's seed would follow from what the process traced
            # before, so a seed trained after others (a seed group) would draw otherwise.
            self._generator = tf.random.Generator.from_seed(seed + _POLICY_DRAWS)
            return
        self._generator = None
        envs = [_OneEpisode(env_factory(seed + index)) for index in range(num_episodes)]
        self._envs = envs
        self.py_env = batched_py_environment.BatchedPyEnvironment(envs, multithreading=False)
        self.tf_env = tf_py_environment.TFPyEnvironment(self.py_env)

    def __call__(self, policy: tf_policy.TFPolicy | Any) -> EvalResult:
        """`policy`: a TFPolicy, or a policy loaded with `tf.saved_model.load`."""
        if id(policy) not in self._compiled:
            self._compiled[id(policy)] = (
                policy,
                # A TF-native environment compiles with the policy into one XLA program
                # (10 CartPole episodes: ~3 ms against ~0.5 s as a graph, measured).
                tf.function(
                    self._episode_returns(policy), autograph=False, jit_compile=not self._envs
                ),
            )
        self._reseed()
        with drawn_from(self._generator) if self._generator else contextlib.nullcontext():
            returns, lengths = self._compiled[id(policy)][1]()
        returns, lengths = returns.numpy(), lengths.numpy()
        return EvalResult(
            average_return=float(np.mean(returns)),
            average_episode_length=float(np.mean(lengths)),
            returns=tuple(float(value) for value in returns),
        )

    def _reseed(self) -> None:
        if not self._envs:
            self.tf_env.generator.reset_from_seed(self.seed)
            self._generator.reset_from_seed(self.seed + _POLICY_DRAWS)
            return
        for index, env in enumerate(self._envs):
            try:
                env.seed(self.seed + index)
            except NotImplementedError:
                # An environment without seeds (the book's deterministic 4x4 grid): its
                # episodes are whatever its own reset gives.
                return

    def random_baseline(self) -> EvalResult:
        return self(
            random_tf_policy.RandomTFPolicy(self.tf_env.time_step_spec(), self.tf_env.action_spec())
        )

    def _episode_returns(self, policy: tf_policy.TFPolicy) -> Callable:
        env, n = self.tf_env, self.num_episodes

        # An explicit tf.while_loop rather than AutoGraph: AutoGraph re-reads this file's
        # source when it traces, which breaks if the installed source changes under a run.
        def body(time_step, policy_state, returns, lengths, finished):
            action_step = policy.action(time_step, policy_state)
            next_time_step = env.step(action_step.action)
            running = tf.logical_not(finished)
            # A copy whose episode has ended is not stepped again (`_OneEpisode`), or (a
            # TF-native environment) starts another episode: neither is counted.
            returns += tf.where(running, tf.cast(next_time_step.reward, tf.float32), 0.0)
            lengths += tf.cast(running, tf.int32)
            finished = tf.logical_or(finished, next_time_step.is_last())
            return next_time_step, action_step.state, returns, lengths, finished

        def run() -> tuple[tf.Tensor, tf.Tensor]:
            loop_vars = (
                env.reset(),
                policy.get_initial_state(n),
                tf.zeros([n], tf.float32),
                tf.zeros([n], tf.int32),
                tf.zeros([n], tf.bool),
            )
            *_, returns, lengths, _ = tf.while_loop(
                lambda *loop: tf.logical_not(tf.reduce_all(loop[-1])), body, loop_vars
            )
            return returns, lengths

        return run


def compute_avg_return(environment, policy, num_episodes=10):
    """The tutorials' eager `compute_avg_return`, verbatim: the reference `Evaluator` is
    tested against and the baseline the benchmarks time."""
    total_return = 0.0
    for _ in range(num_episodes):
        time_step = environment.reset()
        episode_return = 0.0
        while not time_step.is_last():
            action_step = policy.action(time_step)
            time_step = environment.step(action_step.action)
            episode_return += time_step.reward
        total_return += episode_return
    avg_return = total_return / num_episodes
    return avg_return.numpy()[0]
