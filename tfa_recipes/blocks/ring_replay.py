"""`TFUniformReplayBuffer`'s storage and uniform sampling without its `CriticalSection`, so
XLA can compile a loop that adds to it and samples from it.

TF-Agents' buffer guards every write and read with a `tf.CriticalSection`, which XLA cannot
compile (tensorflow/agents#760): a loop holding one stays a graph of small kernels, each
launched by TensorFlow's executor. A single-threaded compiled loop needs no such guard.
`RingReplayBuffer` keeps the same rows (the last `max_length` items of one environment,
oldest overwritten) and draws the same distribution (a uniform start among the items that
have `num_steps` items after them, as `tf_uniform_replay_buffer._valid_range_ids`
computes it), behind TF-Agents' `ReplayBuffer` interface, so `DqnAgent`, the drivers and
`InOrderSampler` use it unchanged. Its variables checkpoint with the agent.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.replay_buffers import replay_buffer
from tf_agents.replay_buffers.tf_uniform_replay_buffer import BufferInfo


class RingReplayBuffer(replay_buffer.ReplayBuffer):
    """The last `max_length` items of a batch-1 environment's trajectory."""

    def __init__(self, data_spec: Any, max_length: int) -> None:
        super().__init__(data_spec, capacity=max_length, stateful_dataset=False)
        self._max_length = max_length
        self._storage = tf.nest.map_structure(
            lambda spec: tf.Variable(
                tf.zeros([max_length, *spec.shape], spec.dtype), trainable=False
            ),
            data_spec,
        )
        # Items ever added: the next one goes to row `added % max_length`.
        self._added = tf.Variable(0, dtype=tf.int64, trainable=False)

    def _add_batch(self, items: Any) -> tf.Operation:
        # A batch of one item (one environment), as the driver's observer passes it.
        row = tf.math.floormod(self._added, self._max_length)
        for variable, item in zip(
            tf.nest.flatten(self._storage), tf.nest.flatten(items), strict=True
        ):
            variable.scatter_nd_update([[row]], item)
        return self._added.assign_add(1)

    def _valid_range(self, num_steps: int) -> tuple[tf.Tensor, tf.Tensor]:
        """[low, high) of the ids an item of `num_steps` may start at (TF-Agents' rule)."""
        added = self._added.read_value()
        full = added > self._max_length
        low = tf.where(full, added - self._max_length, tf.constant(0, tf.int64))
        high = tf.maximum(added - num_steps + 1, 0)
        return low, high

    def _get_next(
        self, sample_batch_size: int | None = None, num_steps: int | None = None,
        time_stacked: bool = True,
    ) -> tuple[Any, BufferInfo]:
        steps = 1 if num_steps is None else num_steps
        low, high = self._valid_range(steps)
        shape = [] if sample_batch_size is None else [sample_batch_size]
        # `tf.random.uniform` by name: inside `blocks.randomness.drawn_from` it draws from
        # the loop's checkpointed generator, as TFUniformReplayBuffer's draw does.
        ids = tf.random.uniform(shape, minval=low, maxval=high, dtype=tf.int64)
        rows = tf.math.floormod(
            ids[..., None] + tf.range(steps, dtype=tf.int64), self._max_length
        )
        if num_steps is None:
            rows = rows[..., 0]
        data = tf.nest.map_structure(lambda variable: tf.gather(variable, rows), self._storage)
        probability = 1.0 / tf.cast(tf.maximum(high - low, 1), tf.float32)
        return data, BufferInfo(ids=ids, probabilities=tf.fill(shape, probability))

    def _num_frames(self) -> tf.Tensor:
        return tf.minimum(self._added, self._max_length)

    def _clear(self) -> tf.Operation:
        return self._added.assign(0)

    def _as_dataset(
        self, sample_batch_size=None, num_steps=None, sequence_preprocess_fn=None,
        num_parallel_calls=None,
    ) -> tf.data.Dataset:
        return tf.data.Dataset.range(1).repeat().map(
            lambda _: self._get_next(sample_batch_size, num_steps)
        )

    def _single_deterministic_pass_dataset(self, *args: Any, **kwargs: Any) -> tf.data.Dataset:
        raise NotImplementedError("RingReplayBuffer samples uniformly only")

    def _gather_all(self) -> Any:
        raise NotImplementedError("RingReplayBuffer samples uniformly only")
