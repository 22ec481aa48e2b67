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
import time
from typing import Any

import numpy as np

from tfa_recipes import media, progress
from tfa_recipes.cli import Script
from tfa_recipes.config import learning_rate_param, param
from tfa_recipes.envs import make_gym
from tfa_recipes.runs import RunDir
from tfa_recipes.scratch import ScratchConfig, dqn, should_log
from tfa_recipes.scratch.episodes import film_episode, play_episode, random_mean_reward
from tfa_recipes.training import EVAL_SEED_OFFSET, RANDOM_SEED_OFFSET, set_seeds

TITLES = {"dqn": "DQN", "double": "Double DQN", "dueling": "Dueling Double DQN"}
# The sum of rewards of the book's last training episode, per variant (its notebook).
BOOK_LAST_EPISODE = {"dqn": 200.0, "double": 55.0, "dueling": 200.0}


@dataclasses.dataclass(frozen=True)
class Config(ScratchConfig):
    variant: str = param("which network and targets", choices=dqn.VARIANTS)
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


def run(config: Config, run_dir: RunDir) -> dict[str, Any]:
    set_seeds(config.seed)
    env = make_gym(config.env_name, seed=config.seed)
    agent = dqn.DeepQNetwork(
        config.variant,
        env.observation_space.shape[0],
        env.action_space.n,
        learning_rate=config.learning_rate,
        discount_rate=config.discount_rate,
    )

    def report(episode: int, total: float, epsilon: float) -> None:
        if should_log(episode, config.n_episodes, times=20):
            print(f"Episode: {episode}, Steps: {total:.0f}, eps: {epsilon:.3f}")

    started = time.perf_counter()
    with progress.counting(report, config.n_episodes, desc="training", unit="episode") as tracked:
        result = dqn.train(
            agent,
            env,
            n_episodes=config.n_episodes,
            n_max_steps=config.n_max_steps,
            batch_size=config.batch_size,
            replay_memory_maxlen=config.replay_memory_maxlen,
            epsilon_decay_episodes=config.epsilon_decay_episodes,
            epsilon_min=config.epsilon_min,
            training_start_episode=config.training_start_episode,
            target_update_episodes=config.target_update_episodes,
            report=tracked,
        )
    train_seconds = time.perf_counter() - started
    print(
        f"restored the weights of episode {result.best_episode} "
        f"({result.best_score:.0f} steps)"
    )
    random_reward = random_mean_reward(
        lambda seed: make_gym(config.env_name, seed=seed), config.n_eval_episodes,
        config.seed + RANDOM_SEED_OFFSET, config.n_max_steps, config.seed,
    )
    media.plot_curve(
        result.rewards, run_dir.path / "rewards.png", xlabel="Episode",
        ylabel="Sum of rewards", title=TITLES[config.variant],
        references={
            "random policy": random_reward,
            "book's last episode": BOOK_LAST_EPISODE[config.variant],
        },
    )
    eval_totals = []
    for index in range(config.n_eval_episodes):
        env.seed(config.seed + EVAL_SEED_OFFSET + index)
        episode = play_episode(env, agent.epsilon_greedy_policy, config.n_max_steps)
        eval_totals.append(episode.total_reward)
    print(
        f"restored greedy agent: mean reward {np.mean(eval_totals):.1f} "
        f"over {config.n_eval_episodes} episodes"
    )
    env.seed(config.seed)
    filmed = film_episode(
        env, agent.epsilon_greedy_policy, config.n_max_steps,
        run_dir.video(f"{config.variant}-agent", config.video_format), fps=config.video_fps,
    )
    env.close()
    return {
        "variant": config.variant,
        "last_episode_reward": result.rewards[-1],
        "best_score": result.best_score,
        "best_episode": result.best_episode,
        "eval_average_reward": float(np.mean(eval_totals)),
        "eval_rewards": eval_totals,
        "random_mean_reward": random_reward,
        "filmed_episode_reward": filmed.total_reward,
        "final_loss": result.losses[-1] if result.losses else None,
        "rewards": result.rewards,
        "environment_steps": int(sum(result.rewards)),
        "train_seconds": train_seconds,
    }


RECIPE = Script(
    name="dqn_scratch",
    description="DQN, Double DQN or Dueling Double DQN from scratch in Keras on CartPole.",
    config_cls=Config,
    body=run,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
