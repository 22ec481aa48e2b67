"""DQN on CartPole: TF-Agents' "Train a Deep Q Network" tutorial (Reverb + PyDriver).

The tutorial's pieces, in its order: `suite_gym` CartPole-v0 in a `TFPyEnvironment`, the
`sequential.Sequential` Q-network, `DqnAgent` with Adam and squared TD loss, a Reverb
uniform table fed by `ReverbAddTrajectoryObserver(sequence_length=2)`, `PyDriver`
collection (a `tf_agents.train.Actor`), a dataset of 2-step samples, and a compiled
`agent.train` (a `tf_agents.train.Learner`). Faster than the tutorial with the same 1:1
collect/train loop: compiled evaluation (the tutorial's eager evaluation is two thirds of
its run time), the sample-and-train step compiled into one call, a single-stream Reverb
dataset (see `replay.ReverbReplay.dataset`), and by default (`--driver graph`) collection
by a `DynamicStepDriver` writing the same Reverb items, compiled with the train step into
one loop of many iterations; `--driver py` keeps the tutorial's PyDriver (with a
pre-traced collect policy), one iteration per Python call.

    python -m tfa_recipes.dqn_cartpole [--num-iterations 20000] [--seed 0] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.drivers import dynamic_step_driver, py_driver
from tf_agents.environments import py_environment, tf_py_environment
from tf_agents.policies import random_tf_policy

from tfa_recipes import agents, distributed, networks, replay, roles
from tfa_recipes.config import LoopConfig, actors_param, learning_rate_param, param
from tfa_recipes.envs import load_gym, tf_environment
from tfa_recipes.policies import CompiledPyTFEagerPolicy
from tfa_recipes.runs import RunDir
from tfa_recipes.training import Parts, Recipe


@dataclasses.dataclass(frozen=True)
class Config(LoopConfig):
    env_name: str = param("gym environment id, loaded with suite_gym", fixed=True)
    initial_collect_steps: int = param(
        "random-policy steps stored before training",
        minimum=1,
        why="the table holds 2-step items: the first train step needs one stored step "
        "before the first iteration's",
    )
    collect_steps_per_iteration: int = param("environment steps collected per iteration", minimum=1)
    replay_buffer_max_length: int = param(
        "Reverb table size (FIFO beyond it)", minimum=1, fixed=True
    )
    batch_size: int = param("experience samples per train step", minimum=1)
    learning_rate: float = learning_rate_param("Adam learning rate")
    fc_layer_params: tuple[int, ...] = param(
        "hidden Dense layer sizes of the Q-network", minimum=None, fixed=True
    )
    driver: str = param(
        "graph: many collect+train iterations per compiled call (DynamicStepDriver, the same "
        "Reverb items); py: the tutorial's PyDriver, one iteration per Python call",
        choices=("graph", "py"),
    )
    actors: int = actors_param()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.fc_layer_params or min(self.fc_layer_params) < 1:
            from tfa_recipes.errors import RecipeError

            raise RecipeError(
                f"--fc-layer-params must be positive sizes, got {self.fc_layer_params}"
            )


def make_env(config: Config, seed: int):
    return load_gym(config.env_name, seed=seed)


def build(config: Config, run: RunDir, env_factory, resources) -> Parts:
    # The tutorial drives `env` with a time step of `train_py_env`; one environment does both.
    train_py_env = env_factory(config.seed)
    resources.callback(train_py_env.close)
    agents.require_discrete_actions(train_py_env.action_spec(), config.env_name)
    train_env = tf_environment(train_py_env, resources)
    agent = make_agent(config, train_env.time_step_spec(), train_env.action_spec())
    rb = replay.reverb_replay(
        agent.collect_data_spec,
        max_size=config.replay_buffer_max_length,
        sequence_length=2,
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
        lockstep=graph_lockstep(config, train_env, agent, random_policy, rb, learner),
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


def graph_lockstep(
    config: Config,
    train_env: tf_py_environment.TFPyEnvironment,
    agent: tf_agent.TFAgent,
    random_policy: random_tf_policy.RandomTFPolicy,
    rb: replay.ReverbReplay,
    learner: roles.TFAgentsLearner,
) -> roles.GraphLockstep:
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

    return roles.GraphLockstep(
        collect_driver,
        learner,
        steps_per_iteration=config.collect_steps_per_iteration,
        initial=initial_collect,
    )


RECIPE = Recipe(
    name="dqn_cartpole",
    description="DQN on CartPole (TF-Agents tutorial: Reverb + PyDriver).",
    config_cls=Config,
    make_env=make_env,
    build=build,
    published_return=("tutorial, iterations 2,000-20,000", 200.0),
    # One train step per iteration of `collect_steps_per_iteration` steps.
    fleet=distributed.dqn_fleet(make_agent, lambda config: config.collect_steps_per_iteration),
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
