"""The TensorFlow side of `tfa_recipes.dqn_cartpole`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.drivers import dynamic_step_driver, py_driver
from tf_agents.environments import py_environment, tf_py_environment
from tf_agents.policies import random_tf_policy

from tfa_recipes.blocks import agents, networks, replay
from tfa_recipes.blocks.policies import CompiledPyTFEagerPolicy
from tfa_recipes.dqn_cartpole import Config
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.envs.names import is_tf_native
from tfa_recipes.envs.tf_cartpole import load_tf_env
from tfa_recipes.envs.tf_py import train_environments
from tfa_recipes.loop import roles
from tfa_recipes.loop.roles import Parts
from tfa_recipes.recipe import Fleet
from tfa_recipes.run.directory import RunDir


def make_env(config: Config, seed: int):
    return load_gym(config.env_name, seed=seed)


def build(config: Config, run: RunDir, env_factory, resources) -> Parts:
    if is_tf_native(config.env_name):
        # In the graph: the driver steps it with no Python per step (the Reverb observer
        # still leaves the graph to write each item, as the tutorial's table needs).
        train_py_env, train_env = None, load_tf_env(config.env_name, seed=config.seed)
    else:
        # The tutorial drives `env` with a time step of `train_py_env`; one environment
        # does both.
        train_py_env, train_env = train_environments(
            env_factory,
            config.seed,
            config.env_name,
            resources,
            network="the tutorial's Dense Q-network",
            discrete_actions=True,
        )
    agent = make_agent(config, train_env.time_step_spec(), train_env.action_spec())
    rb = make_replay(
        config,
        agent.collect_data_spec,
        observer="trajectory" if config.driver == "py" else "trajectory_in_graph",
        checkpoint_dir=run.replay_dir,
    )
    resources.callback(rb.close)
    random_policy = random_tf_policy.RandomTFPolicy(
        train_env.time_step_spec(), train_env.action_spec()
    )
    # Dataset generates trajectories with shape [Bx2x...], as in the tutorial.
    learner = roles.tf_agents_learner(
        agent, lambda: iter(rb.dataset(batch_size=config.batch_size, num_steps=2))
    )
    if config.driver == "py":
        return Parts(
            agent=agent,
            collector=py_collector(config, train_py_env, agent, random_policy, rb),
            learner=learner,
            replay=rb,
        )
    return Parts(
        agent=agent,
        iterations=graph_iterations(config, train_env, agent, random_policy, rb, learner),
        replay=rb,
    )


def make_agent(config: Config, time_step_spec, action_spec) -> tf_agent.TFAgent:
    """The tutorial's `DqnAgent`: its Q-network, Adam and squared TD loss."""
    q_net = networks.sequential_q_network(action_spec, config.fc_layer_params)
    return agents.dqn(
        time_step_spec,
        action_spec,
        q_net,
        tf.keras.optimizers.Adam(learning_rate=config.learning_rate),
        td_errors_loss_fn="element_wise_squared_loss",
    )


def make_replay(
    config: Config,
    collect_data_spec,
    *,
    observer: str = "trajectory",
    checkpoint_dir: Path | None = None,
) -> replay.ReverbReplay:
    """The tutorial's Reverb table of 2-step items and its observer (`"trajectory"` for a
    `PyDriver`, `"trajectory_in_graph"` for the `DynamicStepDriver` of `--driver graph`)."""
    return replay.reverb_replay(
        collect_data_spec,
        max_size=config.replay_buffer_max_length,
        sequence_length=2,
        observer=observer,
        checkpoint_dir=checkpoint_dir,
    )


def py_collector(
    config: Config,
    train_py_env: py_environment.PyEnvironment,
    agent: tf_agent.TFAgent,
    random_policy: random_tf_policy.RandomTFPolicy,
    rb: replay.ReverbReplay,
) -> roles.PyCollector:
    """The tutorial's collection: a `PyDriver` step from Python each iteration."""

    def initial_collect() -> int:
        py_driver.PyDriver(
            train_py_env,
            CompiledPyTFEagerPolicy(random_policy),
            [rb.observer],
            max_steps=config.initial_collect_steps,
        ).run(train_py_env.reset())
        return config.initial_collect_steps

    return roles.PyCollector(
        train_py_env,
        CompiledPyTFEagerPolicy(agent.collect_policy),
        [rb.observer],
        steps_per_run=config.collect_steps_per_iteration,
        initial=initial_collect,
    )


def graph_iterations(
    config: Config,
    train_env: tf_py_environment.TFPyEnvironment,
    agent: tf_agent.TFAgent,
    random_policy: random_tf_policy.RandomTFPolicy,
    rb: replay.ReverbReplay,
    learner: roles.TFAgentsLearner,
) -> roles.GraphIterations:
    """The same collection in the graph: a `DynamicStepDriver` over `train_env` writes the
    tutorial's items (`replay.ReverbAddTrajectoryGraphObserver`), and each iteration's
    step, then its train step (sampling the Reverb dataset), run in one `tf.while_loop` of
    many iterations: 1.8 ms an iteration against 3.2 ms for the PyDriver path, evaluations
    included (20,000 iterations, see the README's Speed). A resumed run starts a fresh
    episode with the observer's cache empty, as the PyCollector's new Actor and observer do.
    """
    initial_collect_driver = dynamic_step_driver.DynamicStepDriver(
        train_env, random_policy, [rb.observer], num_steps=config.initial_collect_steps
    )
    collect_driver = dynamic_step_driver.DynamicStepDriver(
        train_env,
        agent.collect_policy,
        [rb.observer],
        num_steps=config.collect_steps_per_iteration,
    )

    def initial_collect() -> int:
        # Eager: 100 steps cost less than a trace. Then a reset, as the PyCollector resets
        # after the warm-up; the observer keeps its last step, so the loop's first step
        # writes the item spanning the reset that the tutorial's observer writes.
        initial_collect_driver.run(train_env.reset())
        train_env.reset()
        return config.initial_collect_steps

    return roles.GraphIterations(
        collect_driver,
        learner,
        steps_per_iteration=config.collect_steps_per_iteration,
        initial=initial_collect,
    )


def fleet(config: Config) -> Fleet:
    """With actors: one train step per iteration of `collect_steps_per_iteration` steps."""
    return Fleet.for_dqn(config, steps_per_train_step=config.collect_steps_per_iteration)
