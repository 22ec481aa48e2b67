"""Stable-Baselines3's DQN on the DQN tutorial's work, run by the peer virtualenv's Python
(`bench_tf_native.py` creates it; never the project's).

The same work as the tutorial and `dqn_cartpole_classic`: CartPole-v0 (Gymnasium's, 200
steps), a Q-network of one hidden Dense layer of 100 (the older notebook's QNetwork),
batch 64, replay 100,000, Adam 1e-3, gamma 0.99, 100 random steps first, then one
environment step and one update per iteration (train_freq 1, gradient_steps 1), the target
network copied after every update (DqnAgent's target_update_period 1, tau 1), epsilon 0.1
throughout, and 10 evaluation episodes every 1,000 iterations (20 in all) plus one at 0.
Prints the loop's seconds, environment steps and final return as the benchmark's last line.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium
import numpy as np
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor


class Evaluations(BaseCallback):
    def __init__(self, env, every: int, episodes: int) -> None:
        super().__init__()
        self.env, self.every, self.episodes, self.returns = env, every, episodes, []

    def evaluate(self) -> None:
        mean, _ = evaluate_policy(self.model, self.env, n_eval_episodes=self.episodes)
        self.returns.append(float(mean))

    def _on_step(self) -> bool:
        # Iterations after the warm-up, as the tutorial counts them.
        iteration = self.num_timesteps - self.model.learning_starts
        if iteration > 0 and iteration % self.every == 0:
            self.evaluate()
        return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-iterations", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = gymnasium.make("CartPole-v0")
    eval_env = Monitor(gymnasium.make("CartPole-v0"))
    warm_up = 100
    model = DQN(
        "MlpPolicy",
        env,
        learning_rate=1e-3,
        buffer_size=100_000,
        learning_starts=warm_up,
        batch_size=64,
        tau=1.0,
        gamma=0.99,
        train_freq=1,
        gradient_steps=1,
        target_update_interval=1,
        exploration_fraction=1e-9,
        exploration_initial_eps=0.1,
        exploration_final_eps=0.1,
        policy_kwargs={"net_arch": [100]},
        seed=args.seed,
        device="cpu",
        verbose=0,
    )
    callback = Evaluations(eval_env, every=1000, episodes=10)
    started = time.perf_counter()
    callback.init_callback(model)
    callback.evaluate()
    model.learn(total_timesteps=warm_up + args.num_iterations, callback=callback)
    seconds = time.perf_counter() - started
    print("BENCH " + json.dumps({
        "seconds": seconds,
        "env_steps": args.num_iterations,
        "final_return": callback.returns[-1],
        "evaluations": len(callback.returns),
        "mean_of_last_5": float(np.mean(callback.returns[-5:])),
    }), flush=True)


if __name__ == "__main__":
    main()
