"""What one batch of DQN experience costs to sample from the tutorial's Reverb table.

`dqn_cartpole` draws a batch of 64 2-step items from the Reverb table at every one of its
20,000 iterations. This fills the tutorial's table (uniform sampler, FIFO remover,
MinSize(1), 100,000 items, `ReverbAddTrajectoryObserver(sequence_length=2)`) with
random CartPole steps, then times the batches alone, drawn inside one compiled loop so
no Python runs per batch, through:

- the recipe's dataset (`replay.ReverbReplay.dataset`: one stream, batched);
- the same with two sampler workers (`num_workers_per_iterator=2`): less wall time a
  batch, the same CPU time, and no faster as part of `dqn_cartpole`, whose 2 cores
  are busy with collection and updates as well;
- TF-Agents' `as_dataset(num_parallel_calls=3, sample_batch_size=64, num_steps=2)`, as
  the tutorial writes it;

and prints wall and CPU milliseconds per batch, per item, and what 20,000 batches cost:
the floor that sampling alone puts under the tutorial's work on this machine.

    python benchmarks/bench_replay_sampling.py [--items 5000] [--batches 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import time_batches  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="steps in the table")
    parser.add_argument("--batches", type=int, default=2000, help="batches timed per dataset")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import tensorflow as tf
    from tf_agents.drivers import py_driver
    from tf_agents.policies import random_py_policy
    from tf_agents.specs import tensor_spec

    from tfa_recipes.blocks import agents, networks, replay
    from tfa_recipes.envs.gym import load_gym

    env = load_gym("CartPole-v0", seed=0)
    time_step_spec = tensor_spec.from_spec(env.time_step_spec())
    action_spec = tensor_spec.from_spec(env.action_spec())
    agent = agents.dqn(
        time_step_spec,
        action_spec,
        networks.sequential_q_network(action_spec, (100, 50)),
        tf.keras.optimizers.Adam(1e-3),
    )
    rb = replay.reverb_replay(agent.collect_data_spec, max_size=100_000, sequence_length=2)
    policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
    py_driver.PyDriver(env, policy, [rb.observer], max_steps=args.items).run(env.reset())
    rb.observer.flush()
    print(f"load average {os.getloadavg()[0]:.2f}; {rb.num_items()} items in the table")

    datasets = {
        "recipe (one stream, batched)": rb.dataset(batch_size=args.batch_size, num_steps=2),
        "recipe, two sampler workers": rb.dataset(
            batch_size=args.batch_size, num_steps=2, sampler_workers=2
        ),
        "tutorial (as_dataset, 3 calls)": replay.experience_dataset(
            rb.replay_buffer, batch_size=args.batch_size, num_steps=2
        ),
    }
    print(f"{'dataset':32s} {'wall ms/batch':>14s} {'CPU ms/batch':>13s} {'CPU us/item':>12s}"
          f" {'20,000 batches, CPU s':>22s}")
    for name, dataset in datasets.items():
        wall, cpu = time_batches(iter(dataset), args.batches)
        per_batch = cpu / args.batches
        print(
            f"{name:32s} {1000 * wall / args.batches:14.3f} {1000 * per_batch:13.3f}"
            f" {1e6 * per_batch / args.batch_size:12.1f} {20_000 * per_batch:22.1f}"
        )
    rb.close()


if __name__ == "__main__":
    main()
