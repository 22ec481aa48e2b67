"""The TensorFlow side of `tfa_recipes.policy_gradients`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

import time
from typing import Any

import tensorflow as tf

from tfa_recipes.envs.gym import make_gym
from tfa_recipes.output import media, progress
from tfa_recipes.policy_gradients import Config
from tfa_recipes.run.directory import RunDir
from tfa_recipes.scratch import reinforce as pg
from tfa_recipes.scratch import should_log
from tfa_recipes.scratch.episodes import film_episode, random_mean_reward
from tfa_recipes.seeds import EVAL_SEED_OFFSET, RANDOM_SEED_OFFSET, set_seeds

# The book's mean reward at iteration 150 (Hands-On ML chapter 18, REINFORCE on CartPole).
BOOK_MEAN_REWARD = 199.6


def run(config: Config, run_dir: RunDir) -> dict[str, Any]:
    eval_envs = [
        make_gym(config.env_name, seed=config.seed + EVAL_SEED_OFFSET + index)
        for index in range(config.n_eval_episodes)
    ]
    film_env = make_gym(config.env_name)
    n_inputs = film_env.observation_space.shape[0]

    def score_and_film(agent: pg.PolicyGradient, name: str) -> float:
        average = pg.average_total_reward(agent, eval_envs, config.n_max_steps)
        film_env.seed(config.seed)
        film_episode(
            film_env, agent.policy, config.n_max_steps,
            run_dir.video(name, config.video_format), fps=config.video_fps,
        )
        print(f"{name}: mean reward {average:.1f} over {config.n_eval_episodes} episodes")
        return average

    # The network imitating the hard-coded policy.
    set_seeds(config.seed)
    model = pg.cartpole_policy_net(n_inputs)
    optimizer = tf.keras.optimizers.RMSprop(learning_rate=config.imitation_learning_rate)
    imitator = pg.PolicyGradient(model, optimizer, "binary")
    untrained_reward = score_and_film(imitator, "untrained-policy-net")
    envs = [
        make_gym(config.env_name, seed=config.seed + index)
        for index in range(config.n_environments)
    ]

    def report_loss(iteration: int, loss: float) -> None:
        if should_log(iteration, config.imitation_n_iterations):
            print(f"Iteration: {iteration}, Loss: {loss:.3f}")

    started = time.perf_counter()
    with progress.counting(report_loss, config.imitation_n_iterations, desc="imitation") as tracked:
        losses = pg.imitate_basic_policy(
            model, envs, n_iterations=config.imitation_n_iterations, optimizer=optimizer,
            report=tracked,
        )
    imitation_seconds = time.perf_counter() - started
    if losses:
        media.plot_curve(
            losses, run_dir.path / "imitation-loss.png", xlabel="Iteration",
            ylabel="Binary cross-entropy", title="Imitating the hard-coded policy",
        )
    imitation_reward = score_and_film(imitator, "imitation-policy-net")

    # REINFORCE from a fresh network.
    tf.keras.backend.clear_session()
    set_seeds(config.seed)
    model = pg.cartpole_policy_net(n_inputs)
    agent = pg.PolicyGradient(
        model, tf.keras.optimizers.Adam(learning_rate=config.learning_rate), "binary"
    )
    envs = [
        make_gym(config.env_name, seed=config.seed + index)
        for index in range(config.n_episodes_per_update)
    ]

    def report_reward(iteration: int, mean_reward: float) -> None:
        if should_log(iteration, config.n_iterations):
            print(f"Iteration: {iteration}, mean rewards: {mean_reward:.1f}")

    started = time.perf_counter()
    with progress.counting(report_reward, config.n_iterations, desc="REINFORCE") as tracked:
        mean_rewards = pg.reinforce(
            agent, envs, n_iterations=config.n_iterations, n_max_steps=config.n_max_steps,
            discount_rate=config.discount_rate, report=tracked,
        )
    reinforce_seconds = time.perf_counter() - started
    random_reward = random_mean_reward(
        lambda seed: make_gym(config.env_name, seed=seed), config.n_eval_episodes,
        config.seed + RANDOM_SEED_OFFSET, config.n_max_steps, config.seed,
    )
    media.plot_curve(
        mean_rewards, run_dir.path / "mean-rewards.png", xlabel="Iteration",
        ylabel="Mean reward", title="REINFORCE",
        references={"random policy": random_reward, "book at iteration 150": BOOK_MEAN_REWARD},
    )
    trained_reward = score_and_film(agent, "trained-policy-net")
    for env in [*eval_envs, *envs, film_env]:
        env.close()
    return {
        "untrained_average_reward": untrained_reward,
        "imitation_final_loss": losses[-1] if losses else None,
        "imitation_average_reward": imitation_reward,
        "final_mean_reward": mean_rewards[-1],
        "last_10_mean_reward": sum(mean_rewards[-10:]) / len(mean_rewards[-10:]),
        "trained_average_reward": trained_reward,
        "random_mean_reward": random_reward,
        "mean_rewards": mean_rewards,
        "imitation_seconds": imitation_seconds,
        "reinforce_seconds": reinforce_seconds,
    }
