"""The TensorFlow side of `tfa_recipes.basic_policy`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfa_recipes.basic_policy import Config
from tfa_recipes.envs.gym import make_gym
from tfa_recipes.output import media
from tfa_recipes.run.directory import RunDir
from tfa_recipes.scratch.episodes import film_episode
from tfa_recipes.scratch.reinforce import basic_policy, basic_policy_totals
from tfa_recipes.seeds import set_seeds

# The book's mean total reward of the hard-coded policy over 500 episodes.
BOOK_MEAN_REWARD = 41.718


def run(config: Config, run_dir: RunDir) -> dict[str, Any]:
    set_seeds(config.seed)
    env = make_gym(config.env_name, seed=config.seed)
    totals = basic_policy_totals(env, config.n_episodes, config.n_max_steps)
    figures = {
        "mean_reward": float(np.mean(totals)),
        "std_reward": float(np.std(totals)),
        "min_reward": float(np.min(totals)),
        "max_reward": float(np.max(totals)),
    }
    print(
        f"basic policy over {config.n_episodes} episodes: mean = {figures['mean_reward']:.3f}, "
        f"std = {figures['std_reward']:.3f}, min = {figures['min_reward']:.0f}, "
        f"max = {figures['max_reward']:.0f}"
    )
    media.plot_curve(
        totals, run_dir.path / "rewards.png", xlabel="Episode", ylabel="Sum of rewards",
        title="Hard-coded policy",
        references={"book's mean": BOOK_MEAN_REWARD},
    )
    env.seed(config.seed)
    filmed = film_episode(
        env, basic_policy, config.n_max_steps, run_dir.video("basic-policy", config.video_format),
        fps=config.video_fps,
    )
    env.close()
    return {**figures, "totals": totals, "filmed_episode_reward": filmed.total_reward}
