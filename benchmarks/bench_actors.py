"""A run with actors against the single process, and what Reverb's gRPC costs per item.

Part 1 runs `dqn_cartpole` and `dqn_breakout` with 0 (the single process), 1 and 2
actors, each in a fresh process, and prints environment steps and updates (train steps)
per second of the training loop, and the whole process's wall time. "env steps/s" is
every step of the run, the random warm-up's included, over the loop's seconds (the
warm-up runs before the loop); "updates/s" counts the loop's train steps only. Breakout runs a
short version of the book's set-up (a warm-up of 2,000 random steps, 300 iterations of 4
steps and one update, short episodes), enough to see the rates.

Part 2 measures, with the table served by another process as in a run with actors, the
CPU time of the two things that cross the process boundary: an actor's insert of one
CartPole step (`ReverbAddTrajectoryObserver`, flushed as the actors flush) and the
learner's batch of 64 2-step items (`ReverbReplay.dataset` over gRPC), beside the batch
drawn in-process. These give the scaling model in the README.

    python benchmarks/bench_actors.py [--skip-runs] [--skip-breakout]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import REPO, time_batches

CARTPOLE = ("--num-iterations", "5000", "--eval-interval", "5000", "--log-interval", "5000")
BREAKOUT = (
    "--num-iterations", "300", "--eval-interval", "300", "--log-interval", "300",
    "--checkpoint-interval", "300", "--initial-collect-steps", "2000",
    "--max-episode-steps", "500", "--num-eval-episodes", "2",
)


def run_recipe(module: str, flags: tuple[str, ...], actors: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        load = os.getloadavg()[0]
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", module, *flags, "--num-video-episodes", "0",
             "--actors", str(actors), "--run-dir", str(run_dir)],
            cwd=REPO, check=True, capture_output=True, text=True,
        )
        wall = time.perf_counter() - started
        summary = json.loads((run_dir / "summary.json").read_text())
    loop = summary["train_seconds"]
    return {
        "load": load,
        "wall": wall,
        "loop": loop,
        "env_steps_per_s": summary["environment_steps"] / loop,
        "updates_per_s": summary["iterations"] / loop,
        "return": summary["final_average_return"],
    }


SERVER = """
import sys, reverb, tensorflow as tf
from tf_agents.specs import tensor_spec
from tfa_recipes import replay
from tfa_recipes.dqn_cartpole import RECIPE, make_agent
from tfa_recipes.config import load_config
env = RECIPE.make_env(load_config(RECIPE.config_cls, RECIPE.name), 0)
config = load_config(RECIPE.config_cls, RECIPE.name)
agent = make_agent(config, tensor_spec.from_spec(env.time_step_spec()),
                   tensor_spec.from_spec(env.action_spec()))
table = replay.uniform_table(agent.collect_data_spec, max_size=100_000,
                             rate_limiter=reverb.rate_limiters.MinSize(1))
server = reverb.Server([table], port=int(sys.argv[1]))
print("ready", flush=True)
server.wait()
"""


def grpc_costs(items: int = 5000, batches: int = 2000) -> dict:
    from tf_agents.drivers import py_driver
    from tf_agents.policies import random_py_policy
    from tf_agents.specs import tensor_spec

    from tfa_recipes import distributed, replay
    from tfa_recipes.config import load_config
    from tfa_recipes.dqn_cartpole import RECIPE, make_agent

    config = load_config(RECIPE.config_cls, RECIPE.name)
    env = RECIPE.make_env(config, 0)
    time_step_spec = tensor_spec.from_spec(env.time_step_spec())
    agent = make_agent(config, time_step_spec, tensor_spec.from_spec(env.action_spec()))
    port = distributed.free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], cwd=REPO, stdout=subprocess.PIPE, text=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        address = f"127.0.0.1:{port}"
        table = replay.remote_replay(
            agent.collect_data_spec, address=address, sequence_length=2, write=True
        )
        policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
        no_write = py_driver.PyDriver(env, policy, [], max_steps=items)
        cpu = time.process_time()
        no_write.run(env.reset())
        step_only = time.process_time() - cpu
        writer = table.observer._get_writer()

        def observe(trajectory) -> None:
            table.observer(trajectory)
            writer.flush(block_until_num_items=distributed.PENDING_ITEMS)

        cpu = time.process_time()
        py_driver.PyDriver(env, policy, [observe], max_steps=items).run(env.reset())
        with_write = time.process_time() - cpu
        table.observer.flush()
        insert_us = 1e6 * (with_write - step_only) / items

        wall, cpu = time_batches(iter(table.dataset(batch_size=64, num_steps=2)), batches)
        sample_cpu_ms, sample_wall_ms = 1e3 * cpu / batches, 1e3 * wall / batches
        table.close()
    finally:
        server.terminate()
        server.wait()
    return {
        "insert_us": insert_us,
        "sample_cpu_ms": sample_cpu_ms,
        "sample_wall_ms": sample_wall_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-runs", action="store_true", help="part 2 only")
    parser.add_argument("--skip-breakout", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    print(f"CPU cores: {os.cpu_count()}")
    if not args.skip_runs:
        recipes = [("tfa_recipes.dqn_cartpole", CARTPOLE)]
        if not args.skip_breakout:
            recipes.append(("tfa_recipes.dqn_breakout", BREAKOUT))
        print(f"{'recipe':14} {'actors':>6} {'load':>5} {'process s':>9} {'loop s':>7} "
              f"{'env steps/s':>11} {'updates/s':>9} {'return':>7}")
        for module, flags in recipes:
            for actors in (0, 1, 2):
                row = run_recipe(module, flags, actors)
                print(f"{module.split('.')[-1]:14} {actors:6d} {row['load']:5.2f} "
                      f"{row['wall']:9.1f} {row['loop']:7.1f} {row['env_steps_per_s']:11.0f} "
                      f"{row['updates_per_s']:9.0f} {row['return']:7.1f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}; the table in another process:")
    costs = grpc_costs()
    print(f"  insert of one CartPole step (ReverbAddTrajectoryObserver, flushed): "
          f"{costs['insert_us']:.0f} us of the actor's CPU")
    print(f"  batch of 64 2-step items over gRPC: {costs['sample_cpu_ms']:.2f} ms of the "
          f"learner's CPU, {costs['sample_wall_ms']:.2f} ms wall")


if __name__ == "__main__":
    main()
