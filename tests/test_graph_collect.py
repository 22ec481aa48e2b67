"""replay.ReverbAddTrajectoryGraphObserver writes the items the tutorial's observer writes.

Both sides play the same seeded CartPole episodes with the same deterministic policy, as
`dqn_cartpole` collects: a warm-up, a reset, then the loop. One side is the tutorial's
`PyDriver` + `ReverbAddTrajectoryObserver(sequence_length=2)`, the other `--driver graph`'s
`DynamicStepDriver` + the graph observer, its loop compiled in chunks as `GraphIterations`
runs it. Each writes to a queue table of the tutorial's signature, read back once each in
insertion order.
"""

from __future__ import annotations

import numpy as np
import pytest
import reverb
import tensorflow as tf
from tf_agents.drivers import dynamic_step_driver, py_driver
from tf_agents.environments import tf_py_environment
from tf_agents.policies import tf_policy
from tf_agents.replay_buffers import reverb_utils
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import policy_step
from tf_agents.utils import common

from tfa_recipes.blocks import replay
from tfa_recipes.blocks.policies import CompiledPyTFEagerPolicy
from tfa_recipes.envs.gym import load_gym

WARM_UP_STEPS, LOOP_STEPS, CHUNKS = 37, 300, (1, 120, 179)


class LeanPolicy(tf_policy.TFPolicy):
    """Pushes the cart the way the pole leans: seed 0's episodes last 33-56 steps, each
    ended by the pole falling, and the warm-up stops inside the first (41 steps)."""

    def _action(self, time_step, policy_state, seed):
        action = tf.cast(time_step.observation[..., 2] > 0, tf.int64)
        return policy_step.PolicyStep(action, policy_state, ())


def queue_server(data_spec) -> tuple[reverb.Server, reverb.Client]:
    signature = tensor_spec.add_outer_dim(tensor_spec.from_spec(data_spec))
    server = reverb.Server([reverb.Table.queue(replay.TABLE_NAME, 10_000, signature=signature)])
    return server, reverb.Client(f"localhost:{server.port}")


def read_all(client: reverb.Client, data_spec) -> list[np.ndarray]:
    """Every item in insertion order, each field stacked: [items, 2, ...]."""
    size = client.server_info()[replay.TABLE_NAME].current_size
    dataset = reverb.TrajectoryDataset(
        server_address=client.server_address,
        table=replay.TABLE_NAME,
        dtypes=tf.nest.map_structure(lambda spec: spec.dtype, data_spec),
        shapes=tf.nest.map_structure(
            lambda spec: tf.TensorShape([2]).concatenate(spec.shape), data_spec
        ),
        max_in_flight_samples_per_worker=1,
    )
    items = [sample.data for sample in dataset.take(size)]
    return [np.stack(column) for column in zip(*map(tf.nest.flatten, items), strict=True)]


def tutorial_items(policy) -> list[np.ndarray]:
    py_env = load_gym("CartPole-v0", seed=0)
    server, client = queue_server(policy.trajectory_spec)
    observer = reverb_utils.ReverbAddTrajectoryObserver(client, replay.TABLE_NAME, 2)
    py_policy = CompiledPyTFEagerPolicy(policy)
    py_driver.PyDriver(py_env, py_policy, [observer], max_steps=WARM_UP_STEPS).run(py_env.reset())
    # The PyCollector resets the environment after the warm-up; the observer keeps its cache.
    py_driver.PyDriver(py_env, py_policy, [observer], max_steps=LOOP_STEPS).run(py_env.reset())
    observer.close()
    items = read_all(client, policy.trajectory_spec)
    server.stop()
    return items


def graph_items(policy) -> list[np.ndarray]:
    env = tf_py_environment.TFPyEnvironment(load_gym("CartPole-v0", seed=0))
    server, client = queue_server(policy.trajectory_spec)
    observer = replay.ReverbAddTrajectoryGraphObserver(client, replay.TABLE_NAME, sequence_length=2)
    dynamic_step_driver.DynamicStepDriver(env, policy, [observer], num_steps=WARM_UP_STEPS).run(
        env.reset()
    )
    env.reset()
    collect_driver = dynamic_step_driver.DynamicStepDriver(env, policy, [observer], num_steps=1)

    @common.function
    def collect(steps):
        def one_step(i):
            collect_driver.run()
            return i + 1

        return tf.while_loop(lambda i: i < steps, one_step, [0], parallel_iterations=1)

    for steps in CHUNKS:
        collect(tf.constant(steps))
    observer.close()
    items = read_all(client, policy.trajectory_spec)
    server.stop()
    return items


@pytest.fixture(scope="module")
def items() -> tuple[list[np.ndarray], list[np.ndarray], object]:
    env = tf_py_environment.TFPyEnvironment(load_gym("CartPole-v0", seed=0))
    policy = LeanPolicy(env.time_step_spec(), env.action_spec())
    return tutorial_items(policy), graph_items(policy), policy.trajectory_spec


def test_the_graph_observer_writes_the_tutorials_items(items):
    tutorial, graph, _ = items
    assert len(graph) == len(tutorial)
    for expected, got in zip(tutorial, graph, strict=True):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_the_items_cross_episode_ends_but_never_start_at_a_boundary(items):
    tutorial, _, spec = items
    fields = tf.nest.pack_sequence_as(spec, tutorial)
    first_is_boundary = fields.step_type[:, 0] == 2  # a LAST -> FIRST step
    ends_an_episode = fields.step_type[:, 1] == 2
    assert not first_is_boundary.any()
    assert ends_an_episode.sum() >= 5  # several episodes, each one's boundary step kept


def test_the_first_step_after_the_reset_pairs_with_the_warm_ups_last(items):
    # The tutorial's observer keeps its cache over the reset between its warm-up and its
    # loop: one item spans that reset (its second step is FIRST, its first not LAST).
    tutorial, _, spec = items
    fields = tf.nest.pack_sequence_as(spec, tutorial)
    starts_an_episode = np.flatnonzero(fields.step_type[:, 1] == 0)  # FIRST
    assert starts_an_episode.size == 1
    assert fields.next_step_type[starts_an_episode[0], 0] != 0
