"""Whole episodes collected in the graph from a batched TF-native environment: REINFORCE's
`collect_episode` with no Python per step.

The REINFORCE tutorial collects `collect_episodes_per_iteration` episodes, each from a
fresh reset, with a `PyDriver` into a Reverb table (`ReverbAddEpisodeObserver`: an item is
an episode's trajectories up to and including its boundary, LAST to FIRST), then trains on
ONE item sampled from the table (`sample_batch_size=1`) and clears it. Here the episodes
are the copies of one environment batch, played side by side in a `tf.while_loop` until
each has written its boundary; their trajectories go to a `TensorArray` (the in-graph
buffer of episodes), and one episode, picked uniformly, is sliced out at its own length
and trained on: the same items, the same quirk, the same normalisation over one episode
(`ReinforceAgent` normalises returns over the whole batch, so no padding may enter it).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.trajectories import trajectory


def collect_episodes(
    env: Any, policy: Any, data_spec: Any, max_length: int
) -> tuple[Any, tf.Tensor]:
    """Play one episode in each of `env`'s batch copies from a reset; returns their
    trajectories (`data_spec`: the agent's collect_data_spec), [batch, time, ...] with time
    up to `max_length`, and each episode's length in trajectories, its boundary included."""
    batch = env.batch_size
    specs = tf.nest.flatten(data_spec)

    def body(t, time_step, policy_state, lengths, arrays):
        action_step = policy.action(time_step, policy_state)
        next_time_step = env.step(action_step.action)
        traj = trajectory.from_transition(time_step, action_step, next_time_step)
        arrays = [array.write(t, value) for array, value in zip(
            arrays, tf.nest.flatten(traj), strict=True)]
        # A copy's episode ends at its boundary, the first one after the reset.
        ended = tf.logical_and(tf.equal(lengths, 0), traj.is_boundary())
        lengths = tf.where(ended, t + 1, lengths)
        return t + 1, next_time_step, action_step.state, lengths, arrays

    loop_vars = (
        tf.constant(0),
        env.reset(),
        policy.get_initial_state(batch),
        tf.zeros([batch], tf.int32),
        [tf.TensorArray(spec.dtype, size=max_length, element_shape=[batch, *spec.shape])
         for spec in specs],
    )
    *_, lengths, arrays = tf.while_loop(
        lambda t, _ts, _ps, lengths, _arrays: tf.logical_and(
            tf.reduce_any(tf.equal(lengths, 0)), t < max_length
        ),
        body,
        loop_vars,
    )
    # [time, batch, ...] -> [batch, time, ...]
    stacked = [tf.experimental.numpy.swapaxes(array.stack(), 0, 1) for array in arrays]
    return tf.nest.pack_sequence_as(data_spec, stacked), lengths


def one_episode(trajectories: Any, lengths: tf.Tensor) -> tuple[Any, tf.Tensor]:
    """One of the episodes, picked uniformly (`tf.random.uniform` by name: inside
    `blocks.randomness.drawn_from`, the loop's generator), as [1, its length, ...]; and
    its environment steps (its trajectories but the boundary)."""
    index = tf.random.uniform([], minval=0, maxval=tf.size(lengths), dtype=tf.int32)
    length = lengths[index]
    episode = tf.nest.map_structure(lambda value: value[index : index + 1, :length], trajectories)
    return episode, length - 1
