"""Replay set-ups: the Reverb tables of the 2023 tutorials and TFUniformReplayBuffer.

Reverb note: its samplers take no seed (google-deepmind/reverb#25), so which items a
Reverb-backed recipe trains on differs between runs of the same seed. Everything else a
seed controls (network initialisation, environments, exploration) stays fixed.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import reverb
import tensorflow as tf
from tf_agents.replay_buffers import reverb_replay_buffer, reverb_utils, tf_uniform_replay_buffer
from tf_agents.specs import tensor_spec

from tfa_recipes.run.checkpoints import REVERB_STAGING

TABLE_NAME = "uniform_table"


@dataclass
class ReverbReplay:
    """A Reverb table with its replay buffer and observer: served by this process
    (`server`), or by another one at `address` (`server` None: a run with actors)."""

    server: reverb.Server | None
    replay_buffer: reverb_replay_buffer.ReverbReplayBuffer
    observer: Any
    checkpoint_dir: Path | None
    sequence_length: int | None
    address: str = ""

    def __post_init__(self) -> None:
        if not self.address:
            self.address = f"localhost:{self.server.port}"

    def dataset(
        self, *, batch_size: int, num_steps: int, sampler_workers: int = 1
    ) -> tf.data.Dataset:
        """Batches of `num_steps`-step items, as `experience_dataset` gives them, faster.

        The same table, the same uniform sampler and the same `(Trajectory [B, n, ...],
        SampleInfo)` elements as `replay_buffer.as_dataset(num_parallel_calls=3,
        sample_batch_size=B, num_steps=n).prefetch(3)` when the observer writes items of
        exactly n steps. Why not that call: for B=64 it interleaves 32 Reverb streams of 2
        samples and maps every sample on its own; on 2 cores that takes ~3.6 ms a batch,
        one stream batched takes ~1.25 ms (measured here), and DQN draws a batch per step.
        `sampler_workers`: Reverb's sampler threads; more cut a batch's wall time but not
        its CPU time, and `dqn_cartpole`'s two cores have none to spare
        (`benchmarks/bench_replay_sampling.py`).
        """
        if num_steps != self.sequence_length:
            return experience_dataset(
                self.replay_buffer, batch_size=batch_size, num_steps=num_steps
            )
        data_spec = self.replay_buffer.data_spec
        dataset = reverb.TrajectoryDataset(
            server_address=self.address,
            table=TABLE_NAME,
            dtypes=tf.nest.map_structure(lambda spec: spec.dtype, data_spec),
            shapes=tf.nest.map_structure(
                lambda spec: tf.TensorShape([num_steps]).concatenate(spec.shape), data_spec
            ),
            max_in_flight_samples_per_worker=3 * batch_size,
            num_workers_per_iterator=sampler_workers,
        )
        # Batched before the split into (data, info): one map call per batch, not per item.
        dataset = (
            dataset.batch(batch_size, drop_remainder=True)
            .map(lambda sample: (sample.data, sample.info))
            .prefetch(3)
        )
        # No tf.data autotuning (nothing to tune here: no parallel map, a fixed prefetch):
        # its model thread sleeps in periods that double up to 60 s, and deleting the
        # iterator waits for the current one to end. dqn_cartpole's process lived on 5.7 s
        # after its last line at 2,000 iterations (0.9 s without it); at 20,000 it took
        # 86.5 s for 50.7 s inside `train` (measured).
        options = tf.data.Options()
        options.autotune.enabled = False
        return dataset.with_options(options)

    def num_items(self) -> int:
        info = self.replay_buffer.py_client.server_info()
        return int(info[TABLE_NAME].current_size)

    def saved_items(self) -> int | None:
        """The items of the copy just saved: the table's size for a table only this
        process writes; unknown (None) while actors write to it during the save."""
        return self.num_items() if self.server is not None else None

    def num_inserts(self) -> int:
        """Items inserted since the server started (one per environment step an actor
        took, but for the first step of an episode, which ends no 2-step item)."""
        info = self.replay_buffer.py_client.server_info()
        return int(info[TABLE_NAME].rate_limiter_info.insert_stats.completed)

    def save(self) -> Path | None:
        """Write a copy of the table, check it, and move it to its own folder under
        `checkpoint_dir`, out of Reverb's reach: Reverb's save deletes every older copy in
        its folder, and the run's checkpoints decide when an old one goes
        (`checkpoints.Checkpoints`). Reverb writes its DONE marker even over a file the
        disk had no room to finish, so every record is read back (each TFRecord carries
        its length and a CRC)."""
        if self.checkpoint_dir is None:
            return None
        if self.observer is not None:
            self.observer.flush()
        try:
            folder = Path(self.replay_buffer.py_client.checkpoint())
        except Exception as error:  # noqa: BLE001 - Reverb raises a full disk as IndexError
            raise OSError(
                errno.ENOSPC if "No space left" in str(error) else errno.EIO,
                f"Reverb could not write a copy of the table ({str(error).splitlines()[0]})",
            ) from None
        for records in sorted(folder.glob("*.tfrecord")):
            try:
                # Reverb writes ZLIB-compressed TFRecords; counting them reads every one.
                tf.data.TFRecordDataset(str(records), compression_type="ZLIB").reduce(
                    0, lambda count, _: count + 1
                )
            except tf.errors.OpError as error:
                raise OSError(
                    errno.EIO,
                    f"Reverb's copy of the table is damaged ({error.message.splitlines()[0]}); "
                    "is the disk full?",
                    str(records),
                ) from None
        published = self.checkpoint_dir / folder.name
        folder.rename(published)
        return published

    def close(self) -> None:
        if self.observer is not None:
            self.observer.close()
        if self.server is not None:
            self.server.stop()


def reverb_replay(
    collect_data_spec,
    *,
    max_size: int,
    sequence_length: int | None,
    observer: str = "trajectory",
    checkpoint_dir: Path | None = None,
) -> ReverbReplay:
    """The tutorial's table: uniform sampler, FIFO remover, MinSize(1), `max_size` items.

    `observer="trajectory"` writes overlapping sequences of `sequence_length` steps
    (`ReverbAddTrajectoryObserver`, DQN, for a `PyDriver`); `"trajectory_in_graph"` the
    same items from a `DynamicStepDriver` (`ReverbAddTrajectoryGraphObserver`);
    `observer="episode"` writes whole episodes
    (`ReverbAddEpisodeObserver`, REINFORCE, `sequence_length=None`). With a
    `checkpoint_dir` the server loads the copy of the table staged there
    (`stage_reverb_copy`), which is how a resumed run gets its replay contents back.
    """
    table = uniform_table(
        collect_data_spec, max_size=max_size, rate_limiter=reverb.rate_limiters.MinSize(1)
    )
    server = reverb.Server([table], checkpointer=reverb_checkpointer(checkpoint_dir))
    replay_buffer = reverb_replay_buffer.ReverbReplayBuffer(
        collect_data_spec,
        table_name=TABLE_NAME,
        sequence_length=sequence_length,
        local_server=server,
    )
    if observer == "trajectory":
        rb_observer = reverb_utils.ReverbAddTrajectoryObserver(
            replay_buffer.py_client, TABLE_NAME, sequence_length=sequence_length
        )
    elif observer == "trajectory_in_graph":
        rb_observer = ReverbAddTrajectoryGraphObserver(
            replay_buffer.py_client, TABLE_NAME, sequence_length=sequence_length
        )
    elif observer == "episode":
        rb_observer = reverb_utils.ReverbAddEpisodeObserver(
            replay_buffer.py_client, TABLE_NAME, max_size
        )
    else:
        raise ValueError(
            "observer must be 'trajectory', 'trajectory_in_graph' or 'episode', "
            f"got {observer!r}"
        )
    return ReverbReplay(server, replay_buffer, rb_observer, checkpoint_dir, sequence_length)


def uniform_table(
    collect_data_spec, *, max_size: int, rate_limiter: reverb.rate_limiters.RateLimiter
) -> reverb.Table:
    return reverb.Table(
        TABLE_NAME,
        max_size=max_size,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        rate_limiter=rate_limiter,
        signature=tensor_spec.add_outer_dim(tensor_spec.from_spec(collect_data_spec)),
    )


def reverb_checkpointer(checkpoint_dir: Path | None) -> reverb.checkpointers.Checkpointer | None:
    """Reverb's checkpointer for a run's replay folder: it loads the copy staged there."""
    if checkpoint_dir is None:
        return None
    staging = checkpoint_dir / REVERB_STAGING
    staging.mkdir(parents=True, exist_ok=True)
    return reverb.checkpointers.DefaultCheckpointer(path=str(staging))


def remote_replay(
    collect_data_spec,
    *,
    address: str,
    sequence_length: int,
    checkpoint_dir: Path | None = None,
    write: bool = False,
) -> ReverbReplay:
    """The table another process serves at `address` (`distributed`): the learner samples
    it and has it checkpointed; an actor (`write=True`) writes the tutorial's items to it
    with `ReverbAddTrajectoryObserver`."""
    replay_buffer = reverb_replay_buffer.ReverbReplayBuffer(
        collect_data_spec,
        table_name=TABLE_NAME,
        sequence_length=sequence_length,
        server_address=address,
    )
    observer = None
    if write:
        observer = reverb_utils.ReverbAddTrajectoryObserver(
            replay_buffer.py_client, TABLE_NAME, sequence_length=sequence_length
        )
    return ReverbReplay(None, replay_buffer, observer, checkpoint_dir, sequence_length, address)


class ReverbAddTrajectoryGraphObserver:
    """`ReverbAddTrajectoryObserver`'s items, written by a `DynamicStepDriver` in a graph.

    The driver hands it batched `Trajectory` tensors (batch size 1); each step goes to a
    Reverb `TrajectoryWriter` through one `tf.numpy_function`, and the writer's history
    gives the items, exactly as the tutorial's observer makes them with `stride_length=1`:
    every step from the `sequence_length`-th of a cache on ends an item of the last
    `sequence_length` steps, and a boundary step (last -> first) ends its item and then
    empties the cache. Nothing else empties it (no environment reset does), so after the
    warm-up and the reset before the loop the first step writes an item spanning that
    reset, as the tutorial's does; a new process starts with an empty cache, as a resumed
    `PyDriver` run's new observer does.

    Why not `reverb.TFClient.insert`, Reverb's in-graph write op: it inserts one timestep,
    so an item of two steps becomes one timestep of shape [2, ...], which the table's
    [T, ...] signature rejects when sampled ([1, 2] where [?] is expected), and it costs
    ~350 us an insert in a compiled loop. This observer adds ~0.36 ms to a compiled
    collect step (0.33 -> 0.68 ms, measured): ~0.19 ms in its Python write (the writer's
    append, create_item, end_episode) and the rest Reverb's own insertion, which the
    tutorial's observer pays as well.
    """

    def __init__(
        self,
        py_client: reverb.Client,
        table_name: str,
        *,
        sequence_length: int,
        stride_length: int = 1,
        priority: float = 1.0,
    ) -> None:
        # As ReverbAddTrajectoryObserver opens its writer.
        self._writer = py_client.trajectory_writer(
            num_keep_alive_refs=sequence_length + 1, validate_items=False
        )
        self._table_name = table_name
        self._sequence_length = sequence_length
        self._stride_length = stride_length
        self._priority = float(priority)
        self._cached_steps = 0

    def __call__(self, trajectory) -> None:
        batch_size = tf.nest.flatten(trajectory)[0].shape[0]
        if batch_size != 1:
            raise ValueError(
                f"ReverbAddTrajectoryGraphObserver takes a batch of 1 step, got {batch_size}"
            )
        # Unbatched, as the tutorial's observer receives each step from its PyDriver.
        step = [item[0] for item in tf.nest.flatten(trajectory)]
        # The write is the last op made here: DynamicStepDriver orders the step after it.
        tf.numpy_function(self._write, [trajectory.is_boundary()[0], *step], [], stateful=True)

    def _write(self, is_boundary: np.ndarray, *step: np.ndarray) -> None:
        writer = self._writer
        writer.append(list(step))
        self._cached_steps += 1
        reached = self._cached_steps - self._sequence_length
        if reached >= 0 and reached % self._stride_length == 0:
            writer.create_item(
                self._table_name,
                self._priority,
                [column[-self._sequence_length :] for column in writer.history],
            )
        if is_boundary:
            # ReverbAddTrajectoryObserver.reset(write_cached_steps=False).
            self._cached_steps = 0
            writer.end_episode()

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.end_episode()
            self._writer.close()
            self._writer = None


def tf_uniform_replay(
    collect_data_spec, *, batch_size: int, max_length: int
) -> tf_uniform_replay_buffer.TFUniformReplayBuffer:
    """The older notebooks' in-graph buffer; it checkpoints with the agent."""
    return tf_uniform_replay_buffer.TFUniformReplayBuffer(
        data_spec=collect_data_spec, batch_size=batch_size, max_length=max_length
    )


def add_batch_observer(
    replay_buffer: tf_uniform_replay_buffer.TFUniformReplayBuffer,
) -> Callable[[Any], None]:
    """A `PyDriver` observer writing each NumPy trajectory into a buffer of batch size 1.

    `replay_buffer.add_batch` wants batched tensors; the driver gives one unbatched step
    at a time. The write is traced once, so a step costs one graph call.
    """
    spec = tensor_spec.add_outer_dim(replay_buffer.data_spec, 1)

    def write(items) -> None:
        replay_buffer.add_batch(items)

    add_batch = tf.function(write).get_concrete_function(spec)

    def observe(trajectory) -> None:
        add_batch(tf.nest.map_structure(lambda item: np.expand_dims(item, 0), trajectory))

    return observe


class InGraphReplay:
    """A `TFUniformReplayBuffer` seen as the loop's replay store: its contents are saved
    in the checkpoint (or not at all), so there is nothing to write beside it; its size
    tells a resumed run whether the warm-up must refill it."""

    def __init__(self, replay_buffer: tf_uniform_replay_buffer.TFUniformReplayBuffer) -> None:
        self._replay_buffer = replay_buffer

    def save(self) -> None:
        return None

    def num_items(self) -> int:
        return int(self._replay_buffer.num_frames())


class InOrderSampler:
    """`next()` samples the buffer where it is called, as `replay_buffer.get_next` does:
    in a compiled loop, after the collect before it, with no thread sampling ahead."""

    def __init__(self, replay_buffer, *, batch_size: int, num_steps: int) -> None:
        self._replay_buffer = replay_buffer
        self._batch_size = batch_size
        self._num_steps = num_steps

    def __iter__(self) -> InOrderSampler:
        return self

    def __next__(self):
        return self._replay_buffer.get_next(
            sample_batch_size=self._batch_size, num_steps=self._num_steps
        )


def experience_dataset(
    replay_buffer, *, batch_size: int, num_steps: int | None, num_parallel_calls: int = 3
) -> tf.data.Dataset:
    """`as_dataset(num_parallel_calls=3, sample_batch_size=B, num_steps=n).prefetch(3)`."""
    return replay_buffer.as_dataset(
        num_parallel_calls=num_parallel_calls, sample_batch_size=batch_size, num_steps=num_steps
    ).prefetch(3)
