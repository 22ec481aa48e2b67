"""Hands-On ML chapter 18 from scratch: Keras and NumPy, no TF-Agents loop.

One module per idea, in the notebook's words: `episodes` (playing gym environments with a
policy function), `reinforce` (the hard-coded policy, the policy network, REINFORCE),
`q_learning` (Markov chain, Q-value iteration, Q-learning), `replay_memory` and `dqn` (DQN, Double
and Dueling Double DQN). The runnable recipes over them are `tfa_recipes.basic_policy`,
`policy_gradients`, `lunar_lander_pg`, `mdp`, `dqn_scratch` and `custom_env`, whose
TensorFlow side is in `tfa_recipes/builders/`.

This package's own import is TensorFlow-free (the recipes' configs import it).
"""

from __future__ import annotations

import dataclasses

from tfa_recipes.config import RecipeConfig, param

# The from-scratch DQN's networks and targets (`dqn`): DQN, Double DQN, Dueling Double DQN.
VARIANTS = ("dqn", "double", "dueling")


@dataclasses.dataclass(frozen=True)
class ScratchConfig(RecipeConfig):
    """Fields every from-scratch recipe has: how its animations are written."""

    video_fps: int = param("frames per second of the animations", minimum=1)
    video_format: str = param("animation container", choices=("mp4", "gif"))


def should_log(index: int, total: int, times: int = 10) -> bool:
    """True at `times` evenly spaced points of a loop of `total` steps, the last included:
    the notebook overwrites one console line every step, a log keeps a few."""
    return (index + 1) % max(1, total // times) == 0 or index + 1 == total
