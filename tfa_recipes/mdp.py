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
from typing import Any

import numpy as np

from tfa_recipes import media
from tfa_recipes.cli import Script
from tfa_recipes.config import RecipeConfig, flag_name, param
from tfa_recipes.errors import RecipeError
from tfa_recipes.runs import RunDir
from tfa_recipes.scratch import mdp


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


def run(config: Config, run_dir: RunDir) -> dict[str, Any]:
    np.random.seed(config.seed)
    sequences = []
    for _ in range(config.n_sequences):
        states, truncated = mdp.markov_chain_sequence(config.n_max_steps)
        print(mdp.format_sequence(states, truncated))
        sequences.append({"states": states, "truncated": truncated})

    iteration_results = {}
    for gamma in config.q_value_iteration_gammas:
        Q_values, _ = mdp.q_value_iteration(gamma, config.q_value_iteration_n_iterations)
        policy = mdp.optimal_policy(Q_values)
        print(f"Q-value iteration, gamma = {gamma}:\n{Q_values}\npolicy: {policy}")
        iteration_results[str(gamma)] = {
            "Q_values": mdp.q_table_to_json(Q_values),
            "policy": policy,
        }

    # The notebook seeds again before Q-learning.
    np.random.seed(config.seed)
    Q_learned, learning_history = mdp.q_learning(
        config.q_learning_n_iterations, alpha0=config.alpha0, decay=config.decay, gamma=config.gamma
    )
    learned_policy = mdp.optimal_policy(Q_learned)
    print(f"Q-learning, gamma = {config.gamma}:\n{Q_learned}\npolicy: {learned_policy}")

    Q_iterated, iteration_history = mdp.q_value_iteration(
        config.gamma, config.q_value_iteration_n_iterations
    )
    media.plot_q_value_comparison(
        iteration_history[:, 0, 0], learning_history[:, 0, 0], Q_iterated[0, 0],
        run_dir.path / "q_value_plot.png",
    )
    possible = np.isfinite(Q_iterated)
    return {
        "markov_chain_sequences": sequences,
        "q_value_iteration": iteration_results,
        "q_learning": {
            "gamma": config.gamma,
            "Q_values": mdp.q_table_to_json(Q_learned),
            "policy": learned_policy,
            "max_abs_error_to_q_value_iteration": float(
                np.max(np.abs(Q_learned[possible] - Q_iterated[possible]))
            ),
            "same_policy_as_q_value_iteration": learned_policy == mdp.optimal_policy(Q_iterated),
        },
    }


RECIPE = Script(
    name="mdp",
    description="Markov chain, Q-value iteration and Q-learning on the Hands-On ML 3-state MDP.",
    config_cls=Config,
    body=run,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
