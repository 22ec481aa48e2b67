"""The agent every role of a run with actors builds from the recipe's own builder, and the
weights the learner publishes to the actors."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.experimental.distributed import reverb_variable_container
from tf_agents.specs import tensor_spec

from tfa_recipes.blocks import replay
from tfa_recipes.distributed.network import wait_for_server
from tfa_recipes.run.directory import RunDir
from tfa_recipes.run.lifecycle import refuse_changes_from_saved

VARIABLES_TABLE = reverb_variable_container.DEFAULT_TABLE
# The learner publishes its weights every this many train steps: the single process acts
# with weights at most one update old, the actors with weights at most this many (each
# push is one small insert, ~0.3 ms for CartPole's network).
PUSH_EVERY = 10


def policy_variables(agent: tf_agent.TFAgent, train_step: tf.Variable) -> dict[str, Any]:
    return {
        reverb_variable_container.POLICY_KEY: agent.collect_policy.variables(),
        reverb_variable_container.TRAIN_STEP_KEY: train_step,
    }


def agent_for(recipe: Any, config: Any, seed: int) -> tuple[Any, tf_agent.TFAgent]:
    """The recipe's environment with `seed` and its builder's agent, as every role builds
    them."""
    builder = recipe.built_by()
    env = builder.make_env(config, seed)
    time_step_spec = tensor_spec.from_spec(env.time_step_spec())
    action_spec = tensor_spec.from_spec(env.action_spec())
    return env, builder.make_agent(config, time_step_spec, action_spec)


def eval_policy(recipe: Any, config: Any, agent: tf_agent.TFAgent) -> Any:
    """The policy the learner evaluates: the builder's `eval_policy`, else the greedy one."""
    choose = getattr(recipe.built_by(), "eval_policy", None)
    return agent.policy if choose is None else choose(config, agent)


def joined_table(
    recipe: Any, config: Any, run: RunDir, agent: tf_agent.TFAgent, address: str,
    connect_timeout: float, **options: Any,
) -> replay.ReverbReplay:
    """The experience table of the replay server at `address`, once it answers and this
    role's config agrees with the one the run records (the server records a fresh run's)."""
    wait_for_server(address, connect_timeout)
    refuse_changes_from_saved(recipe, config, run)
    return replay.remote_replay(
        agent.collect_data_spec,
        address=address,
        sequence_length=recipe.built_by().fleet(config).sequence_length,
        **options,
    )
