"""Policy gradients from scratch on CartPole (Hands-On ML chapter 18), in the notebook's
order: the Keras policy network (5 ELU units, then P(left) by a sigmoid) untrained; the
same network trained to imitate the hard-coded policy over parallel environments; then a
fresh network trained with REINFORCE (`discount_rewards`, `discount_and_normalize_rewards`,
150 iterations of 10 episodes, Adam 0.01, discount 0.95). The notebook reaches a mean
reward of 199.6 at iteration 150.

Outputs: the imitation loss and REINFORCE mean-reward plots, animations of the untrained,
imitating and trained networks, and summary.json with the figures. See
`tfa_recipes.scratch.reinforce` for how the compiled steps keep the notebook's maths.

    python -m tfa_recipes.policy_gradients [--n-iterations 150] [--seed 42] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import learning_rate_param, param
from tfa_recipes.recipe import Script
from tfa_recipes.scratch import ScratchConfig


@dataclasses.dataclass(frozen=True)
class Config(ScratchConfig):
    env_name: str = param("gym environment id")
    n_environments: int = param("environments the imitating network plays in parallel", minimum=1)
    imitation_n_iterations: int = param(
        "imitation training steps (one per parallel step)", minimum=0
    )
    imitation_learning_rate: float = learning_rate_param("RMSprop learning rate of the imitation")
    n_iterations: int = param("REINFORCE iterations (one update each)", minimum=1)
    n_episodes_per_update: int = param("episodes played per REINFORCE update", minimum=1)
    n_max_steps: int = param("steps at most per episode", minimum=1)
    discount_rate: float = param("discount factor of the rewards", minimum=0)
    learning_rate: float = learning_rate_param("Adam learning rate of REINFORCE")
    n_eval_episodes: int = param("episodes averaged to score each network", minimum=1)


RECIPE = Script(
    name="policy_gradients",
    description="Keras policy network on CartPole: imitation, then REINFORCE from scratch.",
    config_cls=Config,
    builder="tfa_recipes.builders.policy_gradients",
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
