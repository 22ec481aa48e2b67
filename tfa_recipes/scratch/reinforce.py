"""Policy search from scratch: the hard-coded policy, the Keras policy network, imitation of
the hard-coded policy, and REINFORCE (Hands-On ML chapter 18, "Policy Gradients").

Three changes from the notebook, none of which changes the maths:
- The notebook takes one gradient per step (`play_one_step`) and averages them weighted by
  the normalized discounted rewards. The gradient is linear, so the mean of
  `final_reward * grad(loss_t)` is `grad(mean(final_reward * loss_t))`: one compiled
  gradient over the iteration's stored observations and actions, with the same weights
  and the same losses (`PolicyGradient.train_step`; tests compare it with a tape per step).
- The `n_episodes_per_update` episodes of an iteration are played side by side in as many
  environment copies (`episodes.play_episodes`), one batched model call per step instead
  of one per environment step. The model does not change during an iteration, so these
  are the same episodes the notebook plays one after another.
- That batched call is a NumPy forward pass of the network's weights, read once per
  iteration (`PolicyGradient.sampler`): a compiled Keras call costs ~470 us on one core
  here, the NumPy pass ~45 us, and at the end of a LunarLander iteration the straggling
  episodes make about one call per environment step (~150 us). The actions are drawn from
  the same probabilities (NumPy's generator instead of TensorFlow's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gym
import numpy as np
import tensorflow as tf

from tfa_recipes.scratch.episodes import play_episode, play_episodes

keras = tf.keras

KINDS = ("binary", "categorical")

# The activations `numpy_forward` computes, as Keras defines them.
_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softmax": lambda z: _softmax(z),
}


def _softmax(z: np.ndarray) -> np.ndarray:
    exps = np.exp(z - z.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


def _check_numpy_forward(model: keras.Model) -> None:
    for layer in model.layers:
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        if not isinstance(layer, keras.layers.Dense) or activation not in _ACTIVATIONS:
            raise ValueError(
                f"numpy_forward computes Dense layers with activations {sorted(_ACTIVATIONS)}; "
                f"got layer {layer.name!r} ({type(layer).__name__}, activation {activation})"
            )


def numpy_forward(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """`model(observations)` as a NumPy function of the model's weights at this call.

    For the chapter's policy networks (a stack of Dense layers); raises ValueError for
    other layers.
    """
    _check_numpy_forward(model)
    layers = [
        (layer.kernel.numpy(), layer.bias.numpy(), _ACTIVATIONS[layer.activation.__name__])
        for layer in model.layers
    ]

    def forward(observations: np.ndarray) -> np.ndarray:
        outputs = observations
        for kernel, bias, activation in layers:
            outputs = activation(outputs @ kernel + bias)
        return outputs

    return forward


def basic_policy(obs: np.ndarray) -> int:
    """Push the cart the way the pole leans: 0 (left) if its angle is negative, else 1."""
    angle = obs[2]
    return 0 if angle < 0 else 1


def basic_policy_totals(env: gym.Env, n_episodes: int, n_max_steps: int) -> list[float]:
    """The total reward of `basic_policy` in each of `n_episodes` episodes of `env`."""
    return [play_episode(env, basic_policy, n_max_steps).total_reward for _ in range(n_episodes)]


def cartpole_policy_net(n_inputs: int = 4) -> keras.Model:
    """The notebook's policy network: 5 ELU units, then P(action 0 = left) by a sigmoid."""
    return keras.models.Sequential(
        [
            keras.layers.Dense(5, activation="elu", input_shape=[n_inputs]),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def lander_policy_net(n_inputs: int, n_outputs: int) -> keras.Model:
    """The LunarLander exercise's network: 32 and 32 ReLU units, a softmax over actions."""
    return keras.models.Sequential(
        [
            keras.layers.Dense(32, activation="relu", input_shape=[n_inputs]),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(n_outputs, activation="softmax"),
        ]
    )


def discount_rewards(rewards: Sequence[float], discount_rate: float) -> np.ndarray:
    """Each step's reward plus the discounted rewards after it."""
    # float, where the notebook keeps the rewards' dtype: integer rewards would otherwise
    # have their discounted sums truncated.
    discounted = np.array(rewards, dtype=np.float64)
    for step in range(len(rewards) - 2, -1, -1):
        discounted[step] += discounted[step + 1] * discount_rate
    return discounted


def discount_and_normalize_rewards(
    all_rewards: Sequence[Sequence[float]], discount_rate: float
) -> list[np.ndarray]:
    """Discounted rewards of every episode, normalized by the mean and standard deviation
    over all episodes' steps."""
    all_discounted_rewards = [discount_rewards(rewards, discount_rate) for rewards in all_rewards]
    flat_rewards = np.concatenate(all_discounted_rewards)
    reward_mean = flat_rewards.mean()
    reward_std = flat_rewards.std()
    return [
        (discounted_rewards - reward_mean) / reward_std
        for discounted_rewards in all_discounted_rewards
    ]


class PolicyGradient:
    """A policy network, its optimizer and the two compiled steps REINFORCE needs.

    kind "binary": the CartPole network, whose one output is P(left); an action is 1
    (right) when a uniform draw exceeds it, and the step's loss is the binary cross-entropy
    against `1 - action` (the notebook's `play_one_step`).
    kind "categorical": the LunarLander network, a softmax over the actions; an action is
    drawn from it and the loss is the sparse categorical cross-entropy against it
    (`lander_play_one_step`).

    `act` is the compiled Keras policy (filming); `sampler()` the same policy in NumPy
    for the training episodes.
    """

    def __init__(
        self, model: keras.Model, optimizer: keras.optimizers.Optimizer, kind: str
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        _check_numpy_forward(model)
        self.model, self.optimizer, self.kind = model, optimizer, kind
        observations = tf.TensorSpec([None, model.input_shape[-1]], tf.float32)
        self.act = tf.function(self._act, input_signature=[observations])
        self.train_step = tf.function(
            self._train_step,
            input_signature=[
                observations,
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None], tf.float32),
            ],
        )

    def _act(self, observations: tf.Tensor) -> tf.Tensor:
        probas = self.model(observations)
        if self.kind == "binary":
            return tf.cast(tf.random.uniform(tf.shape(probas)) > probas, tf.int32)[:, 0]
        logits = tf.math.log(probas + keras.backend.epsilon())
        return tf.cast(tf.random.categorical(logits, num_samples=1)[:, 0], tf.int32)

    def sampler(self) -> Callable[[np.ndarray], np.ndarray]:
        """`act` in NumPy with the current weights (read now): a batch of observations to
        int32 actions, drawn with NumPy's global generator (seeded by `set_seeds`)."""
        forward = numpy_forward(self.model)
        epsilon = keras.backend.epsilon()

        def sample(observations: np.ndarray) -> np.ndarray:
            probas = forward(observations)
            uniforms = np.random.random_sample((len(probas), 1))
            if self.kind == "binary":
                return (uniforms > probas)[:, 0].astype(np.int32)
            # tf.random.categorical over log(probas + epsilon), as `act` draws.
            cumulative = np.cumsum(probas + epsilon, axis=1)
            actions = (uniforms * cumulative[:, -1:] >= cumulative).sum(axis=1)
            return np.minimum(actions, probas.shape[1] - 1).astype(np.int32)

        return sample

    def step_losses(self, observations: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        """Each step's loss, pretending its action was the right one."""
        probas = self.model(observations)
        if self.kind == "binary":
            y_target = 1.0 - tf.cast(actions[:, tf.newaxis], tf.float32)
            return keras.losses.binary_crossentropy(y_target, probas)
        return keras.losses.sparse_categorical_crossentropy(actions, probas)

    def _train_step(
        self, observations: tf.Tensor, actions: tf.Tensor, final_rewards: tf.Tensor
    ) -> tf.Tensor:
        # The notebook tapes each step's loss and applies the mean over steps of
        # final_reward_t * grad(loss_t). The gradient is linear, so that mean is
        # grad(mean_t(final_reward_t * loss_t)): one tape over all the stored steps.
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(final_rewards * self.step_losses(observations, actions))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return loss

    def policy(self, obs: np.ndarray) -> int:
        """The stochastic policy for one observation (for `play_episode`)."""
        return int(self.act(np.asarray(obs, np.float32)[np.newaxis])[0])


def reinforce(
    agent: PolicyGradient,
    envs: Sequence[gym.Env],
    *,
    n_iterations: int,
    n_max_steps: int,
    discount_rate: float,
    report: Callable[[int, float], None] | None = None,
) -> list[float]:
    """The notebook's REINFORCE loop, `len(envs)` episodes per update.

    Returns the mean total reward of each iteration's episodes (before its update);
    `report(iteration, mean_reward)` is called after each iteration.
    """
    mean_rewards = []
    for iteration in range(n_iterations):
        # One snapshot of the weights per iteration: the notebook's model only changes
        # at the update that ends an iteration.
        episodes = play_episodes(envs, agent.sampler(), n_max_steps)
        all_rewards = [episode.rewards for episode in episodes]
        mean_reward = sum(map(sum, all_rewards)) / len(envs)
        all_final_rewards = discount_and_normalize_rewards(all_rewards, discount_rate)
        agent.train_step(
            np.concatenate([np.array(episode.observations, np.float32) for episode in episodes]),
            np.concatenate([np.array(episode.actions, np.int32) for episode in episodes]),
            np.concatenate(all_final_rewards).astype(np.float32),
        )
        mean_rewards.append(float(mean_reward))
        if report is not None:
            report(iteration, float(mean_reward))
    return mean_rewards


def imitate_basic_policy(
    model: keras.Model,
    envs: Sequence[gym.Env],
    *,
    n_iterations: int,
    optimizer: keras.optimizers.Optimizer,
    report: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train `model` to output P(left) = 1 when the pole leans left, 0 otherwise, on the
    observations of `envs` played by the model itself (reset when done).

    Returns the loss of each iteration. Actions are drawn with NumPy, as the notebook does.
    """
    loss_fn = keras.losses.binary_crossentropy

    @tf.function(input_signature=[tf.TensorSpec([None, model.input_shape[-1]], tf.float32)])
    def train_step(observations: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        # if angle < 0, we want proba(left) = 1., or else proba(left) = 0.
        target_probas = tf.cast(observations[:, 2:3] < 0, tf.float32)
        with tf.GradientTape() as tape:
            left_probas = model(observations)
            loss = tf.reduce_mean(loss_fn(target_probas, left_probas))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss, left_probas

    observations = [env.reset() for env in envs]
    losses = []
    for iteration in range(n_iterations):
        loss, left_probas = train_step(np.array(observations, np.float32))
        actions = (np.random.rand(len(envs), 1) > left_probas.numpy()).astype(np.int32)
        for index, env in enumerate(envs):
            obs, _, done, _ = env.step(int(actions[index, 0]))
            observations[index] = obs if not done else env.reset()
        losses.append(float(loss))
        if report is not None:
            report(iteration, losses[-1])
    return losses


def average_total_reward(agent: PolicyGradient, envs: Sequence[gym.Env], n_max_steps: int) -> float:
    """Mean total reward of one episode of the (stochastic) policy in each of `envs`."""
    episodes = play_episodes(envs, agent.sampler(), n_max_steps)
    return float(np.mean([episode.total_reward for episode in episodes]))
