"""lunar_lander_pg: the speed-ups keep the notebook's maths and episodes (fast), and (slow)
REINFORCE at the book's values reaches the region of its 134.2 at iteration 200."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfa_recipes import lunar_lander_pg
from tfa_recipes.builders import lunar_lander_pg as lunar_lander_pg_builder
from tfa_recipes.envs.gym import make_gym
from tfa_recipes.scratch import reinforce as pg

keras = tf.keras


def notebook_lander_step_grads(model, observations, actions):
    """`lander_play_one_step`'s gradients: a tape per step around the loss of its action."""
    loss_fn = keras.losses.sparse_categorical_crossentropy
    step_grads = []
    for obs, action in zip(observations, actions, strict=True):
        with tf.GradientTape() as tape:
            probas = model(obs[np.newaxis])
            loss = tf.reduce_mean(loss_fn(tf.constant([[action]], tf.int64), probas))
        step_grads.append(tape.gradient(loss, model.trainable_variables))
    return step_grads


def test_one_compiled_gradient_equals_the_notebooks_weighted_step_gradients_for_the_lander():
    tf.keras.utils.set_random_seed(0)
    model = pg.lander_policy_net(8, 4)
    rng = np.random.default_rng(0)
    observations = rng.normal(size=(9, 8)).astype(np.float32)
    actions = rng.integers(0, 4, size=9).astype(np.int32)
    final_rewards = rng.normal(size=9).astype(np.float32)
    # The notebook: the mean over steps of final_reward * that step's gradient.
    step_grads = notebook_lander_step_grads(model, observations, actions)
    notebook_grads = [
        np.mean(
            [
                reward * grads[index]
                for reward, grads in zip(final_rewards, step_grads, strict=True)
            ],
            axis=0,
        )
        for index in range(len(model.trainable_variables))
    ]
    before = [variable.numpy() for variable in model.trainable_variables]
    agent = pg.PolicyGradient(model, keras.optimizers.SGD(learning_rate=1.0), "categorical")
    agent.train_step(observations, actions, final_rewards)
    for old, variable, grad in zip(before, model.trainable_variables, notebook_grads, strict=True):
        np.testing.assert_allclose(old - variable.numpy(), grad, atol=1e-6)


@pytest.mark.parametrize("kind", ["binary", "categorical"])
def test_numpy_forward_pass_computes_the_keras_models_probabilities(kind):
    tf.keras.utils.set_random_seed(1)
    model = pg.cartpole_policy_net() if kind == "binary" else pg.lander_policy_net(8, 4)
    observations = np.random.default_rng(1).normal(size=(32, model.input_shape[-1]))
    observations = (3 * observations).astype(np.float32)
    np.testing.assert_allclose(
        pg.numpy_forward(model)(observations), model(observations).numpy(), rtol=1e-5, atol=1e-6
    )


def test_numpy_sampler_draws_actions_with_the_policys_probabilities():
    tf.keras.utils.set_random_seed(2)
    model = pg.lander_policy_net(8, 4)
    agent = pg.PolicyGradient(model, keras.optimizers.Adam(), "categorical")
    obs = np.random.default_rng(2).normal(size=(1, 8)).astype(np.float32)
    probas = model(obs).numpy()[0]
    actions = agent.sampler()(np.repeat(obs, 40_000, axis=0))
    assert actions.dtype == np.int32 and set(actions) <= {0, 1, 2, 3}
    frequencies = np.bincount(actions, minlength=4) / len(actions)
    # 40,000 draws: a standard error of at most 0.0025 per action.
    np.testing.assert_allclose(frequencies, probas, atol=0.0125)


def test_binary_sampler_pushes_right_when_a_uniform_draw_exceeds_p_left():
    model = pg.cartpole_policy_net()
    agent = pg.PolicyGradient(model, keras.optimizers.Adam(), "binary")
    obs = np.zeros((40_000, 4), np.float32)
    p_left = float(model(obs[:1]).numpy()[0, 0])
    assert abs(agent.sampler()(obs).mean() - (1 - p_left)) < 0.0125


def test_numpy_forward_pass_rejects_layers_it_does_not_compute():
    model = keras.models.Sequential(
        [keras.layers.Dense(4, input_shape=[8]), keras.layers.Dropout(0.1)]
    )
    with pytest.raises(ValueError, match="layer 'dropout"):
        pg.numpy_forward(model)


def hover(obs: np.ndarray, rng: np.random.Generator) -> int:
    """Hold the lander up near the middle (main engine while it sinks, side engines to keep
    it upright), a random action one step in five: 1,000 steps, ~750 particles."""
    if rng.random() < 0.2:
        return int(rng.integers(4))
    target_angle = np.clip(0.5 * obs[0] + obs[2], -0.4, 0.4)
    angle_error = 0.5 * (target_angle - obs[4]) - obs[5]
    if (obs[3] < -0.02 or obs[1] < 0.5) and abs(angle_error) < 0.05:
        return 2
    if abs(angle_error) > 0.05:
        return 1 if angle_error > 0 else 3
    return 0


def test_dropping_the_landers_particles_leaves_its_episodes_bit_for_bit_the_same():
    rng = np.random.default_rng(3)
    policies = [lambda obs: int(rng.integers(4)), lambda obs: hover(obs, rng)]
    n_steps = 0
    for seed in (0, 1):
        plain = make_gym("LunarLander-v2", seed=seed)
        dropped = lunar_lander_pg_builder.DropParticles(make_gym("LunarLander-v2", seed=seed))
        for policy in policies:
            obs = plain.reset()
            np.testing.assert_array_equal(obs, dropped.reset())
            done = False
            while not done:
                action = policy(obs)
                obs, reward, done, _ = plain.step(action)
                dropped_obs, dropped_reward, dropped_done, _ = dropped.step(action)
                np.testing.assert_array_equal(obs, dropped_obs)
                assert (reward, done) == (dropped_reward, dropped_done)
                n_steps += 1
            assert dropped.unwrapped.particles == [] and len(plain.unwrapped.particles) > 0
    # Two of the episodes hovered to the time limit, most of their steps firing an engine.
    assert n_steps > 2000


# Slow: the book's figure -----------------------------------------------------------------

# The book: mean reward 134.2 at iteration 200 (one run, seed 42). Measured here, one core,
# `python -m tfa_recipes.lunar_lander_pg --seed k` (or this file's `last_10_mean_reward`):
# the mean reward over iterations 191-200 / at iteration 200, and seconds of training:
#   seed 0: 128.0 / 101.6, 108 s     seed 3: 127.7 / 125.6, 147 s
#   seed 1: 247.8 / 217.4,  93 s     seed 4: 111.8 / 123.7, 120 s
#   seed 2: 134.7 / 133.8, 182 s     seed 42: 138.7 / 153.3, 115 s
# A random policy: -181 to -194 a game (100 games on each of seeds 0-2 and 42, std ~115),
# and the untrained network's first iterations score about the same. The bars: every seed
# at least 50, far above random and below every measured seed by 60 points (other machines'
# arithmetic changes the trajectories); at least 2 of the 3 within the book's region,
# 100 or more (the book's 134.2 less 25%; the lowest measured 111.8). The seeds are the three
# quickest to train (about 5 minutes together on one core); seed 2 hovers longer and would
# add 3 minutes. The timeout allows twice that on a shared machine, with margin.
SLOW_SEEDS = (0, 1, 42)
ABOVE_RANDOM = 50.0
BOOK_REGION = 100.0


def last_10_mean_reward(seed: int) -> float:
    """REINFORCE at the book's values (recipes/lunar_lander_pg.toml) with `seed`: the mean
    reward of iterations 191-200, each the mean total reward of its 16 episodes."""
    tf.keras.backend.clear_session()
    _, mean_rewards = lunar_lander_pg_builder.train(lunar_lander_pg.RECIPE.config(seed=seed))
    assert len(mean_rewards) == 200
    return float(np.mean(mean_rewards[-10:]))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_reinforce_lands_in_the_books_region_at_iteration_200():
    means = [last_10_mean_reward(seed) for seed in SLOW_SEEDS]
    assert all(mean >= ABOVE_RANDOM for mean in means), means
    assert sum(mean >= BOOK_REGION for mean in means) >= 2, means
