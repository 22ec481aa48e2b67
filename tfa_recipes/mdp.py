"""Markov chains and MDPs in NumPy (Hands-On ML chapter 18): walks of the notebook's
Markov chain, Q-value iteration on its 3-state MDP at each discount factor (the notebook:
policy [0, 0, 1] at 0.90, [0, 2, 1] at 0.95), Q-learning with a decaying learning rate
while exploring randomly, and the plot comparing how Q(s0, a0) converges under both.

With the notebook's seed (42) the chain's walks and the Q-learning Q-values are the
notebook's own: NumPy's legacy generator is called in the same order.

    python -m tfa_recipes.mdp [--gamma 0.95] [--seed 42] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import RecipeConfig, flag_name, param
from tfa_recipes.errors import RecipeError
from tfa_recipes.recipe import Script


@dataclasses.dataclass(frozen=True)
class Config(RecipeConfig):
    n_sequences: int = param("walks of the Markov chain to print", minimum=0)
    n_max_steps: int = param("steps at most per walk of the chain", minimum=1)
    q_value_iteration_gammas: tuple[float, ...] = param(
        "discount factors of Q-value iteration (comma-separated)", minimum=0
    )
    q_value_iteration_n_iterations: int = param("Q-value iteration updates", minimum=1)
    q_learning_n_iterations: int = param("Q-learning steps", minimum=1)
    alpha0: float = param("initial Q-learning rate", minimum=0)
    decay: float = param("learning rate decay: alpha0 / (1 + iteration * decay)", minimum=0)
    gamma: float = param("discount factor of Q-learning and of the comparison", minimum=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("q_value_iteration_gammas", "gamma"):
            values = getattr(self, name)
            if max(values if isinstance(values, tuple) else (values,)) > 1:
                raise RecipeError(f"{flag_name(name)} must be at most 1, got {values}")


RECIPE = Script(
    name="mdp",
    description="Markov chain, Q-value iteration and Q-learning on the Hands-On ML 3-state MDP.",
    config_cls=Config,
    builder="tfa_recipes.builders.mdp",
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
