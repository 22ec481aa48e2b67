"""Atari for gym 0.23 and TF-Agents, offline: the one set-up step is importing this module.

Hands-On ML loads Breakout as `suite_atari.load("BreakoutNoFrameskip-v4", ...)`. With the
pinned stack that id does not exist: gym >= 0.22 moved the Atari environments to ale-py,
and ale-py >= 0.9 (which ships the ROMs, so no AutoROM download) registers them with
gymnasium only, through an `AtariEnv` that imports gymnasium and speaks its 5-tuple API.
This module is the bridge: `AtariEnv` is gym 0.21's Atari environment (reset -> obs,
step -> (obs, reward, done, info), `seed()`, `env.ale`, `render(mode="rgb_array")`)
written over ale-py's `ALEInterface`, and importing the module registers every game
ale-py ships under gym's old ids (`Breakout-v4`, `BreakoutNoFrameskip-v4`,
`Breakout-ramDeterministic-v0`, ...) with the kwargs and time limits gym gave them.

    import tfa_recipes.envs.atari  # noqa: F401  (registers the ids)
    env = suite_atari.load("BreakoutNoFrameskip-v4", max_episode_steps=27000,
                           gym_env_wrappers=[AtariPreprocessingWithAutoFire, FrameStack4])

`python -m tfa_recipes.envs.atari` lists the games.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import ale_py
import ale_py.roms as roms
import gym
import numpy as np
from gym import spaces
from gym.utils import seeding
from tf_agents.environments import py_environment, suite_atari
from tf_agents.environments.atari_preprocessing import AtariPreprocessing
from tf_agents.environments.atari_wrappers import FrameStack4

from tfa_recipes.envs.atari_games import (
    available_games,
    environment_name,
    game_roms,
)

FIRE = 1
NOOP = 0


class AtariEnv(gym.Env):
    """gym 0.21's `gym.envs.atari.AtariEnv`, over ale-py's ALEInterface.

    `frameskip` is an int or a (low, high) range sampled per step, as in gym; `-v4` ids
    have no sticky actions, so with `NoFrameskip` the emulator is deterministic: the seed
    only matters to the stochastic frame skip and to sticky actions (`-v0`).
    """

    metadata = {"render.modes": ["human", "rgb_array"]}

    def __init__(
        self,
        game: str = "pong",
        mode: int | None = None,
        difficulty: int | None = None,
        obs_type: str = "image",
        frameskip: int | tuple[int, int] = (2, 5),
        repeat_action_probability: float = 0.0,
        full_action_space: bool = False,
    ) -> None:
        if obs_type not in ("image", "ram"):
            raise ValueError(f"obs_type must be 'image' or 'ram', got {obs_type!r}")
        self.game, self.game_mode, self.game_difficulty = game, mode, difficulty
        self.game_path = _rom_path(game)
        self._obs_type = obs_type
        self.frameskip = frameskip
        self.ale = ale_py.ALEInterface()
        self.ale.setFloat("repeat_action_probability", repeat_action_probability)
        self.viewer = None
        self.seed()
        self._action_set = (
            self.ale.getLegalActionSet() if full_action_space else self.ale.getMinimalActionSet()
        )
        self.action_space = spaces.Discrete(len(self._action_set))
        if obs_type == "ram":
            self.observation_space = spaces.Box(
                low=0, high=255, dtype=np.uint8, shape=(self.ale.getRAMSize(),)
            )
        else:
            height, width = self.ale.getScreenDims()
            self.observation_space = spaces.Box(
                low=0, high=255, dtype=np.uint8, shape=(height, width, 3)
            )

    def seed(self, seed: int | None = None) -> list[int]:
        """Seed the frame-skip RNG and the ALE; like gym, this reloads the ROM."""
        self.np_random, seed1 = seeding.np_random(seed)
        # The ALE takes the seed as an int32.
        seed2 = seeding.hash_seed(seed1 + 1) % 2**31
        self.ale.setInt("random_seed", seed2)
        self.ale.loadROM(self.game_path)
        if self.game_mode is not None:
            self.ale.setMode(self.game_mode)
        if self.game_difficulty is not None:
            self.ale.setDifficulty(self.game_difficulty)
        return [seed1, seed2]

    def step(self, action: int) -> tuple[np.ndarray, float, bool, dict[str, Any]]:
        if isinstance(self.frameskip, int):
            num_steps = self.frameskip
        else:
            num_steps = int(self.np_random.integers(self.frameskip[0], self.frameskip[1]))
        ale_action = self._action_set[int(action)]
        reward = 0.0
        for _ in range(num_steps):
            reward += self.ale.act(ale_action)
        return self._get_obs(), reward, self.ale.game_over(), {"ale.lives": self.ale.lives()}

    def reset(
        self, *, seed: int | None = None, return_info: bool = False, options: dict | None = None
    ) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self.seed(seed)
        self.ale.reset_game()
        observation = self._get_obs()
        return (observation, {"ale.lives": self.ale.lives()}) if return_info else observation

    def render(self, mode: str = "human") -> np.ndarray | bool | None:
        image = self.ale.getScreenRGB()
        if mode == "rgb_array":
            return image
        if mode == "human":
            from gym.envs.classic_control import rendering

            if self.viewer is None:
                self.viewer = rendering.SimpleImageViewer()
            self.viewer.imshow(image)
            return self.viewer.isopen
        raise ValueError(f"render mode must be 'human' or 'rgb_array', got {mode!r}")

    def close(self) -> None:
        if self.viewer is not None:
            self.viewer.close()
            self.viewer = None

    def get_action_meanings(self) -> list[str]:
        return [action.name for action in self._action_set]

    def clone_state(self) -> ale_py.ALEState:
        return self.ale.cloneState()

    def restore_state(self, state: ale_py.ALEState) -> None:
        self.ale.restoreState(state)

    def _get_obs(self) -> np.ndarray:
        return self.ale.getRAM() if self._obs_type == "ram" else self.ale.getScreenRGB()


def _rom_path(game: str) -> str:
    if game not in roms.get_all_rom_ids():
        raise ValueError(f"ale-py ships no ROM named {game!r}")
    return str(roms.get_rom_path(game))


def register_gym_ids() -> None:
    """Register gym 0.21's six ids per game and observation type, as gym registered them.

    `<Game>-v0/-v4`: frame skip sampled from 2..4; `Deterministic`: 4 (3 for Space
    Invaders); `NoFrameskip`: 1. `-v0` repeats the previous action with probability 0.25.
    An id that is already registered (another bridge, a newer gym) is left alone.
    """
    specs = gym.envs.registry.env_specs
    for name, rom in game_roms().items():
        deterministic_skip = 3 if rom == "space_invaders" else 4
        for obs_type in ("image", "ram"):
            prefix = name if obs_type == "image" else f"{name}-ram"
            for version, sticky in (("v0", 0.25), ("v4", 0.0)):
                for mode, frameskip, max_episode_steps in (
                    ("", (2, 5), 10000 if version == "v0" else 100000),
                    ("Deterministic", deterministic_skip, 100000),
                    ("NoFrameskip", 1, deterministic_skip * 100000),
                ):
                    env_id = f"{prefix}{mode}-{version}"
                    if env_id in specs:
                        continue
                    gym.envs.registration.register(
                        id=env_id,
                        entry_point="tfa_recipes.envs.atari:AtariEnv",
                        kwargs={
                            "game": rom,
                            "obs_type": obs_type,
                            "frameskip": frameskip,
                            "repeat_action_probability": sticky,
                        },
                        max_episode_steps=max_episode_steps,
                        nondeterministic=rom == "elevator_action" and obs_type == "ram",
                    )


class AtariPreprocessingWithAutoFire(AtariPreprocessing):
    """Hands-On ML's wrapper: FIRE at the start of a game and after each lost life.

    Breakout does nothing until FIRE is pressed; an agent takes very long to learn that
    pressing it is worth it, because at first it only seems to make it lose faster.
    """

    def reset(self, **kwargs: Any) -> np.ndarray:
        obs = super().reset(**kwargs)
        super().step(FIRE)
        return obs

    def step(self, action: int) -> tuple[np.ndarray, float, bool, dict[str, Any]]:
        lives_before_action = self.ale.lives()
        obs, rewards, done, info = super().step(action)
        if self.ale.lives() < lives_before_action and not done:
            super().step(FIRE)
        return obs, rewards, done, info


class AtariPreprocessingWithSkipStart(AtariPreprocessing):
    """Hands-On ML's Space Invaders wrapper: skip the ~40 steps of blinking, in which
    nothing can happen, at the start of a game and after each lost life."""

    num_skip = 40

    def skip_frames(self, num_skip: int) -> None:
        for _ in range(num_skip):
            super().step(NOOP)

    def reset(self, **kwargs: Any) -> np.ndarray:
        obs = super().reset(**kwargs)
        self.skip_frames(self.num_skip)
        return obs

    def step(self, action: int) -> tuple[np.ndarray, float, bool, dict[str, Any]]:
        lives_before_action = self.ale.lives()
        obs, rewards, done, info = super().step(action)
        if self.ale.lives() < lives_before_action and not done:
            self.skip_frames(self.num_skip)
        return obs, rewards, done, info


# The book's choice per game: Breakout waits for FIRE, Space Invaders starts by itself
# after a pause. Other games get the auto-FIRE wrapper only if FIRE is one of their actions.
PREPROCESSING_BY_GAME: dict[str, type[AtariPreprocessing]] = {
    "Breakout": AtariPreprocessingWithAutoFire,
    "SpaceInvaders": AtariPreprocessingWithSkipStart,
}


def preprocessing_for(game: str) -> type[AtariPreprocessing]:
    if game in PREPROCESSING_BY_GAME:
        return PREPROCESSING_BY_GAME[game]
    probe = AtariEnv(game_roms()[game], frameskip=1)
    uses_fire = "FIRE" in probe.get_action_meanings()[:2]
    probe.close()
    return AtariPreprocessingWithAutoFire if uses_fire else AtariPreprocessing


def load_atari(
    game: str,
    *,
    seed: int | None = None,
    max_episode_steps: int = 27000,
    gym_env_wrappers: Sequence[Any] | None = None,
) -> py_environment.PyEnvironment:
    """The book's `suite_atari.load(f"{game}NoFrameskip-v4", max_episode_steps=27000,
    gym_env_wrappers=[<the game's preprocessing>, FrameStack4])`, seeded.

    Observations are 84x84x4 uint8 (the last four preprocessed frames); one step is four
    ALE frames, so 27,000 steps are the 108,000 frames (30 minutes) of the usual limit.
    """
    env_id = environment_name(game)
    if gym_env_wrappers is None:
        gym_env_wrappers = [preprocessing_for(game), FrameStack4]
    env = suite_atari.load(
        env_id, max_episode_steps=max_episode_steps, gym_env_wrappers=gym_env_wrappers
    )
    if seed is not None:
        env.seed(seed)
    return env


register_gym_ids()


if __name__ == "__main__":
    print("\n".join(available_games()))
    print(
        f"{len(available_games())} games; load one with --game <name> "
        "(gym id <name>NoFrameskip-v4)",
        file=sys.stderr,
    )
