"""Every recipe the package ships, by name (`python -m tfa_recipes list`)."""

from __future__ import annotations

import importlib
from typing import Any

from tfa_recipes.errors import RecipeError

# name -> (module, one line). Lines live here so `list` needs no TensorFlow import.
RECIPES: dict[str, str] = {
    "dqn_cartpole": "DQN on CartPole (TF-Agents tutorial: Reverb + PyDriver)",
}


def get(name: str) -> Any:
    """The recipe module's `RECIPE` (or the module itself for from-scratch recipes)."""
    if name not in RECIPES:
        raise RecipeError(f"unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}")
    module = importlib.import_module(f"tfa_recipes.{name}")
    return getattr(module, "RECIPE", module)
