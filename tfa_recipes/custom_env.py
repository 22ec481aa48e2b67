"""A custom TF-Agents environment and the environment wrappers (Hands-On ML chapter 18).

In the notebook's order: the 4x4 grid `PyEnvironment` (`tfa_recipes.envs.grid`) checked
with `utils.validate_py_environment`, its reset and a step down; the same environment in a
`TFPyEnvironment` (a random TF policy scored on it in a compiled loop); the environment
wrappers TF-Agents offers, with their one-line docs; `ActionRepeat` around the grid; and
`suite_gym.load(..., gym_env_wrappers=[TimeLimit], env_wrappers=[ActionRepeat])` on a gym
environment, played to the end. Also films one episode on the grid reaching the goal.

    python -m tfa_recipes.custom_env [--action-repeat-times 4] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import param
from tfa_recipes.recipe import Script
from tfa_recipes.scratch import ScratchConfig


@dataclasses.dataclass(frozen=True)
class Config(ScratchConfig):
    validation_episodes: int = param("episodes validate_py_environment plays", minimum=1)
    num_eval_episodes: int = param("episodes scoring a random policy on the grid", minimum=1)
    action_repeat_times: int = param("ActionRepeat's times", minimum=1)
    env_name: str = param("gym environment loaded with suite_gym and the wrappers")
    max_episode_steps: int = param("gym TimeLimit's max_episode_steps", minimum=1)


RECIPE = Script(
    name="custom_env",
    description="The Hands-On ML 4x4 grid PyEnvironment, validated, and TF-Agents' wrappers.",
    config_cls=Config,
    builder="tfa_recipes.builders.custom_env",
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
