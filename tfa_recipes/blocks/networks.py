"""Q-networks and actor networks exactly as the tutorials define them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf
from tf_agents.networks import actor_distribution_network, network, q_network, sequential
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
    dense_layers = [dense_layer(units) for units in fc_layer_params]
    return sequential.Sequential(dense_layers + [q_values_layer])


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


def torch_default_initializers(fan_in: int) -> dict[str, tf.keras.initializers.Initializer]:
    """PyTorch's default `Conv2d`/`Linear` initialisation as Keras initializers.

    torch draws weights and biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)); Keras' own
    defaults (Glorot weights, zero biases) start a ported network elsewhere.
    VarianceScaling(1/3, fan_in, uniform) has exactly that bound for the weights.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return {
        "kernel_initializer": tf.keras.initializers.VarianceScaling(
            scale=1.0 / 3.0, mode="fan_in", distribution="uniform"
        ),
        "bias_initializer": tf.keras.initializers.RandomUniform(-bound, bound),
    }


def pixel_q_network(
    observation_spec,
    action_spec,
    *,
    conv_filters: Sequence[int] = (16, 32, 32),
    kernel_size: int = 5,
    stride: int = 2,
    fc_units: int = 50,
) -> sequential.Sequential:
    """The PyTorch DQN tutorial's `DQN` module as a `sequential.Sequential` Q-network.

    Three (Conv2D 5x5 stride 2 'valid' -> BatchNorm -> ReLU) blocks, Dense(50) ReLU and
    one linear output per action; torch's initialisation and BatchNorm2d's momentum 0.1
    (Keras counts it the other way: 0.9) and epsilon 1e-5. A 40x90x3 patch flattens to
    2x8x32 = 512 features, the tutorial's `linear_input_size`.

    Batch norm inside a TF-Agents Q-network: DqnAgent calls the online network with
    `training=True` in its loss (batch statistics, and the moving averages updated) and
    the target network with `training=False` (moving averages), as the tutorial's
    `target_net.eval()`; its target update copies non-trainable variables too, so the
    moving averages travel with the weights. Policies call it with `training=False`.
    """
    height, width, channels = observation_spec.shape
    layers: list[tf.keras.layers.Layer] = []
    in_channels = channels
    for filters in conv_filters:
        layers += [
            tf.keras.layers.Conv2D(
                filters,
                kernel_size,
                strides=stride,
                **torch_default_initializers(in_channels * kernel_size * kernel_size),
            ),
            tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
            tf.keras.layers.ReLU(),
        ]
        height = (height - kernel_size) // stride + 1
        width = (width - kernel_size) // stride + 1
        in_channels = filters
    if height < 1 or width < 1:
        raise ValueError(
            f"observations of shape {observation_spec.shape} are too small for "
            f"{len(conv_filters)} {kernel_size}x{kernel_size} stride-{stride} convolutions"
        )
    layers += [
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(
            fc_units, activation="relu", **torch_default_initializers(height * width * in_channels)
        ),
        tf.keras.layers.Dense(num_actions(action_spec), **torch_default_initializers(fc_units)),
    ]
    return sequential.Sequential(layers, input_spec=tensor_spec.from_spec(observation_spec))


class PerFrameBatchNorm(network.Network):
    """`q_net` (a `Sequential`) with each batch norm using the statistics of each frame.

    Why: the PyTorch DQN tutorial never calls `policy_net.eval()`, so it picks actions
    (training and test games alike) with batch norm in training mode on a batch of one
    frame: every channel is normalised by its mean and variance over that frame's pixels.
    A Keras layer in training mode would pool the statistics over the whole batch (and
    a batched evaluation plays many games at once), so this forward pass computes them
    per frame. It shares `q_net`'s variables and leaves its moving averages alone.
    """

    def __init__(self, q_net: sequential.Sequential) -> None:
        super().__init__(
            input_tensor_spec=q_net.input_tensor_spec, state_spec=(), name="PerFrameBatchNorm"
        )
        self._q_net = q_net

    def call(self, observation, step_type=None, network_state=(), training=False):
        del step_type, training  # batch norm always normalises per frame here
        x = observation
        for layer in self._q_net.layers:
            if isinstance(layer, tf.keras.layers.BatchNormalization):
                mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
                x = tf.nn.batch_normalization(
                    x, mean, variance, layer.beta, layer.gamma, layer.epsilon
                )
            else:
                x = layer(x)
        return x, network_state
