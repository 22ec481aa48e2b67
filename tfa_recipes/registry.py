"""Every recipe the package ships, by name (`python -m tfa_recipes list`).

The recipe modules are TensorFlow-free declarations, so listing them imports each one
and reads its own description: one description per recipe, in its module.
"""

from __future__ import annotations

import importlib
from typing import Any

from tfa_recipes.errors import RecipeError

# The order `list` shows them in: the TF-Agents tutorials, then Hands-On ML from scratch.
RECIPES = (
    "dqn_cartpole",
    "dqn_cartpole_classic",
    "reinforce_cartpole",
    "dqn_breakout",
    "dqn_cartpole_pixels",
    "basic_policy",
    "policy_gradients",
    "mdp",
    "dqn_scratch",
    "lunar_lander_pg",
    "custom_env",
)


def get(name: str) -> Any:
    """The recipe module's `RECIPE` (a `recipe.Recipe` or `recipe.Script`)."""
    if name not in RECIPES:
        raise RecipeError(f"unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}")
    return importlib.import_module(f"tfa_recipes.{name}").RECIPE


def descriptions() -> dict[str, str]:
    """name -> the recipe's one-line description."""
    return {name: get(name).description for name in RECIPES}
