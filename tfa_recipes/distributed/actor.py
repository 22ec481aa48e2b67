"""The actor role: a `tf_agents.train.Actor` over the recipe's environment with the collect
policy, writing the tutorial's items with `ReverbAddTrajectoryObserver` and pulling the
learner's weights after every run; actor 0 also does the random warm-up of a fresh run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import reverb
from tf_agents.drivers import py_driver
from tf_agents.experimental.distributed import reverb_variable_container
from tf_agents.policies import random_py_policy
from tf_agents.train import actor as tf_actor

from tfa_recipes.blocks.policies import CompiledPyTFEagerPolicy
from tfa_recipes.distributed.agent import (
    VARIABLES_TABLE,
    agent_for,
    joined_table,
    policy_variables,
)
from tfa_recipes.distributed.watch import FinishedWatch
from tfa_recipes.loop import roles
from tfa_recipes.loop.signals import StopRequest
from tfa_recipes.run.directory import RunDir
from tfa_recipes.seeds import ACTOR_SEED_OFFSET, set_seeds


def run_actor(
    recipe: Any,
    config: Any,
    run: RunDir,
    address: str,
    actor_id: int,
    connect_timeout: float,
    say: Callable[[str], None] = print,
) -> int:
    """Collect with the newest weights the learner published until it has trained
    `num_iterations` steps, or SIGTERM/SIGINT."""
    fleet = recipe.built_by().fleet(config)
    seed = config.seed + ACTOR_SEED_OFFSET + actor_id
    set_seeds(seed)
    env, agent = agent_for(recipe, config, seed)
    table = joined_table(recipe, config, run, agent, address, connect_timeout, write=True)
    # The agent's own counter: a collect policy whose epsilon decays with the train step
    # (Breakout's) follows the learner's.
    train_step = agent.train_step_counter
    variables = policy_variables(agent, train_step)
    container = reverb_variable_container.ReverbVariableContainer(
        address, table_names=[VARIABLES_TABLE]
    )
    with StopRequest() as stop, contextlib.closing(table):
        # Blocks until the learner has published its first weights.
        container.update(variables)
        if actor_id == 0 and table.num_items() == 0:
            py_driver.PyDriver(
                env,
                random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec()),
                [table.observer],
                max_steps=fleet.initial_collect_steps,
            ).run(env.reset())
        # TF-Agents' collect metrics (episodes, steps, average return and length of the
        # last 10 episodes) as TensorBoard summaries of this actor, train/actor_<id>, on
        # the learner's train step: the learner does not see the episodes.
        collector = roles.PyCollector(
            env,
            CompiledPyTFEagerPolicy(agent.collect_policy),
            [table.observer],
            steps_per_run=fleet.steps_per_run,
            # The collector counts EnvironmentSteps itself; the rest of the set.
            metrics=[
                metric
                for metric in tf_actor.collect_metrics(10)
                if metric.name != "EnvironmentSteps"
            ],
            summary_dir=str(run.train_dir / f"actor_{actor_id}"),
            summary_interval=config.log_interval,
            train_step=train_step,
        )
        collector.initial_collect()
        say(f"actor {actor_id}: collecting from train step {int(train_step.numpy())}")
        # The learner's summary tells a run stopped by --stop-at-return before its budget.
        finished = FinishedWatch(run, config)
        while (
            not stop.requested
            and int(train_step.numpy()) < config.num_iterations
            and not finished()
        ):
            collector.run()
            _wait_for_the_learner(table.observer, lambda: stop.requested or finished())
            container.update(variables)
        collector.write_summaries()
    env.close()
    return 0


# Items an actor may have sent that the rate limiter has not let in yet.
PENDING_ITEMS = 2


def _wait_for_the_learner(observer, done: Callable[[], bool]) -> None:
    """Hold the actor while the rate limiter holds its items back. Its writer sends items
    in the background and would go on stepping the environment (and queueing items)
    far ahead of the learner; the flush blocks instead, in short waits, so a stop
    request, or a learner that has finished, is seen."""
    # TF-Agents' observer flushes without a timeout; its writer takes one.
    writer = observer._get_writer()
    while not done():
        try:
            writer.flush(block_until_num_items=PENDING_ITEMS, timeout_ms=500)
            return
        except reverb.errors.DeadlineExceededError:
            continue
