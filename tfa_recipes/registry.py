"""Every recipe the package ships, by name (`python -m tfa_recipes list`)."""

from __future__ import annotations

import importlib
from typing import Any

from tfa_recipes.errors import RecipeError

# name -> (module, one line). Lines live here so `list` needs no TensorFlow import.
RECIPES: dict[str, str] = {
    "dqn_cartpole": "DQN on CartPole (TF-Agents tutorial: Reverb + PyDriver)",
    "dqn_cartpole_classic": "DQN on CartPole (older notebook: TFUniformReplayBuffer + "
    "DynamicStepDriver)",
    "reinforce_cartpole": "REINFORCE on CartPole (TF-Agents tutorial: Reverb episodes)",
    "dqn_breakout": "DQN on Atari Breakout and other games (Hands-On ML, suite_atari)",
    "dqn_cartpole_pixels": "DQN on CartPole from screen patches (PyTorch tutorial, in TF-Agents)",
    "basic_policy": "Hands-On ML: the hard-coded CartPole policy over 500 episodes",
    "policy_gradients": "Hands-On ML: Keras policy net, imitation then REINFORCE from scratch",
    "mdp": "Hands-On ML: Markov chain, Q-value iteration and Q-learning",
    "dqn_scratch": "Hands-On ML: DQN, Double DQN, Dueling Double DQN from scratch",
    "lunar_lander_pg": "Hands-On ML exercise: policy gradients on LunarLander-v2",
    "custom_env": "Hands-On ML: a custom 4x4 grid PyEnvironment and TF-Agents wrappers",
}


def get(name: str) -> Any:
    """The recipe module's `RECIPE` (or the module itself for from-scratch recipes)."""
    if name not in RECIPES:
        raise RecipeError(f"unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}")
    module = importlib.import_module(f"tfa_recipes.{name}")
    return getattr(module, "RECIPE", module)
