"""The TensorFlow side of `tfa_recipes.dqn_breakout`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.drivers import dynamic_step_driver
from tf_agents.metrics import tf_metrics
from tf_agents.networks import network
from tf_agents.policies import epsilon_greedy_policy, random_tf_policy
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.trajectories import trajectory as trajectory_lib
from tf_agents.utils import common

from tfa_recipes.blocks import agents, networks, replay
from tfa_recipes.dqn_breakout import Config
from tfa_recipes.envs import atari
from tfa_recipes.envs.tf_py import tf_environment
from tfa_recipes.loop import roles
from tfa_recipes.loop.roles import Parts
from tfa_recipes.output import media, progress
from tfa_recipes.recipe import Fleet
from tfa_recipes.run.directory import RunDir

# The book's (filters, kernel size, stride) per conv layer: the Nature DQN network.
CONV_LAYER_PARAMS = ((32, (8, 8), 4), (64, (4, 4), 2), (64, (3, 3), 1))

LEFT = 3


def make_env(config: Config, seed: int):
    return atari.load_atari(config.game, seed=seed, max_episode_steps=config.max_episode_steps)


class ShowProgress:
    """The book's observer: counts the steps it sees and shows `counter/total`, here as a
    tqdm bar.

    Off a terminal the bar is disabled and the observer adds nothing to the graph. In a
    compiled driver the counting runs through `tf.py_function` at every step.
    """

    def __init__(self, bar) -> None:
        self.counter = 0
        self.bar = bar

    def __call__(self, trajectory: trajectory_lib.Trajectory) -> None:
        if self.bar.disable:
            return
        if tf.executing_eagerly():
            self._count(trajectory.is_boundary())
        else:
            tf.py_function(self._count, [trajectory.is_boundary()], [])

    def _count(self, is_boundary) -> None:
        if not np.all(is_boundary):
            self.counter += 1
            self.bar.update(1)


def replay_bytes_per_step(collect_data_spec) -> int:
    return sum(
        int(np.prod(spec.shape)) * spec.dtype.size for spec in tf.nest.flatten(collect_data_spec)
    )


def build(config: Config, run: RunDir, env_factory, resources) -> Parts:
    env = env_factory(config.seed)
    resources.callback(env.close)
    tf_env = tf_environment(env, resources)
    write_observation_picture(env_factory(config.seed), run)

    agent = make_agent(config, tf_env.time_step_spec(), tf_env.action_spec())

    bytes_per_step = replay_bytes_per_step(agent.collect_data_spec)
    print(
        f"replay buffer: {config.replay_buffer_max_length} steps x {bytes_per_step} bytes = "
        f"{config.replay_buffer_max_length * bytes_per_step / 1e9:.2f} GB of RAM"
        + (", saved in each checkpoint" if config.checkpoint_replay else "")
    )
    replay_buffer = make_replay_buffer(config, agent.collect_data_spec, tf_env.batch_size)
    train_metrics = make_train_metrics()
    collect_driver = make_collect_driver(config, tf_env, agent, replay_buffer, train_metrics)

    def initial_collect() -> int:
        initial_collect_policy = random_tf_policy.RandomTFPolicy(
            tf_env.time_step_spec(), tf_env.action_spec()
        )
        with progress.bar(config.initial_collect_steps, desc="initial collect", unit="step") as bar:
            init_driver = dynamic_step_driver.DynamicStepDriver(
                tf_env,
                initial_collect_policy,
                observers=[replay_buffer.add_batch, ShowProgress(bar)],
                num_steps=config.initial_collect_steps,
            )
            # Compiled: a third of the eager driver's time per step (measured here).
            common.function(init_driver.run)()
        return config.initial_collect_steps

    # The book's train_agent loop body (collect update_period steps, then one train step),
    # many iterations per compiled call.
    lockstep = roles.GraphIterations(
        collect_driver,
        roles.tf_agents_learner(
            agent,
            lambda: iter(make_dataset(config, replay_buffer)),
        ),
        steps_per_iteration=config.update_period,
        initial=initial_collect,
        # An iteration takes ~0.1 s: a stop request is answered within a few seconds.
        max_iterations_per_call=20,
    )
    return Parts(
        agent=agent,
        iterations=lockstep,
        trackables={"replay_buffer": replay_buffer} if config.checkpoint_replay else {},
        replay=replay.InGraphReplay(replay_buffer),
        eval_policy=eval_policy(config, agent),
        train_metrics=train_metrics,
    )


def make_agent(config: Config, time_step_spec, action_spec) -> tf_agent.TFAgent:
    """The book's agent: the Atari Q-network on byte frames, centred RMSprop, Huber loss,
    and epsilon decaying with the agent's train step (in an actor, the learner's, pulled
    with the weights)."""
    q_net = make_q_network(config, time_step_spec.observation, action_spec)
    train_step = tf.Variable(0, dtype=tf.int64)
    optimizer = tf.keras.optimizers.RMSprop(
        learning_rate=config.learning_rate,
        rho=config.rmsprop_rho,
        momentum=0.0,
        epsilon=config.rmsprop_epsilon,
        centered=True,
    )
    epsilon_fn = tf.keras.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=config.initial_epsilon,
        decay_steps=config.epsilon_decay_steps,
        end_learning_rate=config.final_epsilon,
    )
    return agents.dqn(
        time_step_spec,
        action_spec,
        q_net,
        optimizer,
        td_errors_loss_fn="element_wise_huber_loss",
        gamma=config.gamma,
        epsilon_greedy=lambda: epsilon_fn(train_step),
        target_update_period=config.target_update_period,
        train_step_counter=train_step,
    )


def make_q_network(config: Config, observation_spec, action_spec) -> network.Network:
    """The book's `QNetwork`: the Nature DQN's conv layers and `fc_layer_params`, on
    frames stored as bytes (to save RAM) that a `Lambda` layer scales to [0, 1]."""
    preprocessing_layer = tf.keras.layers.Lambda(lambda obs: tf.cast(obs, np.float32) / 255.0)
    return networks.classic_q_network(
        observation_spec,
        action_spec,
        config.fc_layer_params,
        conv_layer_params=CONV_LAYER_PARAMS,
        preprocessing_layers=preprocessing_layer,
    )


def make_replay_buffer(
    config: Config, collect_data_spec, batch_size: int
) -> tf_uniform_replay_buffer.TFUniformReplayBuffer:
    """The book's `TFUniformReplayBuffer`, as wide as the environment's batch."""
    return replay.tf_uniform_replay(
        collect_data_spec, batch_size=batch_size, max_length=config.replay_buffer_max_length
    )


def make_train_metrics() -> list:
    """The book's training metrics, fed by the collect driver."""
    return [
        tf_metrics.NumberOfEpisodes(),
        tf_metrics.EnvironmentSteps(),
        tf_metrics.AverageReturnMetric(),
        tf_metrics.AverageEpisodeLengthMetric(),
    ]


def make_collect_driver(
    config: Config, tf_env, agent: tf_agent.TFAgent, replay_buffer, train_metrics
) -> dynamic_step_driver.DynamicStepDriver:
    """The book's collect driver: `update_period` steps of the epsilon-greedy collect
    policy per run, into the replay buffer and the training metrics."""
    return dynamic_step_driver.DynamicStepDriver(
        tf_env,
        agent.collect_policy,
        observers=[replay_buffer.add_batch] + list(train_metrics),
        num_steps=config.update_period,
    )


def make_dataset(config: Config, replay_buffer) -> tf.data.Dataset:
    """The book's dataset: batches of `batch_size` 2-step trajectories, 3 parallel calls,
    prefetched."""
    return replay.experience_dataset(replay_buffer, batch_size=config.batch_size, num_steps=2)


def eval_policy(config: Config, agent: tf_agent.TFAgent):
    """The evaluated policy: greedy, or epsilon-greedy with `eval_epsilon` (the book's 0.05
    against a policy stuck on one action)."""
    if config.eval_epsilon == 0:
        return agent.policy
    return epsilon_greedy_policy.EpsilonGreedyPolicy(agent.policy, epsilon=config.eval_epsilon)


def write_observation_picture(py_env, run: RunDir) -> None:
    """The book's look at a preprocessed observation: reset, then LEFT four times."""
    action = LEFT if py_env.action_spec().maximum >= LEFT else 0
    py_env.reset()
    for _ in range(4):
        time_step = py_env.step(np.array(action, dtype=np.int64))
    media.plot_observation(time_step.observation, run.path / "observation.png")
    py_env.close()


def fleet(config: Config) -> Fleet:
    """With actors the table is Reverb's (the book's TFUniformReplayBuffer lives in one
    process): the same uniform sampling of 2-step items, FIFO beyond its size, and one
    train step per `update_period` environment steps."""
    return Fleet.for_dqn(config, steps_per_train_step=config.update_period)
