"""The TensorFlow side of `tfa_recipes.lunar_lander_pg`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gym
import tensorflow as tf

from tfa_recipes.envs.gym import make_gym
from tfa_recipes.lunar_lander_pg import Config
from tfa_recipes.output import media, progress
from tfa_recipes.run.directory import RunDir
from tfa_recipes.scratch import reinforce as pg
from tfa_recipes.scratch import should_log
from tfa_recipes.scratch.episodes import film_episode, random_mean_reward
from tfa_recipes.seeds import EVAL_SEED_OFFSET, RANDOM_SEED_OFFSET, set_seeds

# The book's mean reward at iteration 200 (Hands-On ML chapter 18, the LunarLander exercise).
BOOK_MEAN_REWARD = 134.2


class _NoParticle:
    """Stands for a particle body: the engine's push on it moves nothing else."""

    def ApplyLinearImpulse(self, impulse: Any, point: Any, wake: bool) -> None:  # noqa: N802
        pass


class DropParticles(gym.Wrapper):
    """LunarLander without its engine particles, for copies that are never rendered.

    The particles are decoration (gym's own comment) that only `render()` ages and removes,
    so an unrendered LunarLander keeps every particle of an episode in its Box2D world, about
    one per engine firing, and simulates them against the ground (openai/gym#642). Measured
    on one core here, hovering: 141 us a step over an episode's first 100 steps, 1,021 us
    over steps 900-1,000; creating each particle and removing it after its step, 80; not
    creating them, 43. The particles collide only with the ground (`maskBits=0x001`), never
    with the lander or its legs, and draw no random numbers, so observations, rewards and
    dones stay bit for bit the same (tested).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        if hasattr(env.unwrapped, "_create_particle"):
            env.unwrapped._create_particle = lambda mass, x, y, ttl: _NoParticle()


def make_unrendered_envs(config: Config, first_seed: int, count: int) -> list[gym.Env]:
    """`count` copies of the environment seeded `first_seed`, `first_seed + 1`, ..."""
    return [
        DropParticles(make_gym(config.env_name, seed=first_seed + index)) for index in range(count)
    ]


def train(
    config: Config, report: Callable[[int, float], None] | None = None
) -> tuple[pg.PolicyGradient, list[float]]:
    """The notebook's network trained with REINFORCE at `config`: the agent and the mean
    reward of each iteration's episodes."""
    set_seeds(config.seed)
    envs = make_unrendered_envs(config, config.seed, config.n_episodes_per_update)
    n_inputs, n_outputs = envs[0].observation_space.shape[0], envs[0].action_space.n
    agent = pg.PolicyGradient(
        pg.lander_policy_net(n_inputs, n_outputs),
        tf.keras.optimizers.Nadam(learning_rate=config.learning_rate),
        "categorical",
    )
    mean_rewards = pg.reinforce(
        agent, envs, n_iterations=config.n_iterations, n_max_steps=config.n_max_steps,
        discount_rate=config.discount_rate, report=report,
    )
    for env in envs:
        env.close()
    return agent, mean_rewards


def run(config: Config, run_dir: RunDir) -> dict[str, Any]:
    started = time.perf_counter()

    def report(iteration: int, mean_reward: float) -> None:
        if should_log(iteration, config.n_iterations, times=20):
            elapsed = time.perf_counter() - started
            print(
                f"Iteration: {iteration + 1}/{config.n_iterations}, mean reward: "
                f"{mean_reward:.1f} ({elapsed:.0f} s, {(iteration + 1) / elapsed:.2f} it/s)"
            )

    with progress.counting(report, config.n_iterations, desc="REINFORCE") as tracked:
        agent, mean_rewards = train(config, tracked)
    train_seconds = time.perf_counter() - started
    random_reward = random_mean_reward(
        lambda seed: DropParticles(make_gym(config.env_name, seed=seed)), config.n_eval_episodes,
        config.seed + RANDOM_SEED_OFFSET, config.n_max_steps, config.seed,
    )
    media.plot_curve(
        mean_rewards, run_dir.path / "mean-rewards.png", xlabel="Iteration",
        ylabel="Mean reward", title="REINFORCE on LunarLander-v2",
        references={"random policy": random_reward, "book at iteration 200": BOOK_MEAN_REWARD},
    )
    eval_envs = make_unrendered_envs(
        config, config.seed + EVAL_SEED_OFFSET, config.n_eval_episodes
    )
    trained_reward = pg.average_total_reward(agent, eval_envs, config.n_max_steps)
    print(
        f"trained policy: mean reward {trained_reward:.1f} over {config.n_eval_episodes} episodes"
    )
    film_env = make_gym(config.env_name, seed=config.seed)
    filmed = film_episode(
        film_env, agent.policy, config.n_video_max_steps,
        run_dir.video("lunar-lander", config.video_format), fps=config.video_fps,
    )
    for env in [*eval_envs, film_env]:
        env.close()
    return {
        "final_mean_reward": mean_rewards[-1],
        "last_10_mean_reward": sum(mean_rewards[-10:]) / len(mean_rewards[-10:]),
        "trained_average_reward": trained_reward,
        "random_mean_reward": random_reward,
        "filmed_episode_reward": filmed.total_reward,
        "mean_rewards": mean_rewards,
        "train_seconds": train_seconds,
        "iterations_per_second": config.n_iterations / train_seconds,
    }
