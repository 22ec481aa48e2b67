"""Markov chains and Markov decision processes in NumPy: the notebook's chain sampler,
Q-value iteration and Q-learning on its 3-state MDP.

Randomness comes from NumPy's global generator, called in the notebook's order, so with
`np.random.seed(42)` the sequences and the learned Q-values are the notebook's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Markov chain: shape [s, s'].
CHAIN_TRANSITION_PROBABILITIES = [
    [0.7, 0.2, 0.0, 0.1],  # from s0 to s0, s1, s2, s3
    [0.0, 0.0, 0.9, 0.1],  # from s1 to ...
    [0.0, 1.0, 0.0, 0.0],  # from s2 to ...
    [0.0, 0.0, 0.0, 1.0],  # from s3 to ...
]
CHAIN_TERMINAL_STATE = 3

# The MDP: shape [s, a, s'], None where an action is impossible in a state.
TRANSITION_PROBABILITIES = [
    [[0.7, 0.3, 0.0], [1.0, 0.0, 0.0], [0.8, 0.2, 0.0]],
    [[0.0, 1.0, 0.0], None, [0.0, 0.0, 1.0]],
    [None, [0.8, 0.1, 0.1], None],
]
REWARDS = [
    [[+10, 0, 0], [0, 0, 0], [0, 0, 0]],
    [[0, 0, 0], [0, 0, 0], [0, 0, -50]],
    [[0, 0, 0], [+40, 0, 0], [0, 0, 0]],
]
POSSIBLE_ACTIONS = [[0, 1, 2], [0, 2], [1]]
N_STATES = N_ACTIONS = 3


def markov_chain_sequence(n_max_steps: int) -> tuple[list[int], bool]:
    """The states of one walk of the chain from s0, and whether it was cut at
    `n_max_steps` before reaching the terminal state (the notebook prints "...")."""
    current_state = 0
    states = []
    for _ in range(n_max_steps):
        states.append(current_state)
        if current_state == CHAIN_TERMINAL_STATE:
            return states, False
        current_state = int(
            np.random.choice(range(4), p=CHAIN_TRANSITION_PROBABILITIES[current_state])
        )
    return states, True


def initial_q_values() -> np.ndarray:
    """0 for every possible action, -inf for the impossible ones."""
    Q_values = np.full((N_STATES, N_ACTIONS), -np.inf)
    for state, actions in enumerate(POSSIBLE_ACTIONS):
        Q_values[state, actions] = 0.0
    return Q_values


def q_value_iteration(gamma: float, n_iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """The Q-values after `n_iterations` Bellman updates, and their history (the Q-values
    before each update, shape [n_iterations, s, a])."""
    Q_values = initial_q_values()
    history = []
    for _ in range(n_iterations):
        Q_prev = Q_values.copy()
        history.append(Q_prev)
        for s in range(N_STATES):
            for a in POSSIBLE_ACTIONS[s]:
                Q_values[s, a] = np.sum(
                    [
                        TRANSITION_PROBABILITIES[s][a][sp]
                        * (REWARDS[s][a][sp] + gamma * np.max(Q_prev[sp]))
                        for sp in range(N_STATES)
                    ]
                )
    return Q_values, np.array(history)


def step(state: int, action: int) -> tuple[int, float]:
    """Play `action` in `state`: the next state drawn from the MDP, and its reward."""
    probas = TRANSITION_PROBABILITIES[state][action]
    next_state = int(np.random.choice([0, 1, 2], p=probas))
    reward = REWARDS[state][action][next_state]
    return next_state, reward


def exploration_policy(state: int) -> int:
    """A random possible action: it visits every state often enough in this small MDP."""
    return int(np.random.choice(POSSIBLE_ACTIONS[state]))


def q_learning(
    n_iterations: int, *, alpha0: float, decay: float, gamma: float, state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Q-learning while exploring randomly, with the learning rate
    `alpha0 / (1 + iteration * decay)`. Returns the Q-values and their history (before each
    update, shape [n_iterations, s, a])."""
    Q_values = initial_q_values()
    history = []
    for iteration in range(n_iterations):
        history.append(Q_values.copy())
        action = exploration_policy(state)
        next_state, reward = step(state, action)
        next_value = np.max(Q_values[next_state])  # greedy policy at the next step
        alpha = alpha0 / (1 + iteration * decay)
        Q_values[state, action] *= 1 - alpha
        Q_values[state, action] += alpha * (reward + gamma * next_value)
        state = next_state
    return Q_values, np.array(history)


def optimal_policy(Q_values: np.ndarray) -> list[int]:
    """The best action in each state."""
    return [int(action) for action in np.argmax(Q_values, axis=1)]


def q_table_to_json(Q_values: np.ndarray) -> list[list[float | None]]:
    """Q-values with impossible actions (-inf) as null, so summary.json stays valid JSON."""
    return [[None if np.isinf(value) else float(value) for value in row] for row in Q_values]


def format_sequence(states: Sequence[int], truncated: bool) -> str:
    """The notebook's line: "States: 0 1 2 1 3" (with "..." when cut short)."""
    return "States: " + " ".join(map(str, states)) + (" ..." if truncated else "")
