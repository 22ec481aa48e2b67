"""`RingReplayBuffer`: TFUniformReplayBuffer's rows and sampling range, without its
CriticalSection, so XLA compiles a loop that adds to it and samples from it."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.replay_buffers import tf_uniform_replay_buffer

from tfa_recipes.blocks.ring_replay import RingReplayBuffer

SPEC = {"value": tf.TensorSpec([2], tf.float32), "step": tf.TensorSpec([], tf.int64)}


def item(index: int) -> dict:
    return {
        "value": tf.constant([[float(index), -float(index)]]),
        "step": tf.constant([index], tf.int64),
    }


def filled(buffer, count: int):
    for index in range(count):
        buffer.add_batch(item(index))
    return buffer


def sampled_starts(buffer, num_steps: int, draws: int = 4000) -> set[int]:
    data, _ = buffer.get_next(sample_batch_size=draws, num_steps=num_steps)
    steps = data["step"].numpy()
    # Each item is num_steps consecutive rows of the trajectory, in order.
    assert (np.diff(steps, axis=1) == 1).all()
    np.testing.assert_array_equal(data["value"].numpy()[..., 0], steps.astype(np.float32))
    return set(steps[:, 0].tolist())


@pytest.mark.parametrize("count", [1, 5, 8, 9, 23])
@pytest.mark.parametrize("num_steps", [1, 2, 3])
def test_it_samples_the_starts_tf_uniform_replay_buffer_samples(count, num_steps):
    ring = filled(RingReplayBuffer(SPEC, max_length=8), count)
    reference = filled(
        tf_uniform_replay_buffer.TFUniformReplayBuffer(SPEC, batch_size=1, max_length=8), count
    )
    if count < num_steps:
        return  # nothing to sample yet (TF-Agents' buffer asserts; see below)
    assert int(ring.num_frames()) == int(reference.num_frames()) == min(count, 8)
    assert sampled_starts(ring, num_steps) == sampled_starts(reference, num_steps)


def test_the_oldest_rows_are_overwritten():
    ring = filled(RingReplayBuffer(SPEC, max_length=4), 6)
    assert sampled_starts(ring, 1) == {2, 3, 4, 5}


def test_a_checkpoint_restores_rows_and_position(tmp_path):
    ring = filled(RingReplayBuffer(SPEC, max_length=4), 6)
    path = tf.train.Checkpoint(buffer=ring).write(str(tmp_path / "ckpt"))
    restored = RingReplayBuffer(SPEC, max_length=4)
    tf.train.Checkpoint(buffer=restored).read(path).assert_consumed()
    restored.add_batch(item(6))
    assert sampled_starts(restored, 1) == {3, 4, 5, 6}


def test_xla_compiles_a_loop_that_adds_and_samples():
    ring = RingReplayBuffer(SPEC, max_length=16)

    @tf.function(jit_compile=True, autograph=False)
    def add_and_sample(start):
        def body(i, total):
            ring.add_batch({
                "value": tf.stack([[tf.cast(start + i, tf.float32), 0.0]]),
                "step": tf.reshape(tf.cast(start + i, tf.int64), [1]),
            })
            data, _ = ring.get_next(sample_batch_size=4, num_steps=2)
            return i + 1, total + tf.reduce_sum(data["step"])

        return tf.while_loop(lambda i, _: i < 20, body, (tf.constant(1), tf.constant(0, tf.int64)))

    ring.add_batch(item(0))
    add_and_sample(tf.constant(0))
    assert int(ring.num_frames()) == 16
    assert sampled_starts(ring, 2) == set(range(4, 19))
