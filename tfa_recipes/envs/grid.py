"""The custom TF-Agents environment of Hands-On ML chapter 18: a 4x4 grid.

The agent starts in the corner (0, 0) and must reach the opposite corner (3, 3). Actions
are up (0), down (1), left (2) and right (3). The episode ends with +10 at the goal, or
with -1 when the agent leaves the grid; every other step gives 0. The observation is the
grid with a 1 where the agent is (all zeros once it has left).
"""

from __future__ import annotations

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

GRID_SIZE = 4
GOAL = (GRID_SIZE - 1, GRID_SIZE - 1)
GOAL_REWARD = 10.0
OUT_OF_BOUNDS_REWARD = -1.0
MOVES = ((-1, 0), (+1, 0), (0, -1), (0, +1))  # up, down, left, right
ACTION_NAMES = ("up", "down", "left", "right")


class GridEnvironment(py_environment.PyEnvironment):
    """The notebook's `MyEnvironment`, with a `render` for videos."""

    def __init__(self, discount: float = 1.0) -> None:
        # Auto-reset: a step after the last one starts a new episode, as drivers and
        # `validate_py_environment` (which keeps stepping across episodes) expect; the
        # notebook's version would keep moving from outside the grid.
        super().__init__(handle_auto_reset=True)
        self._action_spec = array_spec.BoundedArraySpec(
            shape=(), dtype=np.int32, name="action", minimum=0, maximum=len(MOVES) - 1
        )
        self._observation_spec = array_spec.BoundedArraySpec(
            shape=(GRID_SIZE, GRID_SIZE), dtype=np.int32, name="observation", minimum=0, maximum=1
        )
        self.discount = discount
        self._state = np.zeros(2, dtype=np.int32)

    def action_spec(self) -> array_spec.BoundedArraySpec:
        return self._action_spec

    def observation_spec(self) -> array_spec.BoundedArraySpec:
        return self._observation_spec

    def _reset(self) -> ts.TimeStep:
        self._state = np.zeros(2, dtype=np.int32)
        return ts.restart(self._observation())

    def _step(self, action: np.ndarray) -> ts.TimeStep:
        self._state = self._state + np.array(MOVES[int(action)], dtype=np.int32)
        out_of_bounds = self._state.min() < 0 or self._state.max() > GRID_SIZE - 1
        if out_of_bounds:
            return ts.termination(self._observation(), OUT_OF_BOUNDS_REWARD)
        if tuple(self._state) == GOAL:
            return ts.termination(self._observation(), GOAL_REWARD)
        return ts.transition(self._observation(), 0.0, self.discount)

    def _observation(self) -> np.ndarray:
        obs = np.zeros((GRID_SIZE, GRID_SIZE), dtype=np.int32)
        if self._state.min() >= 0 and self._state.max() <= GRID_SIZE - 1:
            obs[self._state[0], self._state[1]] = 1
        return obs

    def render(self, mode: str = "rgb_array", cell: int = 32) -> np.ndarray:
        """The grid as an RGB picture: the goal green, the agent blue, `cell` pixels a cell."""
        if mode != "rgb_array":
            raise NotImplementedError(f"only rgb_array rendering, got mode {mode!r}")
        image = np.full((GRID_SIZE, GRID_SIZE, 3), 235, dtype=np.uint8)
        image[GOAL] = (90, 190, 90)
        obs = self._observation()
        image[obs == 1] = (40, 90, 220)
        image = np.kron(image, np.ones((cell, cell, 1), dtype=np.uint8))
        image[::cell, :] = image[:, ::cell] = 120  # grid lines
        return image
