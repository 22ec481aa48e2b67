"""The compiled, batched evaluator against the tutorial's eager `compute_avg_return`."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.environments import tf_py_environment, wrappers
from tf_agents.policies import random_tf_policy

from tfa_recipes.blocks import agents, networks
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.loop.evaluation import Evaluator, compute_avg_return


def make_env(seed: int):
    return load_gym("CartPole-v0", seed=seed)


def test_matches_the_tutorials_eager_loop_episode_for_episode():
    tf.keras.utils.set_random_seed(3)
    env = tf_py_environment.TFPyEnvironment(make_env(0))
    q_net = networks.sequential_q_network(env.action_spec(), (100, 50))
    agent = agents.dqn(
        env.time_step_spec(), env.action_spec(), q_net, tf.keras.optimizers.Adam(1e-3)
    )
    evaluator = Evaluator(make_env, num_episodes=4, seed=100)
    result = evaluator(agent.policy)
    # One episode per environment copy seeded 100..103, as the evaluator seeds them.
    eager = [
        compute_avg_return(
            tf_py_environment.TFPyEnvironment(make_env(100 + index)), agent.policy, 1
        )
        for index in range(4)
    ]
    assert result.returns == pytest.approx(eager)
    assert result.average_return == pytest.approx(np.mean(eager))


def test_random_policy_scores_what_the_tutorial_reports():
    # The tutorial's random policy: 22.2 over 10 episodes; CartPole's random return is ~22.
    averages = [Evaluator(make_env, num_episodes=50, seed=seed).random_baseline().average_return
                for seed in (0, 1000, 2000)]
    assert all(15 <= value <= 30 for value in averages), averages
    assert 19 <= np.mean(averages) <= 26, averages


def test_each_episode_is_counted_once_in_a_batch():
    env = tf_py_environment.TFPyEnvironment(make_env(0))
    policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
    result = Evaluator(make_env, num_episodes=6, seed=5)(policy)
    assert len(result.returns) == 6
    # CartPole pays 1 per step, so an episode's return is its length.
    assert result.average_return == pytest.approx(result.average_episode_length)
    assert all(1 <= value <= 200 for value in result.returns)


def test_a_copy_whose_episode_ended_is_not_stepped_again():
    # Pixel environments render on every step: steps after a copy's own episode would
    # cost most of an evaluation and count for nothing.
    stepped = []

    class Counting(wrappers.PyEnvironmentBaseWrapper):
        def _step(self, action):
            stepped.append(1)
            return self._env.step(action)

    evaluator = Evaluator(lambda seed: Counting(make_env(seed)), num_episodes=8, seed=0)
    for _ in range(2):
        stepped.clear()
        result = evaluator.random_baseline()
        assert len(stepped) == sum(result.returns)
    assert max(result.returns) > min(result.returns)
