"""The TensorFlow side of `tfa_recipes.dqn_scratch`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tfa_recipes.dqn_scratch import Config
from tfa_recipes.envs.gym import make_gym
from tfa_recipes.output import media, progress
from tfa_recipes.run.directory import RunDir
from tfa_recipes.scratch import dqn, should_log
from tfa_recipes.scratch.episodes import film_episode, play_episode, random_mean_reward
from tfa_recipes.seeds import EVAL_SEED_OFFSET, RANDOM_SEED_OFFSET, set_seeds

TITLES = {"dqn": "DQN", "double": "Double DQN", "dueling": "Dueling Double DQN"}

# The sum of rewards of the book's last training episode, per variant (its notebook).
BOOK_LAST_EPISODE = {"dqn": 200.0, "double": 55.0, "dueling": 200.0}


def run(config: Config, run_dir: RunDir) -> dict[str, Any]:
    set_seeds(config.seed)
    env = make_gym(config.env_name, seed=config.seed)
    agent = dqn.DeepQNetwork(
        config.variant,
        env.observation_space.shape[0],
        env.action_space.n,
        learning_rate=config.learning_rate,
        discount_rate=config.discount_rate,
    )

    def report(episode: int, total: float, epsilon: float) -> None:
        if should_log(episode, config.n_episodes, times=20):
            print(f"Episode: {episode}, Steps: {total:.0f}, eps: {epsilon:.3f}")

    started = time.perf_counter()
    with progress.counting(report, config.n_episodes, desc="training", unit="episode") as tracked:
        result = dqn.train(
            agent,
            env,
            n_episodes=config.n_episodes,
            n_max_steps=config.n_max_steps,
            batch_size=config.batch_size,
            replay_memory_maxlen=config.replay_memory_maxlen,
            epsilon_decay_episodes=config.epsilon_decay_episodes,
            epsilon_min=config.epsilon_min,
            training_start_episode=config.training_start_episode,
            target_update_episodes=config.target_update_episodes,
            report=tracked,
        )
    train_seconds = time.perf_counter() - started
    print(
        f"restored the weights of episode {result.best_episode} "
        f"({result.best_score:.0f} steps)"
    )
    random_reward = random_mean_reward(
        lambda seed: make_gym(config.env_name, seed=seed), config.n_eval_episodes,
        config.seed + RANDOM_SEED_OFFSET, config.n_max_steps, config.seed,
    )
    media.plot_curve(
        result.rewards, run_dir.path / "rewards.png", xlabel="Episode",
        ylabel="Sum of rewards", title=TITLES[config.variant],
        references={
            "random policy": random_reward,
            "book's last episode": BOOK_LAST_EPISODE[config.variant],
        },
    )
    eval_totals = []
    for index in range(config.n_eval_episodes):
        env.seed(config.seed + EVAL_SEED_OFFSET + index)
        episode = play_episode(env, agent.epsilon_greedy_policy, config.n_max_steps)
        eval_totals.append(episode.total_reward)
    print(
        f"restored greedy agent: mean reward {np.mean(eval_totals):.1f} "
        f"over {config.n_eval_episodes} episodes"
    )
    env.seed(config.seed)
    filmed = film_episode(
        env, agent.epsilon_greedy_policy, config.n_max_steps,
        run_dir.video(f"{config.variant}-agent", config.video_format), fps=config.video_fps,
    )
    env.close()
    return {
        "variant": config.variant,
        "last_episode_reward": result.rewards[-1],
        "best_score": result.best_score,
        "best_episode": result.best_episode,
        "eval_average_reward": float(np.mean(eval_totals)),
        "eval_rewards": eval_totals,
        "random_mean_reward": random_reward,
        "filmed_episode_reward": filmed.total_reward,
        "final_loss": result.losses[-1] if result.losses else None,
        "rewards": result.rewards,
        "environment_steps": int(sum(result.rewards)),
        "train_seconds": train_seconds,
    }
