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

from tfa_recipes.config import param
from tfa_recipes.recipe import Script
from tfa_recipes.scratch import ScratchConfig


@dataclasses.dataclass(frozen=True)
class Config(ScratchConfig):
    env_name: str = param("gym environment id")
    n_episodes: int = param("episodes played by the hard-coded policy", minimum=1)
    n_max_steps: int = param("steps at most per episode", minimum=1)


RECIPE = Script(
    name="basic_policy",
    description="The hard-coded CartPole policy of Hands-On ML chapter 18, over many episodes.",
    config_cls=Config,
    builder="tfa_recipes.builders.basic_policy",
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
