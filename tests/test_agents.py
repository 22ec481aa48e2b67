"""agents.DqnAgent: the one-target-pass TD target gives DqnAgent's own loss and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts
from tf_agents.utils import common

from tfa_recipes.blocks import agents, networks


def _experience(collect_data_spec, batch: int, seed: int):
    spec = tensor_spec.add_outer_dim(tensor_spec.add_outer_dim(collect_data_spec, 2), batch)
    rng = np.random.default_rng(seed)
    experience = tensor_spec.sample_spec_nest(spec, seed=seed)
    # Mid-episode and last steps, so the discount masks some targets.
    discount = rng.integers(0, 2, size=(batch, 2)).astype(np.float32)
    return experience._replace(
        observation=tf.constant(rng.normal(size=experience.observation.shape), tf.float32),
        step_type=tf.ones_like(experience.step_type),
        next_step_type=tf.where(discount == 0, 2, 1),
        discount=tf.constant(discount),
        reward=tf.constant(rng.normal(size=(batch, 2)), tf.float32),
        policy_info=(),
    )


@pytest.mark.parametrize("gamma", [1.0, 0.99])
def test_one_target_pass_gives_dqn_agents_loss_and_gradients(gamma):
    observation_spec = tensor_spec.TensorSpec((4,), tf.float32)
    action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2)
    q_net = networks.sequential_q_network(action_spec, (16,))
    target_net = networks.sequential_q_network(action_spec, (16,))
    kwargs = dict(
        q_network=q_net,
        target_q_network=target_net,
        optimizer=tf.keras.optimizers.Adam(1e-3),
        td_errors_loss_fn=common.element_wise_squared_loss,
        gamma=gamma,
    )
    time_step_spec = ts.time_step_spec(observation_spec)
    ours = agents.DqnAgent(time_step_spec, action_spec, **kwargs)
    theirs = dqn_agent.DqnAgent(time_step_spec, action_spec, **kwargs)
    ours.initialize()
    # Different target weights than the online ones, so the target pass matters.
    for variable in target_net.variables:
        variable.assign(variable + 0.3)
    experience = _experience(ours.collect_data_spec, batch=32, seed=3)
    results = []
    for agent in (ours, theirs):
        with tf.GradientTape() as tape:
            loss = agent._loss(experience, training=True).loss
        results.append((loss, tape.gradient(loss, q_net.trainable_variables)))
    (our_loss, our_grads), (their_loss, their_grads) = results
    np.testing.assert_array_equal(our_loss.numpy(), their_loss.numpy())
    for ours_g, theirs_g in zip(our_grads, their_grads, strict=True):
        np.testing.assert_array_equal(ours_g.numpy(), theirs_g.numpy())


def test_dqn_builds_the_one_target_pass_agent():
    observation_spec = tensor_spec.TensorSpec((4,), tf.float32)
    action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
    agent = agents.dqn(
        ts.time_step_spec(observation_spec),
        action_spec,
        networks.sequential_q_network(action_spec, (8,)),
        tf.keras.optimizers.Adam(1e-3),
    )
    assert type(agent) is agents.DqnAgent
