"""The TensorFlow side of `tfa_recipes.dqn_cartpole_classic`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.drivers import dynamic_step_driver
from tf_agents.policies import random_tf_policy
from tf_agents.replay_buffers import tf_uniform_replay_buffer

from tfa_recipes.blocks import agents, networks, replay
from tfa_recipes.blocks.ring_replay import RingReplayBuffer
from tfa_recipes.dqn_cartpole_classic import Config
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.envs.names import is_tf_native
from tfa_recipes.envs.tf_cartpole import load_tf_env
from tfa_recipes.envs.tf_py import train_environments
from tfa_recipes.loop import roles
from tfa_recipes.loop.roles import Parts
from tfa_recipes.run.directory import RunDir
from tfa_recipes.seeds import LOOP_SEED_OFFSET


def make_env(config: Config, seed: int):
    return load_gym(config.env_name, seed=seed)


def build(config: Config, run: RunDir, env_factory, resources) -> Parts:
    native = is_tf_native(config.env_name)
    trackables = {}
    if native:
        # The whole loop in the graph: the environment's state and its start states'
        # generator are variables the checkpoint holds, as is the generator the loop's
        # exploration and sampling draw from.
        train_env = load_tf_env(config.env_name, seed=config.seed)
        generator = tf.random.Generator.from_seed(config.seed + LOOP_SEED_OFFSET)
        trackables = {"train_env": train_env, "loop_random": generator}
    else:
        generator = None
        _, train_env = train_environments(
            env_factory,
            config.seed,
            config.env_name,
            resources,
            network="the notebook's Dense QNetwork",
            discrete_actions=True,
        )
    agent = make_agent(config, train_env.time_step_spec(), train_env.action_spec())
    xla = native and config.jit_compile
    if xla:
        replay_buffer = RingReplayBuffer(agent.collect_data_spec, config.replay_buffer_max_length)
    else:
        replay_buffer = make_replay_buffer(config, agent.collect_data_spec, train_env.batch_size)
    random_policy = random_tf_policy.RandomTFPolicy(
        train_env.time_step_spec(), train_env.action_spec()
    )
    initial_collect_driver, collect_driver = make_drivers(
        config, train_env, agent, random_policy, replay_buffer
    )

    def initial_collect() -> int:
        # Eager, as Hands-On ML runs its warm-up driver: 100 steps cost less than a trace.
        initial_collect_driver.run()
        return config.initial_collect_steps

    if config.prefetch_samples and not native:
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
        # The dataset's own map function, called in order after each collect (always with
        # a TF-native environment: the loop is one graph, and it repeats exactly).
        def experience():
            return replay.InOrderSampler(replay_buffer, batch_size=config.batch_size, num_steps=2)

    # The driver's `run` and the train step compiled together, many iterations a call,
    # in the notebook's order (collect, then sample and train).
    iterations = roles.GraphIterations(
        collect_driver,
        roles.tf_agents_learner(agent, experience),
        steps_per_iteration=config.collect_steps_per_iteration,
        initial=initial_collect,
        generator=generator,
        jit_compile=xla,
    )
    return Parts(
        agent=agent,
        iterations=iterations,
        trackables={"replay_buffer": replay_buffer, **trackables},
    )


def make_agent(config: Config, time_step_spec, action_spec) -> tf_agent.TFAgent:
    """The notebook's `QNetwork` and `DqnAgent`, with the TF1 `AdamOptimizer` and squared
    TD loss."""
    q_net = networks.classic_q_network(
        time_step_spec.observation, action_spec, config.fc_layer_params
    )
    return agents.dqn(
        time_step_spec,
        action_spec,
        q_net,
        tf.compat.v1.train.AdamOptimizer(learning_rate=config.learning_rate),
        td_errors_loss_fn="element_wise_squared_loss",
    )


def make_replay_buffer(
    config: Config, collect_data_spec, batch_size: int
) -> tf_uniform_replay_buffer.TFUniformReplayBuffer:
    """The notebook's `TFUniformReplayBuffer`, as wide as the environment's batch."""
    return replay.tf_uniform_replay(
        collect_data_spec, batch_size=batch_size, max_length=config.replay_buffer_max_length
    )


def make_drivers(
    config: Config, train_env, agent: tf_agent.TFAgent, random_policy, replay_buffer
) -> tuple[dynamic_step_driver.DynamicStepDriver, dynamic_step_driver.DynamicStepDriver]:
    """The `DynamicStepDriver`s that replace the notebook's `collect_step` loop: the random
    warm-up of `initial_collect_steps`, and each iteration's collection with the agent's
    epsilon-greedy `collect_policy`, both writing with `replay_buffer.add_batch`."""
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
    return initial_collect_driver, collect_driver
