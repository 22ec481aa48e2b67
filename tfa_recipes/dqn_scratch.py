"""Deep Q-Networks from scratch on CartPole (Hands-On ML chapter 18): `--variant dqn`
(mean squared error, Adam 1e-2), `double` (target network, Huber loss, Adam 6e-3) or
`dueling` (Dueling Double DQN, Adam 7.5e-3). 600 episodes of at most 200 steps, epsilon
from 1 down to 0.01 over 500 episodes, a 2,000-experience deque replay memory, one
training step of 32 experiences per episode from episode 50, the best episode's weights
restored at the end. The notebook's last episode: 200 steps (DQN), 55 (Double DQN), 200
(Dueling Double DQN).

Outputs: the rewards-per-episode plot, an animation of the restored greedy agent, and
summary.json with the rewards and the restored agent's mean reward over evaluation
episodes. See `tfa_recipes.scratch.dqn` for the compiled steps.

    python -m tfa_recipes.dqn_scratch [--variant dqn|double|dueling] [--seed 42] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import learning_rate_param, param
from tfa_recipes.recipe import Script
from tfa_recipes.scratch import VARIANTS, ScratchConfig


@dataclasses.dataclass(frozen=True)
class Config(ScratchConfig):
    variant: str = param("which network and targets", choices=VARIANTS)
    env_name: str = param("gym environment id")
    n_episodes: int = param("training episodes", minimum=1)
    n_max_steps: int = param("steps at most per episode", minimum=1)
    batch_size: int = param("experiences per training step", minimum=1)
    discount_rate: float = param("discount factor of the targets", minimum=0)
    dqn_learning_rate: float = learning_rate_param("Adam learning rate of --variant dqn")
    double_learning_rate: float = learning_rate_param("Adam learning rate of --variant double")
    dueling_learning_rate: float = learning_rate_param("Adam learning rate of --variant dueling")
    replay_memory_maxlen: int = param("experiences kept in the replay memory", minimum=1)
    epsilon_decay_episodes: int = param("episodes over which epsilon falls from 1", minimum=1)
    epsilon_min: float = param("epsilon after the decay", minimum=0)
    training_start_episode: int = param("first episode followed by a training step", minimum=1)
    target_update_episodes: int = param(
        "copy the weights to the target network every this many episodes", minimum=1
    )
    n_eval_episodes: int = param("greedy episodes scoring the restored weights", minimum=1)

    @property
    def learning_rate(self) -> float:
        return getattr(self, f"{self.variant}_learning_rate")


RECIPE = Script(
    name="dqn_scratch",
    description="DQN, Double DQN or Dueling Double DQN from scratch in Keras on CartPole.",
    config_cls=Config,
    builder="tfa_recipes.builders.dqn_scratch",
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
