"""The learner role: the recipe's own training loop (`loop.train`: evaluation, checkpoints
with the table's copy, export, plot, videos), training on what the actors wrote to the
replay server and pushing its weights every `PUSH_EVERY` train steps
(`ReverbVariableContainer`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from tf_agents.agents import tf_agent
from tf_agents.experimental.distributed import reverb_variable_container

from tfa_recipes.blocks import replay
from tfa_recipes.distributed.agent import (
    PUSH_EVERY,
    VARIABLES_TABLE,
    agent_for,
    eval_policy,
    joined_table,
    policy_variables,
)
from tfa_recipes.errors import RecipeError
from tfa_recipes.loop import roles
from tfa_recipes.loop.roles import Parts
from tfa_recipes.run.directory import RunDir


class RemoteLearner:
    """The learner's side of a run with actors, as the training loop's `Iterations`: each
    call trains on what the actors wrote (the rate limiter holds it to the recipe's ratio)
    and publishes the new weights; the environment steps are the table's new items."""

    max_iterations_per_call = PUSH_EVERY

    def __init__(
        self,
        learner: roles.TFAgentsLearner,
        table: replay.ReverbReplay,
        agent: tf_agent.TFAgent,
        *,
        min_items: int,
        connect_timeout: float,
    ) -> None:
        self._learner, self._table = learner, table
        self._variables = policy_variables(agent, agent.train_step_counter)
        self._container = reverb_variable_container.ReverbVariableContainer(
            table.address, table_names=[VARIABLES_TABLE]
        )
        self._min_items = min_items
        self._connect_timeout = connect_timeout
        self._inserts = None

    def _new_inserts(self) -> int:
        total = self._table.num_inserts()
        new = total - (self._inserts if self._inserts is not None else total)
        self._inserts = total
        return new

    def initial_collect(self) -> int:
        """Publish the weights the actors start from, and wait for the warm-up."""
        self._container.push(self._variables)
        self._new_inserts()
        deadline = time.monotonic() + self._connect_timeout
        while self._table.num_items() < self._min_items:
            if time.monotonic() > deadline:
                raise RecipeError(
                    f"the replay table at {self._table.address} holds "
                    f"{self._table.num_items()} items after {self._connect_timeout:.0f} s, "
                    f"the warm-up needs {self._min_items}: are the actors running?"
                )
            time.sleep(0.2)
        return self._new_inserts()

    def run(self, iterations: int) -> tuple[int, tf_agent.LossInfo]:
        if self._inserts is None:
            # A resumed run: the actors wait for the restored weights.
            self._container.push(self._variables)
            self._new_inserts()
        loss_info = self._learner.run(iterations)
        self._container.push(self._variables)
        return self._new_inserts(), loss_info


def learner_parts(
    recipe: Any,
    address: str,
    connect_timeout: float,
    config: Any,
    run: RunDir,
    make_env: Callable[[int], Any],
    resources: ExitStack,
) -> Parts:
    """The learner's `Parts` (the loop's `build`, with the first two arguments bound): the
    recipe's agent trained, as its single process trains it, on batches of the replay
    server's table, through `RemoteLearner`."""
    fleet = recipe.built_by().fleet(config)
    env, agent = agent_for(recipe, config, config.seed)
    resources.callback(env.close)
    table = joined_table(
        recipe, config, run, agent, address, connect_timeout, checkpoint_dir=run.replay_dir
    )
    resources.callback(table.close)
    learner = roles.tf_agents_learner(
        agent,
        lambda: iter(
            table.dataset(batch_size=fleet.batch_size, num_steps=fleet.sequence_length)
        ),
    )
    remote = RemoteLearner(
        learner,
        table,
        agent,
        min_items=fleet.initial_collect_steps,
        connect_timeout=connect_timeout,
    )
    return Parts(
        agent=agent, iterations=remote, replay=table, eval_policy=eval_policy(recipe, config, agent)
    )
