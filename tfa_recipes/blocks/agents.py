"""Agent construction: the tutorials' DqnAgent and ReinforceAgent set-ups."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.agents.reinforce import reinforce_agent
from tf_agents.networks import network
from tf_agents.utils import common

TD_ERRORS_LOSS_FNS: dict[str, Callable] = {
    "element_wise_squared_loss": common.element_wise_squared_loss,
    "element_wise_huber_loss": common.element_wise_huber_loss,
}


class DqnAgent(dqn_agent.DqnAgent):
    """TF-Agents' `DqnAgent`, with its TD target reading the target network once.

    `DqnAgent._compute_next_q_values` runs the target network on the next observations,
    then runs it again inside `_target_greedy_policy` to find the greedy action, and
    indexes the first result with it. Without action constraints that is the maximum of
    the first result, which is what this returns (the same values: a test compares the
    losses); a third of an update's forward passes less. With a constraint splitter the
    policy's masking matters, so the parent's path is kept.
    """

    def _compute_next_q_values(self, next_time_steps, info):
        if self._observation_and_action_constraint_splitter is not None:
            return super()._compute_next_q_values(next_time_steps, info)
        next_target_q_values, _ = self._target_q_network(
            next_time_steps.observation, step_type=next_time_steps.step_type
        )
        return tf.reduce_max(next_target_q_values, axis=-1)


def dqn(
    time_step_spec,
    action_spec,
    q_net: network.Network,
    optimizer: tf.keras.optimizers.Optimizer,
    *,
    td_errors_loss_fn: str = "element_wise_squared_loss",
    gamma: float = 1.0,
    epsilon_greedy: float | Callable[[], float] = 0.1,
    target_update_period: int | None = 1,
    target_q_network: network.Network | None = None,
    gradient_clipping: float | None = None,
    train_step_counter: tf.Variable | None = None,
) -> dqn_agent.DqnAgent:
    """An initialized `DqnAgent` (the one-target-pass subclass above); the defaults are
    DqnAgent's own, as the tutorial uses.

    `target_update_period=None` turns the agent's own target updates off, for a recipe
    that syncs `target_q_network` itself (every N episodes rather than N train steps).
    """
    agent = DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_net,
        optimizer=optimizer,
        td_errors_loss_fn=TD_ERRORS_LOSS_FNS[td_errors_loss_fn],
        gamma=gamma,
        epsilon_greedy=epsilon_greedy,
        target_update_period=target_update_period,
        target_q_network=target_q_network,
        gradient_clipping=gradient_clipping,
        train_step_counter=train_step_counter
        if train_step_counter is not None
        else tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    return agent


def reinforce(
    time_step_spec,
    action_spec,
    actor_net: network.Network,
    optimizer: tf.keras.optimizers.Optimizer,
    *,
    normalize_returns: bool = True,
) -> reinforce_agent.ReinforceAgent:
    """An initialized `ReinforceAgent` as the REINFORCE tutorial builds it."""
    agent = reinforce_agent.ReinforceAgent(
        time_step_spec,
        action_spec,
        actor_network=actor_net,
        optimizer=optimizer,
        normalize_returns=normalize_returns,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    return agent
