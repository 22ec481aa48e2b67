"""Deep Q-Networks from scratch in Keras: DQN, Double DQN and Dueling Double DQN
(Hands-On ML chapter 18), with the notebook's replay memory, epsilon schedule and
best-weights restore.

One change from the notebook, which does not change the maths: its `training_step` calls
`model.predict` (and `target.predict`) for the targets and then takes a gradient eagerly;
here the whole step is one compiled function, the targets computed outside the gradient
as before. Action selection calls a compiled model too, not `model.predict` per step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import gym
import numpy as np
import tensorflow as tf

from tfa_recipes.scratch import VARIANTS
from tfa_recipes.scratch.replay_memory import sample_experiences

keras = tf.keras



def q_network(variant: str, n_inputs: int, n_outputs: int) -> keras.Model:
    """Two hidden layers of 32 ELU units, then one Q-value per action.

    The dueling network splits the last layer into a state value and advantages, the
    advantages shifted so the best action's is 0: Q = V + A - max(A).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant != "dueling":
        return keras.models.Sequential(
            [
                keras.layers.Dense(32, activation="elu", input_shape=[n_inputs]),
                keras.layers.Dense(32, activation="elu"),
                keras.layers.Dense(n_outputs),
            ]
        )
    K = keras.backend
    input_states = keras.layers.Input(shape=[n_inputs])
    hidden1 = keras.layers.Dense(32, activation="elu")(input_states)
    hidden2 = keras.layers.Dense(32, activation="elu")(hidden1)
    state_values = keras.layers.Dense(1)(hidden2)
    raw_advantages = keras.layers.Dense(n_outputs)(hidden2)
    advantages = raw_advantages - K.max(raw_advantages, axis=1, keepdims=True)
    Q_values = state_values + advantages
    return keras.models.Model(inputs=[input_states], outputs=[Q_values])


class DeepQNetwork:
    """The online model, the target model (Double and Dueling only), the optimizer and
    the loss of one variant, with its compiled action-value and training steps.

    dqn: targets from the online model's max Q-value, mean squared error.
    double, dueling: the online model picks the next action, the target model values it;
    Huber loss.
    """

    def __init__(
        self,
        variant: str,
        n_inputs: int,
        n_outputs: int,
        *,
        learning_rate: float,
        discount_rate: float,
    ) -> None:
        self.variant, self.n_outputs, self.discount_rate = variant, n_outputs, discount_rate
        self.model = q_network(variant, n_inputs, n_outputs)
        self.target: keras.Model | None = None
        if variant != "dqn":
            self.target = keras.models.clone_model(self.model)
            self.target.set_weights(self.model.get_weights())
        self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        self.loss_fn = (
            keras.losses.mean_squared_error if variant == "dqn" else keras.losses.Huber()
        )
        states = tf.TensorSpec([None, n_inputs], tf.float32)
        self.q_values = tf.function(self._q_values, input_signature=[states])
        self.training_step = tf.function(
            self._training_step,
            input_signature=[
                states,
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None], tf.float32),
                states,
                tf.TensorSpec([None], tf.float32),
            ],
        )

    def epsilon_greedy_policy(self, state: np.ndarray, epsilon: float = 0.0) -> int:
        if np.random.rand() < epsilon:
            return int(np.random.randint(self.n_outputs))
        Q_values = self.q_values(np.asarray(state, np.float32)[np.newaxis])
        return int(np.argmax(Q_values[0]))

    def update_target(self) -> None:
        if self.target is not None:
            self.target.set_weights(self.model.get_weights())

    def _q_values(self, states: tf.Tensor) -> tf.Tensor:
        return self.model(states)

    def _training_step(
        self,
        states: tf.Tensor,
        actions: tf.Tensor,
        rewards: tf.Tensor,
        next_states: tf.Tensor,
        dones: tf.Tensor,
    ) -> tf.Tensor:
        next_Q_values = self.model(next_states)
        if self.target is None:
            max_next_Q_values = tf.reduce_max(next_Q_values, axis=1)
        else:
            best_next_actions = tf.argmax(next_Q_values, axis=1)
            next_mask = tf.one_hot(best_next_actions, self.n_outputs)
            max_next_Q_values = tf.reduce_sum(self.target(next_states) * next_mask, axis=1)
        target_Q_values = rewards + (1.0 - dones) * self.discount_rate * max_next_Q_values
        target_Q_values = tf.stop_gradient(tf.reshape(target_Q_values, (-1, 1)))
        mask = tf.one_hot(actions, self.n_outputs)
        with tf.GradientTape() as tape:
            all_Q_values = self.model(states)
            Q_values = tf.reduce_sum(all_Q_values * mask, axis=1, keepdims=True)
            loss = tf.reduce_mean(self.loss_fn(target_Q_values, Q_values))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return loss


@dataclass
class TrainingResult:
    rewards: list[float]  # sum of rewards of each episode
    best_score: float  # the best episode's sum of rewards, whose weights were restored
    best_episode: int
    losses: list[float]  # one per training step


def train(
    dqn: DeepQNetwork,
    env: gym.Env,
    *,
    n_episodes: int,
    n_max_steps: int,
    batch_size: int,
    replay_memory_maxlen: int,
    epsilon_decay_episodes: int,
    epsilon_min: float,
    training_start_episode: int,
    target_update_episodes: int,
    report: Callable[[int, float, float], None] | None = None,
) -> TrainingResult:
    """The notebook's loop: play an episode epsilon-greedily into the replay memory, keep
    the weights of the best episode so far, then take one training step per episode
    (from `training_start_episode`), copying the online weights to the target model every
    `target_update_episodes` episodes. Ends with the best weights restored.

    `report(episode, sum_of_rewards, epsilon)` is called after each episode.
    """
    replay_memory: deque = deque(maxlen=replay_memory_maxlen)
    rewards: list[float] = []
    losses: list[float] = []
    best_score, best_episode = 0.0, 0
    best_weights = dqn.model.get_weights()
    for episode in range(n_episodes):
        obs = env.reset()
        epsilon = max(1 - episode / epsilon_decay_episodes, epsilon_min)
        total = 0.0
        for _ in range(n_max_steps):
            action = dqn.epsilon_greedy_policy(obs, epsilon)
            next_obs, reward, done, _ = env.step(action)
            replay_memory.append((obs, action, reward, next_obs, done))
            obs = next_obs
            total += reward
            if done:
                break
        # The notebook records `step`, one less than the sum of rewards its plot's axis
        # names; the ranking of episodes (hence the restored weights) is the same.
        rewards.append(total)
        if total >= best_score:
            best_weights = dqn.model.get_weights()
            best_score, best_episode = total, episode
        if report is not None:
            report(episode, total, epsilon)
        if episode >= training_start_episode:
            states, actions, step_rewards, next_states, dones = sample_experiences(
                replay_memory, batch_size
            )
            loss = dqn.training_step(
                states.astype(np.float32),
                actions.astype(np.int32),
                step_rewards.astype(np.float32),
                next_states.astype(np.float32),
                dones.astype(np.float32),
            )
            losses.append(float(loss))
            if episode % target_update_episodes == 0:
                dqn.update_target()
    dqn.model.set_weights(best_weights)
    return TrainingResult(rewards, best_score, best_episode, losses)
