"""Policy gradients on LunarLander-v2: the Hands-On ML chapter 18 exercise (8).

A policy network of 32 and 32 ReLU units with a softmax over the 4 actions, trained with
the chapter's REINFORCE (`discount_and_normalize_rewards`, sparse categorical
cross-entropy against the sampled action) for 200 iterations of 16 episodes of at most
1,000 steps, Nadam 0.005, discount 0.99. The notebook reaches a mean reward of 134.2 at
iteration 200. Needs Box2D (see `tfa_recipes.envs.gym.BOX2D_INSTALL`).

Outputs: the mean-reward plot, an animation of the trained lander (at most 500 steps, as
the notebook films it) and summary.json.

Speed, on one core: the notebook calls the Keras model and a GradientTape once per step,
9.7 ms an environment step (0.067 iterations/s over its first 5 iterations). Here an
iteration's 16 episodes are played side by side with one NumPy forward pass per step and
one compiled gradient per iteration (`tfa_recipes.scratch.reinforce`), and the
training and scoring copies of the environment create no engine particles
(`DropParticles`), which otherwise pile up and make a step 1 ms by an episode's 1,000th:
67 us an environment step, of which the environment's own 53, and 200 iterations in
93-182 s depending on how long the seed's landers hover (1.1-2.2 iterations/s; the
README's Figures, `tests/test_regression_lunar_lander_pg.py`).

    python -m tfa_recipes.lunar_lander_pg [--n-iterations 200] [--seed 42] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import learning_rate_param, param
from tfa_recipes.recipe import Script
from tfa_recipes.scratch import ScratchConfig


@dataclasses.dataclass(frozen=True)
class Config(ScratchConfig):
    env_name: str = param("gym environment id (Box2D)")
    n_iterations: int = param("REINFORCE iterations (one update each)", minimum=1)
    n_episodes_per_update: int = param("episodes played per update", minimum=1)
    n_max_steps: int = param("steps at most per episode", minimum=1)
    discount_rate: float = param("discount factor of the rewards", minimum=0)
    learning_rate: float = learning_rate_param("Nadam learning rate")
    n_eval_episodes: int = param("episodes averaged to score the trained network", minimum=1)
    n_video_max_steps: int = param("steps at most in the animation", minimum=1)


RECIPE = Script(
    name="lunar_lander_pg",
    description="Policy gradients on LunarLander-v2 (Hands-On ML chapter 18, exercise 8).",
    config_cls=Config,
    builder="tfa_recipes.builders.lunar_lander_pg",
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
