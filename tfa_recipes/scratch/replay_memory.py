"""Replay memories: the notebook's `deque` and its "rotating list" alternative."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

Experience = tuple[np.ndarray, int, float, np.ndarray, bool]


def sample_experiences(
    replay_memory: deque, batch_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`batch_size` experiences drawn uniformly with replacement, as five arrays:
    states, actions, rewards, next_states, dones."""
    indices = np.random.randint(len(replay_memory), size=batch_size)
    batch = [replay_memory[index] for index in indices]
    states, actions, rewards, next_states, dones = [
        np.array([experience[field_index] for experience in batch]) for field_index in range(5)
    ]
    return states, actions, rewards, next_states, dones


class ReplayMemory:
    """A fixed-size circular buffer: O(1) random access where a deque's is O(n)."""

    def __init__(self, max_size: int) -> None:
        self.buffer = np.empty(max_size, dtype=object)
        self.max_size = max_size
        self.index = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def append(self, obj: Any) -> None:
        self.buffer[self.index] = obj
        self.size = min(self.size + 1, self.max_size)
        self.index = (self.index + 1) % self.max_size

    def sample(self, batch_size: int) -> np.ndarray:
        indices = np.random.randint(self.size, size=batch_size)
        return self.buffer[indices]
