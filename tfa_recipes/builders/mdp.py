"""The TensorFlow side of `tfa_recipes.mdp`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfa_recipes.mdp import Config
from tfa_recipes.output import media
from tfa_recipes.run.directory import RunDir
from tfa_recipes.scratch import q_learning as mdp


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
