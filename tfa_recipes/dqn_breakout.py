"""DQN on Atari Breakout: Hands-On ML's "Using TF-Agents to Beat Breakout", offline.

The book's pieces, in its order: `suite_atari.load("BreakoutNoFrameskip-v4",
max_episode_steps=27000, gym_env_wrappers=[AtariPreprocessingWithAutoFire, FrameStack4])`
(ROMs from ale-py, ids registered by `tfa_recipes.envs.atari`), a `TFPyEnvironment`, a
`QNetwork` whose Lambda layer scales the uint8 frames to [0, 1], three conv layers and a
512-unit layer, `DqnAgent` with centered RMSprop, Huber loss, gamma 0.99, a target network
updated every 2,000 train steps and an epsilon that decays from 1.0 to 0.01 over 62,500
train steps (1M ALE frames), a `TFUniformReplayBuffer`, 20,000 random steps to start, a
`DynamicStepDriver` of 4 steps per train step that also feeds the `tf_metrics` logged every
1,000 iterations, a dataset of 64 2-step samples, and compiled `run` and `train`.

Differences, and why:
- Evaluation. The book only logs the training metrics (epsilon-greedy episodes, the last 10
  averaged): they are logged here too, as `step = N: NumberOfEpisodes = ...`, in
  metrics.csv as `Train<name>` and in TensorBoard as train/Metrics/<name>. The shared loop
  also evaluates every `eval_interval` iterations, with epsilon = `eval_epsilon` (0.05, as
  Mnih et al. 2015 evaluate): `-v4` Atari has no randomness, so a greedy policy would play
  the same episode in each of the `num_eval_episodes` copies. The exported policy is greedy.
- The TD loss is `element_wise_huber_loss`: the book's `keras.losses.Huber(reduction="none")`
  averages its [B] input to one number before DqnAgent masks episode ends per sample.
- The replay memory is 100,000 steps of (84, 84, 4) uint8 stacks: 100,000 x 28,248 bytes
  = 2.8 GB of RAM, allocated at start (the book's 1M would be 28 GB). With
  `checkpoint_replay = true` it is saved in every checkpoint (2.8 GB written, whatever its
  fill) and a resumed run continues with it; with false, checkpoints hold only the agent
  and a resumed run refills the replay with `initial_collect_steps` random steps.

    python -m tfa_recipes.dqn_breakout [--game SpaceInvaders] [--num-iterations 50000]
    python -m tfa_recipes.envs.atari   # the games
"""

from __future__ import annotations

from tfa_recipes import cpu

cpu.prefer_onednn()  # before TensorFlow loads: faster convolutions (see cpu.py)

import dataclasses
import sys

import numpy as np
import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.drivers import dynamic_step_driver
from tf_agents.metrics import tf_metrics
from tf_agents.policies import epsilon_greedy_policy, random_tf_policy
from tf_agents.trajectories import trajectory as trajectory_lib
from tf_agents.utils import common

from tfa_recipes import agents, distributed, media, networks, progress, replay, roles
from tfa_recipes.config import LoopConfig, actors_param, learning_rate_param, param
from tfa_recipes.envs import atari, tf_environment
from tfa_recipes.runs import RunDir
from tfa_recipes.training import Parts, Recipe

# The book's (filters, kernel size, stride) per conv layer: the Nature DQN network.
CONV_LAYER_PARAMS = ((32, (8, 8), 4), (64, (4, 4), 2), (64, (3, 3), 1))
LEFT = 3


@dataclasses.dataclass(frozen=True)
class Config(LoopConfig):
    game: str = param(
        f"Atari game, loaded as <game>NoFrameskip-v4 (list: {atari.LIST_GAMES_COMMAND})",
        fixed=True,
    )
    max_episode_steps: int = param("steps per episode at most (4 ALE frames each)", minimum=1)
    initial_collect_steps: int = param(
        "random-policy steps stored before training",
        minimum=2,
        why="the prefetching dataset draws its first 2-step sample before the first "
        "iteration collects",
    )
    update_period: int = param("environment steps collected per train step", minimum=1)
    replay_buffer_max_length: int = param(
        "TFUniformReplayBuffer length in steps; 28,248 bytes of RAM each", minimum=2, fixed=True
    )
    checkpoint_replay: bool = param(
        "save the replay buffer in every checkpoint (else a resumed run refills it at random)"
    )
    batch_size: int = param("experience samples per train step", minimum=1)
    learning_rate: float = learning_rate_param("RMSprop learning rate")
    rmsprop_rho: float = param("RMSprop discounting factor rho", minimum=0)
    rmsprop_epsilon: float = param("RMSprop epsilon", minimum=0)
    initial_epsilon: float = param("collect policy's epsilon at train step 0", minimum=0)
    final_epsilon: float = param("collect policy's epsilon after the decay", minimum=0)
    epsilon_decay_steps: int = param("train steps over which epsilon decays", minimum=1)
    target_update_period: int = param("train steps between target-network updates", minimum=1)
    gamma: float = param("discount factor", minimum=0)
    fc_layer_params: tuple[int, ...] = param(
        "Dense layer sizes after the conv layers", minimum=1, fixed=True
    )
    eval_epsilon: float = param("epsilon of the evaluated policy (0: greedy)", minimum=0)
    actors: int = actors_param()

    def __post_init__(self) -> None:
        super().__post_init__()
        atari.environment_name(self.game)


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
    replay_buffer = replay.tf_uniform_replay(
        agent.collect_data_spec,
        batch_size=tf_env.batch_size,
        max_length=config.replay_buffer_max_length,
    )
    train_metrics = [
        tf_metrics.NumberOfEpisodes(),
        tf_metrics.EnvironmentSteps(),
        tf_metrics.AverageReturnMetric(),
        tf_metrics.AverageEpisodeLengthMetric(),
    ]
    collect_driver = dynamic_step_driver.DynamicStepDriver(
        tf_env,
        agent.collect_policy,
        observers=[replay_buffer.add_batch] + train_metrics,
        num_steps=config.update_period,
    )

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
    lockstep = roles.GraphLockstep(
        collect_driver,
        roles.tf_agents_learner(
            agent,
            lambda: iter(
                replay.experience_dataset(replay_buffer, batch_size=config.batch_size, num_steps=2)
            ),
        ),
        steps_per_iteration=config.update_period,
        initial=initial_collect,
        # An iteration takes ~0.1 s: a stop request is answered within a few seconds.
        max_iterations_per_call=20,
    )
    return Parts(
        agent=agent,
        lockstep=lockstep,
        trackables={"replay_buffer": replay_buffer} if config.checkpoint_replay else {},
        replay=replay.InGraphReplay(replay_buffer),
        eval_policy=eval_policy(config, agent),
        train_metrics=train_metrics,
    )


def make_agent(config: Config, time_step_spec, action_spec) -> tf_agent.TFAgent:
    """The book's agent: the Atari Q-network on byte frames, centred RMSprop, Huber loss,
    and epsilon decaying with the agent's train step (in an actor, the learner's, pulled
    with the weights)."""
    # Frames are stored as bytes to save RAM; the network sees floats in [0, 1].
    preprocessing_layer = tf.keras.layers.Lambda(lambda obs: tf.cast(obs, np.float32) / 255.0)
    q_net = networks.classic_q_network(
        time_step_spec.observation,
        action_spec,
        config.fc_layer_params,
        conv_layer_params=CONV_LAYER_PARAMS,
        preprocessing_layers=preprocessing_layer,
    )
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


RECIPE = Recipe(
    name="dqn_breakout",
    description="DQN on Atari Breakout (Hands-On ML: suite_atari, TFUniformReplayBuffer, "
    "DynamicStepDriver).",
    config_cls=Config,
    make_env=make_env,
    build=build,
    # The book reports its training AverageReturn metric: 5.1-7.8 at 176k-196k env steps.
    published_return=("book, training AverageReturn near 196k env steps", 5.1),
    plot_ylim_top=None,
    # 2,000 steps (about a minute at 30 fps); a good player's game can last 27,000.
    max_video_frames=2000,
    # With actors the table is Reverb's (the book's TFUniformReplayBuffer lives in one
    # process): the same uniform sampling of 2-step items, FIFO beyond its size.
    fleet=distributed.dqn_fleet(
        make_agent, lambda config: config.update_period, eval_policy=eval_policy
    ),
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
