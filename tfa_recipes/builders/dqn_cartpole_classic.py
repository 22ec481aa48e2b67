"""The TensorFlow side of `tfa_recipes.dqn_cartpole_classic`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

import tensorflow as tf
from tf_agents.drivers import dynamic_step_driver
from tf_agents.policies import random_tf_policy

from tfa_recipes.blocks import agents, networks, replay
from tfa_recipes.dqn_cartpole_classic import Config
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.envs.tf_py import train_environments
from tfa_recipes.loop import roles
from tfa_recipes.loop.roles import Parts
from tfa_recipes.run.directory import RunDir


def make_env(config: Config, seed: int):
    return load_gym(config.env_name, seed=seed)


def build(config: Config, run: RunDir, env_factory, resources) -> Parts:
    _, train_env = train_environments(
        env_factory,
        config.seed,
        config.env_name,
        resources,
        network="the notebook's Dense QNetwork",
        discrete_actions=True,
    )
    q_net = networks.classic_q_network(
        train_env.observation_spec(), train_env.action_spec(), config.fc_layer_params
    )
    agent = agents.dqn(
        train_env.time_step_spec(),
        train_env.action_spec(),
        q_net,
        tf.compat.v1.train.AdamOptimizer(learning_rate=config.learning_rate),
        td_errors_loss_fn="element_wise_squared_loss",
    )
    replay_buffer = replay.tf_uniform_replay(
        agent.collect_data_spec,
        batch_size=train_env.batch_size,
        max_length=config.replay_buffer_max_length,
    )
    random_policy = random_tf_policy.RandomTFPolicy(
        train_env.time_step_spec(), train_env.action_spec()
    )
    initial_collect_driver = dynamic_step_driver.DynamicStepDriver(
        train_env,
        random_policy,
        observers=[replay_buffer.add_batch],
        num_steps=config.initial_collect_steps,
    )
    collect_driver = dynamic_step_driver.DynamicStepDriver(
        train_env,
        agent.collect_policy,
        observers=[replay_buffer.add_batch],
        num_steps=config.collect_steps_per_iteration,
    )

    def initial_collect() -> int:
        # Eager, as Hands-On ML runs its warm-up driver: 100 steps cost less than a trace.
        initial_collect_driver.run()
        return config.initial_collect_steps

    if config.prefetch_samples:
        # Dataset generates trajectories with shape [Bx2x...], as in the notebook. Its
        # threads sample ahead while the driver writes, so which steps a batch holds
        # depends on thread timing: runs of one seed drift apart.
        def experience():
            return iter(
                replay.experience_dataset(
                    replay_buffer, batch_size=config.batch_size, num_steps=2
                )
            )
    else:
        # The dataset's own map function, called in order after each collect.
        def experience():
            return replay.InOrderSampler(replay_buffer, batch_size=config.batch_size, num_steps=2)

    # The driver's `run` and the train step compiled together, many iterations a call,
    # in the notebook's order (collect, then sample and train).
    lockstep = roles.GraphIterations(
        collect_driver,
        roles.tf_agents_learner(agent, experience),
        steps_per_iteration=config.collect_steps_per_iteration,
        initial=initial_collect,
    )
    return Parts(agent=agent, iterations=lockstep, trackables={"replay_buffer": replay_buffer})
