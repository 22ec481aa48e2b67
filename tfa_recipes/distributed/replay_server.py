"""The replay role: a Reverb server with the recipe's experience table, whose rate limiter
keeps the recipe's train steps per environment step, and a table for the policy's
weights."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import reverb
import tensorflow as tf

from tfa_recipes.blocks import replay
from tfa_recipes.config import dump_config
from tfa_recipes.distributed.agent import VARIABLES_TABLE, agent_for, policy_variables
from tfa_recipes.distributed.flags import parse_address
from tfa_recipes.distributed.network import refuse_port_in_use
from tfa_recipes.distributed.watch import learner_finished
from tfa_recipes.loop.signals import StopRequest
from tfa_recipes.run.checkpoints import Checkpoints
from tfa_recipes.run.directory import RunDir

if TYPE_CHECKING:
    from tfa_recipes.recipe import Fleet


def rate_limiter(fleet: Fleet) -> reverb.rate_limiters.SampleToInsertRatio:
    """`samples_per_insert` items sampled per item inserted: a batch per train step, and
    the recipe's train steps per environment step. Sampling starts once the warm-up is
    in; the slack is TF-Agents' (10% of the warm-up's worth), at least what Reverb needs."""
    samples_per_insert = fleet.batch_size * fleet.train_steps_per_env_step
    min_size = max(1, fleet.initial_collect_steps)
    error_buffer = max(0.1 * min_size * samples_per_insert, 2.0 * max(1.0, samples_per_insert))
    return reverb.rate_limiters.SampleToInsertRatio(
        samples_per_insert=samples_per_insert,
        min_size_to_sample=min_size,
        error_buffer=error_buffer,
    )


def serve_replay(
    recipe: Any, config: Any, run: RunDir, address: str, say: Callable[[str], None] = print
) -> int:
    """Serve the run's tables until the learner has finished (its summary names the last
    iteration) or SIGTERM/SIGINT. A resumed run's table is loaded from the copy of the
    checkpoint the learner restores."""
    fleet = recipe.built_by().fleet(config)
    _, port = parse_address(address)
    refuse_port_in_use(port)
    if not run.config_json.is_file():
        # A fresh run: the roles started after this one check their flags against it.
        dump_config(config, run.config_json)
    checkpoints = Checkpoints(run)
    checkpoints.stage_replay(checkpoints.select(lambda line: None))
    env, agent = agent_for(recipe, config, config.seed)
    env.close()  # only its specs were needed
    variables = policy_variables(agent, tf.Variable(0, dtype=tf.int64))
    tables = [
        replay.uniform_table(
            agent.collect_data_spec,
            max_size=config.replay_buffer_max_length,
            rate_limiter=rate_limiter(fleet),
        ),
        reverb.Table(
            VARIABLES_TABLE,
            sampler=reverb.selectors.Uniform(),
            remover=reverb.selectors.Fifo(),
            rate_limiter=reverb.rate_limiters.MinSize(1),
            max_size=1,
            max_times_sampled=0,
            signature=tf.nest.map_structure(
                lambda variable: tf.TensorSpec(variable.shape, variable.dtype), variables
            ),
        ),
    ]
    server = reverb.Server(
        tables, port=port, checkpointer=replay.reverb_checkpointer(run.replay_dir)
    )
    say(f"replay server: listening on {address}")
    with StopRequest() as stop:
        while not stop.requested and not learner_finished(run, config):
            time.sleep(0.5)
    server.stop()
    return 0
