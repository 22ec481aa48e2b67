"""tf:CartPole (envs/tf_cartpole.py) against gym 0.23's CartPole and suite_gym's contract."""

from __future__ import annotations

import math

import gym
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.environments import suite_gym, tf_py_environment
from tf_agents.trajectories import time_step as ts

from tfa_recipes.envs.tf_cartpole import (
    THETA_THRESHOLD_RADIANS,
    X_THRESHOLD,
    TFCartPole,
    load_tf_env,
)
from tfa_recipes.errors import RecipeError

FIRST, MID, LAST = (int(t) for t in (ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST))


def _gym_cartpole(state: np.ndarray, elapsed_steps: int) -> gym.Env:
    """gym.make("CartPole-v0") (with its TimeLimit) put in `state`, `elapsed_steps` in."""
    env = gym.make("CartPole-v0")
    env.reset()
    env.unwrapped.state = tuple(float(value) for value in state)
    env._elapsed_steps = elapsed_steps
    return env


def _injected(states: np.ndarray, elapsed_steps: np.ndarray, **kwargs) -> TFCartPole:
    env = TFCartPole(len(states), **kwargs)
    env.reset()
    env.state.assign(states)
    env.elapsed_steps.assign(elapsed_steps)
    return env


def _random_action_loop(env: TFCartPole, steps: int, *, seed: int, jit_compile: bool = False):
    """A compiled loop: reset, then `steps` steps of uniform random actions; returns the
    actions and every time step's step_type, reward, discount, observation and elapsed
    steps, each stacked [steps, batch, ...]."""
    actions = tf.random.Generator.from_seed(seed)

    @tf.function(jit_compile=jit_compile)
    def run():
        env.reset()
        outputs = [tf.TensorArray(dtype, size=steps) for dtype in
                   (tf.int64, tf.int32, tf.float32, tf.float32, tf.float32, tf.int32)]
        for i in tf.range(steps):
            action = actions.uniform([env.batch_size], 0, 2, dtype=tf.int64)
            time_step = env.step(action)
            values = (action, time_step.step_type, time_step.reward, time_step.discount,
                      time_step.observation, env.elapsed_steps.read_value())
            outputs = [array.write(i, value) for array, value in zip(outputs, values,
                                                                      strict=True)]
        return [array.stack() for array in outputs]

    return run, [value.numpy() for value in run()]


def _ks_two_sample(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and asymptotic p-value (Numerical Recipes'
    `kstwo`; conservative for discrete data such as episode lengths)."""
    values = np.union1d(a, b)
    cdf_a = np.searchsorted(np.sort(a), values, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), values, side="right") / len(b)
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    en = math.sqrt(len(a) * len(b) / (len(a) + len(b)))
    lam = (en + 0.12 + 0.11 / en) * d
    p = 2 * sum((-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam) for j in range(1, 101))
    return d, min(max(p, 0.0), 1.0)


def test_steps_match_gym_from_injected_states():
    rng = np.random.default_rng(0)
    batch = 200
    states = np.stack([rng.uniform(-2.3, 2.3, batch), rng.normal(0, 1, batch),
                       rng.uniform(-0.2, 0.2, batch), rng.normal(0, 1.5, batch)], axis=1)
    # Half the starts within 0.02 of a threshold (x or theta, either side), moving out or in.
    near = np.arange(batch // 2)
    component = np.where(near % 2 == 0, 0, 2)
    threshold = np.where(component == 0, X_THRESHOLD, THETA_THRESHOLD_RADIANS)
    side = np.where(rng.random(len(near)) < 0.5, -1.0, 1.0)
    states[near, component] = side * (threshold - rng.uniform(0, 0.02, len(near)))
    states[near, component + 1] = side * rng.uniform(-0.5, 1.5, len(near))
    elapsed = rng.integers(0, 150, batch)
    elapsed[150:190] = rng.integers(160, 200, 40)  # truncations within the 50 steps
    # Ten on the limit step, moving out across a threshold within the step: a fall and a
    # truncation at once.
    elapsed[:10] = 199
    states[near[:10], component[:10]] = side[:10] * (threshold[:10] - rng.uniform(0, 0.005, 10))
    states[near[:10], component[:10] + 1] = side[:10] * rng.uniform(0.5, 1.5, 10)
    env = _injected(states, elapsed)
    gyms = [_gym_cartpole(state, e) for state, e in zip(states, elapsed, strict=True)]

    running = np.ones(batch, dtype=bool)
    restarting = np.zeros(batch, dtype=bool)
    ends = {"terminated": 0, "truncated": 0, "fell on the limit step": 0}
    for _ in range(50):
        actions = rng.integers(0, 2, batch)
        time_step = env.step(tf.constant(actions, tf.int64))
        step_type, discount = time_step.step_type.numpy(), time_step.discount.numpy()
        observation, tf_states = time_step.observation.numpy(), env.state.numpy()
        assert np.all(step_type[restarting] == FIRST)
        assert np.all(time_step.reward.numpy()[restarting] == 0.0)
        for i in np.flatnonzero(running):
            gym_observation, reward, done, info = gyms[i].step(int(actions[i]))
            np.testing.assert_allclose(tf_states[i], gyms[i].unwrapped.state, rtol=0, atol=1e-12)
            np.testing.assert_array_equal(observation[i], gym_observation)
            assert time_step.reward.numpy()[i] == reward == 1.0
            assert (step_type[i] == LAST) == done
            truncated = info.get("TimeLimit.truncated", False)
            if done:
                assert discount[i] == (1.0 if truncated else 0.0)
                ends["truncated" if truncated else "terminated"] += 1
                ends["fell on the limit step"] += int(not truncated and gyms[i]._elapsed_steps
                                                      == 200)
            else:
                assert step_type[i] == MID and discount[i] == 1.0
        restarting, running = running & (step_type == LAST), running & (step_type != LAST)
    assert ends["terminated"] >= 50 and ends["truncated"] >= 5, ends
    assert ends["fell on the limit step"] >= 10, ends


def test_starts_are_uniform_in_gyms_range():
    starts = TFCartPole(10_000, seed=1).reset().observation.numpy().astype(np.float64)
    assert np.all(starts >= -0.05) and np.all(starts < 0.05)
    # The standard deviation of a mean of 10,000 uniforms on [-0.05, 0.05] is 0.00029.
    assert np.all(np.abs(starts.mean(axis=0)) < 0.0012)
    # Chi-square on 10 equal bins per component: 9 degrees of freedom, 27.88 is the 0.999
    # quantile (one false alarm in a thousand seeds; seed 1 is fixed, so never flaky).
    for component in starts.T:
        counts, _ = np.histogram(component, bins=10, range=(-0.05, 0.05))
        expected = len(component) / 10
        assert np.sum((counts - expected) ** 2 / expected) < 27.88


def test_starts_repeat_with_the_seed():
    def starts(seed: int) -> np.ndarray:
        env = TFCartPole(8, seed=seed)
        first = env.reset().observation.numpy()
        # and the starts drawn by auto-resets, 300 steps of pushing right (all fall)
        later = [env.step(tf.ones([8], tf.int64)) for _ in range(300)]
        restarts = [t.observation.numpy()[t.step_type.numpy() == FIRST] for t in later]
        return np.concatenate([first, *restarts])

    assert np.array_equal(starts(5), starts(5))
    assert not np.array_equal(starts(5)[:8], starts(6)[:8])


def test_random_policy_episode_lengths_match_gym():
    episodes_per_element, batch = 8, 256
    # Each episode is at most 200 steps and one restart step, so every element finishes
    # its first 8; taking the first 8 of each (not all that end in a window) keeps the
    # sample free of the bias towards short episodes.
    steps = episodes_per_element * 201
    _, (_, step_type, _, _, _, elapsed) = _random_action_loop(
        TFCartPole(batch, seed=0), steps, seed=1
    )
    tf_lengths = np.concatenate(
        [elapsed[:, b][step_type[:, b] == LAST][:episodes_per_element] for b in range(batch)]
    )
    assert len(tf_lengths) == episodes_per_element * batch

    env = gym.make("CartPole-v0")
    env.seed(0)
    actions = iter(np.random.default_rng(0).integers(0, 2, 200 * len(tf_lengths)))
    gym_lengths = []
    for _ in range(len(tf_lengths)):
        env.reset()
        length, done = 0, False
        while not done:
            _, _, done, _ = env.step(int(next(actions)))
            length += 1
        gym_lengths.append(length)

    d, p = _ks_two_sample(tf_lengths, np.array(gym_lengths))
    assert p > 0.01, (d, p)
    # Random-policy episodes last ~22 steps with a standard deviation of ~12: the difference
    # of two means of 2,048 has a standard error of ~0.37; 1.5 is four of them.
    assert abs(tf_lengths.mean() - np.mean(gym_lengths)) < 1.5


def test_specs_match_tf_py_environment():
    tf_py = tf_py_environment.TFPyEnvironment(suite_gym.load("CartPole-v0"))
    try:
        env = TFCartPole(3)
        assert env.time_step_spec() == tf_py.time_step_spec()
        assert env.action_spec() == tf_py.action_spec()
        theirs, ours = tf_py.reset(), env.reset()
        for their, our in zip(theirs, ours, strict=True):
            assert our.dtype == their.dtype
            assert our.shape[1:] == their.shape[1:] and our.shape[0] == 3
        ours = env.step(tf.constant([0, 1, 1], tf.int64))
        for spec, our in zip(env.time_step_spec(), ours, strict=True):
            assert spec.is_compatible_with(our[0])
    finally:
        tf_py.close()


def test_step_after_last_restarts_that_element_only_and_ignores_its_action():
    falling = [X_THRESHOLD - 0.001, 2.0, 0.0, 0.0]
    calm = [0.0, 0.0, 0.01, 0.0]
    envs = [_injected(np.array([falling, calm]), np.array([10, 10]), seed=3) for _ in range(2)]
    for env in envs:
        ended = env.step(tf.constant([1, 1], tf.int64))
        assert list(ended.step_type.numpy()) == [LAST, MID]
        assert list(ended.reward.numpy()) == [1.0, 1.0]
        assert list(ended.discount.numpy()) == [0.0, 1.0]
    restarted = [env.step(tf.constant([action, 1], tf.int64)) for env, action in zip(envs, [0, 1],
                                                                                      strict=True)]
    for time_step in restarted:
        assert list(time_step.step_type.numpy()) == [FIRST, MID]
        assert list(time_step.reward.numpy()) == [0.0, 1.0]
        assert list(time_step.discount.numpy()) == [1.0, 1.0]
        assert np.all(np.abs(time_step.observation.numpy()[0]) <= 0.05)
    np.testing.assert_array_equal(restarted[0].observation, restarted[1].observation)
    assert list(envs[0].elapsed_steps.numpy()) == [0, 12]
    after = envs[0].step(tf.constant([0, 0], tf.int64))
    assert list(after.step_type.numpy()) == [MID, MID]
    assert list(after.reward.numpy()) == [1.0, 1.0]


def test_first_step_before_any_reset_starts_episodes():
    stepped, reset = TFCartPole(2, seed=4), TFCartPole(2, seed=4)
    time_step = stepped.step(tf.constant([1, 0], tf.int64))
    assert list(time_step.step_type.numpy()) == [FIRST, FIRST]
    np.testing.assert_array_equal(time_step.observation, reset.reset().observation)
    current = TFCartPole(2, seed=4).current_time_step()
    assert list(current.step_type.numpy()) == [FIRST, FIRST]
    np.testing.assert_array_equal(current.observation, time_step.observation)


@pytest.mark.parametrize("env_name, limit", [("tf:CartPole-v0", 200), ("tf:CartPole-v1", 500)])
def test_truncation_at_the_limit_keeps_discount_one(env_name, limit):
    env = load_tf_env(env_name, seed=0)
    time_step = env.reset()
    for step in range(1, limit + 1):
        # Push towards the side the pole leans to: it stays up for 500 steps and more.
        observation = time_step.observation.numpy()[0]
        action = int(observation[2] + 0.5 * observation[3] > 0)
        time_step = env.step(tf.constant([action], tf.int64))
        assert time_step.step_type.numpy()[0] == (LAST if step == limit else MID)
    assert time_step.discount.numpy()[0] == 1.0 and time_step.reward.numpy()[0] == 1.0
    assert env.step(tf.constant([0], tf.int64)).step_type.numpy()[0] == FIRST


def test_fall_on_the_limit_step_is_a_termination():
    env = _injected(np.array([[0.0, 0.0, THETA_THRESHOLD_RADIANS - 1e-4, 1.0]]),
                    np.array([199]))
    time_step = env.step(tf.constant([0], tf.int64))
    assert time_step.step_type.numpy()[0] == LAST
    assert time_step.discount.numpy()[0] == 0.0


def test_checkpoint_restores_mid_episode_exactly(tmp_path):
    rng = np.random.default_rng(0)
    actions = [tf.constant(rng.integers(0, 2, 4), tf.int64) for _ in range(130)]
    saved = TFCartPole(4, seed=0)
    saved.reset()
    for action in actions[:30]:
        saved.step(action)
    assert np.all(saved.elapsed_steps.numpy() > 0)  # somewhere inside episodes
    path = tf.train.Checkpoint(env=saved).write(str(tmp_path / "env"))
    expected = [saved.step(action) for action in actions[30:]]

    restored = TFCartPole(4, seed=99)
    tf.train.Checkpoint(env=restored).read(path).assert_consumed()
    got = [restored.step(action) for action in actions[30:]]
    # 100 steps of random actions cross several episode ends: the restarts' starts come
    # from the restored random stream.
    assert sum(int(np.sum(t.step_type.numpy() == FIRST)) for t in expected) >= 4
    for theirs, ours in zip(expected, got, strict=True):
        for their, our in zip(theirs, ours, strict=True):
            np.testing.assert_array_equal(our, their)


def test_loader_knows_v0_and_v1():
    env = load_tf_env("tf:CartPole-v1", batch_size=3, seed=2)
    assert (env.batch_size, env.max_episode_steps) == (3, 500)
    assert load_tf_env("tf:CartPole-v0").max_episode_steps == 200
    np.testing.assert_array_equal(env.reset().observation,
                                  TFCartPole(3, seed=2).reset().observation)


def test_loader_names_the_known_ids_in_one_line():
    with pytest.raises(RecipeError) as error:
        load_tf_env("tf:MountainCar-v0")
    message = str(error.value)
    assert "\n" not in message
    assert "'tf:MountainCar-v0'" in message
    assert "tf:CartPole-v0" in message and "tf:CartPole-v1" in message


def test_compiled_loop_of_1000_steps_runs_in_graph_only():
    batch, steps = 8, 1000
    env = TFCartPole(batch, seed=2)
    run, (actions, step_type, reward, discount, observation, elapsed) = _random_action_loop(
        env, steps, seed=3
    )
    graph = run.get_concrete_function().graph.as_graph_def()
    op_types = {node.op for node in graph.node}
    op_types |= {node.op for function in graph.library.function for node in function.node_def}
    assert not op_types & {"PyFunc", "PyFuncStateless", "EagerPyFunc"}

    previous = np.full(batch, FIRST)  # the reset
    for t in range(steps):
        assert np.all((step_type[t] == FIRST) == (previous == LAST))
        previous = step_type[t]
    assert np.all(reward == np.where(step_type == FIRST, 0.0, 1.0))
    assert np.all((discount == 0.0) <= (step_type == LAST))
    assert np.all(np.abs(observation[step_type == FIRST]) <= 0.05)
    assert 0 < elapsed.max() <= 200
    assert np.sum(step_type == LAST) > steps * batch / 40  # random episodes last ~22 steps

    # The same actions one eager step() at a time give the same episodes.
    stepped = TFCartPole(batch, seed=2)
    stepped.reset()
    for t in range(steps):
        time_step = stepped.step(tf.constant(actions[t]))
        np.testing.assert_array_equal(time_step.step_type, step_type[t])
        np.testing.assert_allclose(time_step.observation, observation[t], rtol=0, atol=1e-5)


def test_compiles_with_xla_and_gives_the_same_episodes():
    _, (_, step_type, _, _, observation, _) = _random_action_loop(
        TFCartPole(4, seed=5), 1000, seed=6
    )
    _, (_, xla_step_type, _, _, xla_observation, _) = _random_action_loop(
        TFCartPole(4, seed=5), 1000, seed=6, jit_compile=True
    )
    # XLA may fuse multiply-adds (a last-bit difference); the random streams are the same.
    np.testing.assert_array_equal(xla_step_type, step_type)
    np.testing.assert_allclose(xla_observation, observation, rtol=0, atol=1e-5)


def test_render_matches_gym():
    states = np.array([
        [0.0, 0.0, 0.0, 0.0],
        [0.03, -0.02, 0.04, 0.01],
        [1.7, 0.5, -0.2, 1.0],
        [-2.45, -1.0, 0.21, 0.0],  # the cart half off the screen, the pole past 12 degrees
    ])
    env = TFCartPole(len(states))
    env.reset()
    env.state.assign(states)
    frames = env.render()
    assert frames.shape == (len(states), 400, 600, 3) and frames.dtype == np.uint8
    reference = gym.make("CartPole-v0")
    reference.reset()
    try:
        for frame, state in zip(frames, states, strict=True):
            reference.unwrapped.state = tuple(state)
            np.testing.assert_array_equal(frame, reference.render(mode="rgb_array"))
    finally:
        reference.close()
