"""Playing gym environments with a policy function, one at a time or side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gym
import numpy as np

from tfa_recipes.output import media


@dataclass
class Episode:
    """One episode: what the policy saw, what it did, what it got (and optionally frames)."""

    observations: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)

    @property
    def total_reward(self) -> float:
        return float(sum(self.rewards))


def play_episode(
    env: gym.Env,
    policy: Callable[[np.ndarray], int],
    n_max_steps: int,
    *,
    render: bool = False,
) -> Episode:
    """Reset `env` and play `policy` until done or `n_max_steps` steps.

    With `render`, `frames` holds the reset frame and one frame after every step, as the
    notebook's `render_policy_net` films an episode.
    """
    episode = Episode()
    obs = env.reset()
    if render:
        episode.frames.append(env.render(mode="rgb_array"))
    for _ in range(n_max_steps):
        action = policy(obs)
        episode.observations.append(obs)
        episode.actions.append(action)
        obs, reward, done, _ = env.step(action)
        episode.rewards.append(reward)
        if render:
            episode.frames.append(env.render(mode="rgb_array"))
        if done:
            break
    return episode


def play_episodes(
    envs: Sequence[gym.Env],
    act: Callable[[np.ndarray], np.ndarray],
    n_max_steps: int,
) -> list[Episode]:
    """One episode in each of `envs`, side by side: `act` maps a batch of observations of
    the still-running environments to their actions, one call per step.

    The episodes are the ones `play_episode` would play one after another with the same
    policy; batching only saves a model call per environment per step.
    """
    episodes = [Episode() for _ in envs]
    observations = [env.reset() for env in envs]
    running = list(range(len(envs)))
    for _ in range(n_max_steps):
        if not running:
            break
        actions = np.asarray(act(np.array([observations[i] for i in running], np.float32)))
        still_running = []
        for index, action in zip(running, actions.reshape(-1), strict=True):
            episode = episodes[index]
            episode.observations.append(observations[index])
            episode.actions.append(int(action))
            observations[index], reward, done, _ = envs[index].step(int(action))
            episode.rewards.append(reward)
            if not done:
                still_running.append(index)
        running = still_running
    return episodes


def film_episode(
    env: gym.Env,
    policy: Callable[[np.ndarray], int],
    n_max_steps: int,
    path: Path,
    *,
    fps: int,
) -> Episode:
    """Play one episode, rendering every step, and write it to `path` (.mp4 or .gif)."""
    episode = play_episode(env, policy, n_max_steps, render=True)
    media.write_video(episode.frames, path, fps=fps)
    return episode


def random_mean_reward(
    make_env: Callable[[int], gym.Env], count: int, first_seed: int, n_max_steps: int, seed: int
) -> float:
    """The mean total reward of uniformly random actions (drawn from `seed`), one episode in
    each of `count` copies `make_env(first_seed + i)`, closed afterwards: the baseline a
    learning curve is read against."""
    envs = [make_env(first_seed + index) for index in range(count)]
    rng = np.random.default_rng(seed)
    n_actions = envs[0].action_space.n
    episodes = play_episodes(envs, lambda obs: rng.integers(n_actions, size=len(obs)), n_max_steps)
    for env in envs:
        env.close()
    return float(np.mean([sum(episode.rewards) for episode in episodes]))
