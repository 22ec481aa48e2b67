"""The TensorFlow side of `tfa_recipes.dqn_cartpole_pixels`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.drivers import py_driver
from tf_agents.networks import network
from tf_agents.policies import epsilon_greedy_policy, greedy_policy, q_policy
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.specs import tensor_spec
from tf_agents.utils import common

from tfa_recipes.blocks import agents, networks, replay
from tfa_recipes.blocks.policies import CompiledPyTFEagerPolicy
from tfa_recipes.dqn_cartpole_pixels import Config
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.envs.pixels import ScreenPatchDifference
from tfa_recipes.errors import RecipeError
from tfa_recipes.loop import roles
from tfa_recipes.loop.roles import Parts
from tfa_recipes.run.directory import RunDir


def make_env(config: Config, seed: int) -> ScreenPatchDifference:
    py_env = load_gym(config.env_name)
    if not hasattr(py_env.gym.unwrapped, "x_threshold"):
        raise RecipeError(
            f"--env-name must be a CartPole environment (the patch follows the cart), "
            f"got {config.env_name!r}"
        )
    # Seeded after wrapping: the wrapper resets once to learn the frame size.
    env = ScreenPatchDifference(py_env)
    env.seed(seed)
    return env


def build(config: Config, run: RunDir, env_factory, resources) -> Parts:
    train_py_env = env_factory(config.seed)
    resources.callback(train_py_env.close)
    time_step_spec = tensor_spec.from_spec(train_py_env.time_step_spec())
    action_spec = tensor_spec.from_spec(train_py_env.action_spec())
    observation_spec = time_step_spec.observation
    q_net = networks.pixel_q_network(observation_spec, action_spec)
    target_q_net = networks.pixel_q_network(observation_spec, action_spec)
    steps_done = tf.Variable(0, dtype=tf.int64, name="steps_done")
    epsilon = epsilon_schedule(config, steps_done)
    agent = make_agent(config, time_step_spec, action_spec, q_net, target_q_net, epsilon)
    memory = make_replay_memory(config, agent.collect_data_spec)
    episodes_done = tf.Variable(0, dtype=tf.int64, name="episodes_done")

    def count_step(trajectory) -> None:
        # The step from an episode's last frame into the next reset takes no action.
        if not trajectory.is_boundary():
            steps_done.assign_add(1)

    eval_policy = None
    acting_policy = agent.collect_policy
    if config.act_with_frame_statistics:
        greedy = q_policy.QPolicy(
            time_step_spec, action_spec, q_network=networks.PerFrameBatchNorm(q_net)
        )
        acting_policy = epsilon_greedy_policy.EpsilonGreedyPolicy(greedy, epsilon=epsilon)
        eval_policy = greedy_policy.GreedyPolicy(greedy)
    collect_policy = CompiledPyTFEagerPolicy(acting_policy)
    observers = [replay.add_batch_observer(memory), count_step]
    dataset = make_dataset(config, memory)

    @common.function
    def copy_to_target() -> None:
        common.soft_variables_update(
            q_net.variables, target_q_net.variables, tau=1.0, tau_non_trainable=1.0
        )

    step_driver, boundary_driver = make_drivers(train_py_env, collect_policy, observers)
    lockstep = EpisodeLockstep(
        train_py_env,
        step_driver=step_driver,
        boundary_driver=boundary_driver,
        learner=roles.tf_agents_learner(agent, lambda: iter(dataset)),
        steps_done=steps_done,
        episodes_done=episodes_done,
        copy_to_target=copy_to_target,
        batch_size=config.batch_size,
        target_update=config.target_update,
    )
    return Parts(
        agent=agent,
        iterations=lockstep,
        eval_policy=eval_policy,
        trackables={
            "replay_memory": memory,
            "steps_done": steps_done,
            "episodes_done": episodes_done,
        },
    )


def epsilon_schedule(config: Config, steps_done: tf.Variable) -> Callable[[], tf.Tensor]:
    """The tutorial's `select_action` threshold: EPS_END + (EPS_START - EPS_END) *
    exp(-steps_done / EPS_DECAY), read at every action."""

    def epsilon() -> tf.Tensor:
        decay = tf.exp(-tf.cast(steps_done, tf.float32) / config.eps_decay)
        return config.eps_end + (config.eps_start - config.eps_end) * decay

    return epsilon


def make_agent(
    config: Config,
    time_step_spec,
    action_spec,
    q_net: network.Network,
    target_q_net: network.Network,
    epsilon: Callable[[], tf.Tensor],
) -> tf_agent.TFAgent:
    """The tutorial's `optimize_model` as a `DqnAgent`: Huber loss, GAMMA, RMSprop with
    every gradient element clamped to [-1, 1], and the target network's updates left to
    the loop (every TARGET_UPDATE episodes, not train steps)."""
    return agents.dqn(
        time_step_spec,
        action_spec,
        q_net,
        tf.keras.optimizers.RMSprop(
            learning_rate=config.learning_rate,
            rho=config.rmsprop_rho,
            epsilon=config.rmsprop_epsilon,
            clipvalue=config.gradient_clip_value,
        ),
        td_errors_loss_fn="element_wise_huber_loss",
        gamma=config.gamma,
        epsilon_greedy=epsilon,
        target_update_period=None,
        target_q_network=target_q_net,
    )


def make_replay_memory(
    config: Config, collect_data_spec
) -> tf_uniform_replay_buffer.TFUniformReplayBuffer:
    """The tutorial's `ReplayMemory(10000)`: the last `replay_memory_capacity` steps."""
    return replay.tf_uniform_replay(
        collect_data_spec, batch_size=1, max_length=config.replay_memory_capacity
    )


def make_dataset(config: Config, memory) -> tf.data.Dataset:
    """`memory.sample(BATCH_SIZE)`: sampled when trained on; pairs of adjacent steps make
    the (state, action, next_state, reward) transitions.

    Without tf.data's injected prefetch (on by default): it drew the next batch in the
    background as soon as a train step took one, before the environment step that follows
    was pushed, and when it drew depended on thread timing, so two runs of a seed on a
    loaded machine parted (`tests/test_regression_dqn_cartpole_pixels.py`)."""
    options = tf.data.Options()
    options.experimental_optimization.inject_prefetch = False
    return memory.as_dataset(sample_batch_size=config.batch_size, num_steps=2).with_options(
        options
    )


def make_drivers(env, collect_policy, observers) -> tuple[py_driver.PyDriver, py_driver.PyDriver]:
    """One step per driver call, as the tutorial runs `optimize_model()` after every step
    (so the network that acts changes during an episode); and, from an episode's last
    step, only the step into the reset (a boundary in the memory)."""
    return (
        py_driver.PyDriver(env, collect_policy, observers, max_steps=1),
        py_driver.PyDriver(env, collect_policy, observers, max_episodes=1),
    )


class EpisodeLockstep:
    """One iteration is one of the tutorial's episodes: a step, then `optimize_model()`
    once the memory holds a batch, until the episode ends; the target network copied
    every `target_update` episodes."""

    # An episode lasts up to seconds: the loop looks for a stop request after each.
    max_iterations_per_call = 1

    def __init__(
        self,
        env,
        *,
        step_driver,
        boundary_driver,
        learner: roles.Learner,
        steps_done: tf.Variable,
        episodes_done: tf.Variable,
        copy_to_target,
        batch_size: int,
        target_update: int,
    ) -> None:
        self._step_driver, self._boundary_driver = step_driver, boundary_driver
        self._learner = learner
        self._steps_done, self._episodes_done = steps_done, episodes_done
        self._copy_to_target = copy_to_target
        self._batch_size, self._target_update = batch_size, target_update
        self._time_step = env.reset()

    def initial_collect(self) -> int:
        return 0

    def run(self, iterations: int) -> tuple[int, Any]:
        before = int(self._steps_done.numpy())
        loss_info = None
        for _ in range(iterations):
            while not self._time_step.is_last():
                self._time_step, _ = self._step_driver.run(self._time_step)
                # optimize_model() runs once len(memory) >= BATCH_SIZE.
                if int(self._steps_done.numpy()) >= self._batch_size:
                    loss_info = self._learner.run(1)
            self._time_step, _ = self._boundary_driver.run(self._time_step)
            if int(self._episodes_done.numpy()) % self._target_update == 0:
                self._copy_to_target()
            self._episodes_done.assign_add(1)
        return int(self._steps_done.numpy()) - before, loss_info
