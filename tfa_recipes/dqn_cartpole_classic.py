"""DQN on CartPole, the older TF-Agents notebook: QNetwork, TFUniformReplayBuffer, drivers.

The notebook's pieces, in its order: `suite_gym` CartPole-v0 in a `TFPyEnvironment`,
`q_network.QNetwork`, `DqnAgent` with the TF1 `AdamOptimizer` and squared TD loss, a
`TFUniformReplayBuffer` as long as the replay and as wide as the environment's batch, 100
random steps to start, a dataset of 2-step samples, and `common.function(agent.train)`.
The notebook's hand-written `collect_step` loop is what `DynamicStepDriver` replaces; its
`run` is compiled with `common.function`, as Hands-On ML does. The replay buffer lives in
TensorFlow variables, so it is saved in the checkpoint beside the agent.

    python -m tfa_recipes.dqn_cartpole_classic [--num-iterations 20000] [--seed 0] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

import tensorflow as tf
from tf_agents.drivers import dynamic_step_driver
from tf_agents.policies import random_tf_policy

from tfa_recipes import agents, networks, replay, roles
from tfa_recipes.config import LoopConfig, learning_rate_param, param
from tfa_recipes.envs import load_gym, tf_environment
from tfa_recipes.runs import RunDir
from tfa_recipes.training import Parts, Recipe


@dataclasses.dataclass(frozen=True)
class Config(LoopConfig):
    env_name: str = param("gym environment id, loaded with suite_gym", fixed=True)
    initial_collect_steps: int = param(
        "random-policy steps stored before training (the first sample needs 2)", minimum=1
    )
    collect_steps_per_iteration: int = param("environment steps collected per iteration", minimum=1)
    replay_buffer_max_length: int = param(
        "TFUniformReplayBuffer length (oldest overwritten)", minimum=1, fixed=True
    )
    batch_size: int = param("experience samples per train step", minimum=1)
    learning_rate: float = learning_rate_param("Adam learning rate")
    fc_layer_params: tuple[int, ...] = param(
        "hidden Dense layer sizes of the Q-network", minimum=1, fixed=True
    )
    prefetch_samples: bool = param(
        "sample through the notebook's prefetching dataset; false: the same sampler inside "
        "the compiled train step, so a seed's run repeats exactly"
    )


def make_env(config: Config, seed: int):
    return load_gym(config.env_name, seed=seed)


def build(config: Config, run: RunDir, env_factory, resources) -> Parts:
    train_py_env = env_factory(config.seed)
    resources.callback(train_py_env.close)
    agents.require_discrete_actions(train_py_env.action_spec(), config.env_name)
    train_env = tf_environment(train_py_env, resources)
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
    lockstep = roles.GraphLockstep(
        collect_driver,
        roles.tf_agents_learner(agent, experience),
        steps_per_iteration=config.collect_steps_per_iteration,
        initial=initial_collect,
    )
    return Parts(agent=agent, lockstep=lockstep, trackables={"replay_buffer": replay_buffer})


RECIPE = Recipe(
    name="dqn_cartpole_classic",
    description=(
        "DQN on CartPole (older TF-Agents notebook: TFUniformReplayBuffer + DynamicStepDriver)."
    ),
    config_cls=Config,
    make_env=make_env,
    build=build,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
