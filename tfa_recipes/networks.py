"""Q-networks and actor networks exactly as the tutorials define them."""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf
from tf_agents.networks import actor_distribution_network, q_network, sequential
from tf_agents.specs import tensor_spec


def num_actions(action_spec) -> int:
    spec = tensor_spec.from_spec(action_spec)
    return int(spec.maximum - spec.minimum + 1)


def dense_layer(num_units: int) -> tf.keras.layers.Dense:
    """The DQN tutorial's hidden layer: ReLU with He-style truncated-normal init."""
    return tf.keras.layers.Dense(
        num_units,
        activation=tf.keras.activations.relu,
        kernel_initializer=tf.keras.initializers.VarianceScaling(
            scale=2.0, mode="fan_in", distribution="truncated_normal"
        ),
    )


def sequential_q_network(action_spec, fc_layer_params: Sequence[int]) -> sequential.Sequential:
    """The 2023 DQN tutorial's `sequential.Sequential` Q-network.

    The output layer starts near zero with a bias of -0.2, as in the tutorial: small
    initial Q-values keep the first targets from exploding.
    """
    q_values_layer = tf.keras.layers.Dense(
        num_actions(action_spec),
        activation=None,
        kernel_initializer=tf.keras.initializers.RandomUniform(minval=-0.03, maxval=0.03),
        bias_initializer=tf.keras.initializers.Constant(-0.2),
    )
    return sequential.Sequential([dense_layer(units) for units in fc_layer_params] + [q_values_layer])


def classic_q_network(
    observation_spec,
    action_spec,
    fc_layer_params: Sequence[int],
    conv_layer_params: Sequence[tuple[int, Sequence[int], int]] | None = None,
    preprocessing_layers: tf.keras.layers.Layer | None = None,
) -> q_network.QNetwork:
    """`q_network.QNetwork` as the older DQN notebook and Hands-On ML build it."""
    return q_network.QNetwork(
        observation_spec,
        action_spec,
        preprocessing_layers=preprocessing_layers,
        conv_layer_params=conv_layer_params,
        fc_layer_params=tuple(fc_layer_params),
    )


def actor_network(
    observation_spec, action_spec, fc_layer_params: Sequence[int]
) -> actor_distribution_network.ActorDistributionNetwork:
    """The REINFORCE tutorial's `ActorDistributionNetwork`."""
    return actor_distribution_network.ActorDistributionNetwork(
        observation_spec, action_spec, fc_layer_params=tuple(fc_layer_params)
    )
