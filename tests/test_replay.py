"""Reverb replay as the DQN tutorial sets it up, and its faster dataset."""

from __future__ import annotations

import tensorflow as tf
from tf_agents.drivers import py_driver
from tf_agents.environments import tf_py_environment
from tf_agents.policies import random_py_policy

from tfa_recipes.blocks import agents, networks, replay
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.run.checkpoints import stage_reverb_copy


def filled_replay(tmp_path=None, steps: int = 300):
    py_env = load_gym("CartPole-v0", seed=0)
    env = tf_py_environment.TFPyEnvironment(py_env)
    q_net = networks.sequential_q_network(env.action_spec(), (100, 50))
    agent = agents.dqn(env.time_step_spec(), env.action_spec(), q_net, tf.keras.optimizers.Adam())
    rb = replay.reverb_replay(
        agent.collect_data_spec, max_size=1000, sequence_length=2, checkpoint_dir=tmp_path
    )
    policy = random_py_policy.RandomPyPolicy(py_env.time_step_spec(), py_env.action_spec())
    py_driver.PyDriver(py_env, policy, [rb.observer], max_steps=steps).run(py_env.reset())
    rb.observer.flush()
    return agent, rb


def test_fast_dataset_yields_what_as_dataset_yields():
    agent, rb = filled_replay()
    reference = replay.experience_dataset(rb.replay_buffer, batch_size=64, num_steps=2)
    fast = rb.dataset(batch_size=64, num_steps=2)
    (ref_data, _ref_info), (data, _info) = next(iter(reference)), next(iter(fast))
    tf.nest.assert_same_structure(ref_data, data)
    for ref, got in zip(tf.nest.flatten(ref_data), tf.nest.flatten(data), strict=False):
        assert ref.shape == got.shape and ref.dtype == got.dtype
    assert data.observation.shape == (64, 2, 4)
    # Every sampled pair is two consecutive steps of one episode (or its boundary).
    assert bool(tf.reduce_all(tf.equal(data.next_step_type[:, 0], data.step_type[:, 1])))
    loss = agent.train(data).loss
    assert bool(tf.math.is_finite(loss))
    rb.close()


def test_table_is_bounded_fifo():
    _, rb = filled_replay(steps=1500)
    assert rb.num_items() == 1000
    rb.close()


def test_a_saved_copy_is_reloaded_by_a_new_server_once_staged(tmp_path):
    replay_dir = tmp_path / "replay"
    _, rb = filled_replay(replay_dir, steps=200)
    saved = rb.num_items()
    copy = rb.save()
    second = rb.save()
    rb.close()
    # Each save is its own folder beside Reverb's staging folder, out of Reverb's reach.
    assert copy.parent == replay_dir and copy.is_dir() and second.is_dir() and second != copy
    stage_reverb_copy(replay_dir, copy)
    _, again = filled_replay(replay_dir, steps=10)
    # 10 more steps add 9 or 10 two-step items, depending on where the first pair starts.
    assert saved + 9 <= again.num_items() <= saved + 10
    again.close()
    # Reverb's next save deleted its links to the loaded copy, not the copy.
    assert sorted(path.name for path in copy.iterdir()) == [
        "DONE", "chunks.tfrecord", "items.tfrecord", "tables.tfrecord"
    ]


def test_an_unstaged_server_starts_empty(tmp_path):
    _, rb = filled_replay(tmp_path / "replay", steps=50)
    rb.save()
    rb.close()
    stage_reverb_copy(tmp_path / "replay", None)
    _, again = filled_replay(tmp_path / "replay", steps=10)
    assert again.num_items() <= 10
    again.close()
