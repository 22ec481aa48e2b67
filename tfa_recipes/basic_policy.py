"""The hard-coded CartPole policy of Hands-On ML chapter 18: push the cart the way the pole
leans. Plays `n_episodes` episodes capped at `n_max_steps` steps and reports the mean,
standard deviation, minimum and maximum of their total rewards (the notebook: 41.718,
8.86, 24, 68 over 500 episodes), with a plot of every episode's total and an animation
of one episode.

    python -m tfa_recipes.basic_policy [--n-episodes 500] [--seed 42] [--help]
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np

from tfa_recipes import media
from tfa_recipes.cli import Script
from tfa_recipes.config import param
from tfa_recipes.envs import make_gym
from tfa_recipes.runs import RunDir
from tfa_recipes.scratch import ScratchConfig
from tfa_recipes.scratch.episodes import film_episode
from tfa_recipes.scratch.policy_gradients import basic_policy, basic_policy_totals
from tfa_recipes.training import set_seeds

# The book's mean total reward of the hard-coded policy over 500 episodes.
BOOK_MEAN_REWARD = 41.718


@dataclasses.dataclass(frozen=True)
class Config(ScratchConfig):
    env_name: str = param("gym environment id")
    n_episodes: int = param("episodes played by the hard-coded policy", minimum=1)
    n_max_steps: int = param("steps at most per episode", minimum=1)


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


RECIPE = Script(
    name="basic_policy",
    description="The hard-coded CartPole policy of Hands-On ML chapter 18, over many episodes.",
    config_cls=Config,
    body=run,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
