"""A run with actors against the single process, and what Reverb's gRPC costs per item.

Part 1 runs `dqn_cartpole` and `dqn_breakout` with 0 (the single process), 1 and 2
actors, each in a fresh process, and prints environment steps and updates (train steps)
per second of the training loop, and the whole process's wall time. "env steps/s" is
every step of the run, the random warm-up's included, over the loop's seconds (the
warm-up runs before the loop); "updates/s" counts the loop's train steps only. Breakout runs a
short version of the book's set-up (a warm-up of 2,000 random steps, 300 iterations of 4
steps and one update, short episodes), enough to see the rates. The rows with actors run
twice: under the local launcher and with `--cluster ray` (a local Ray instance started
for the run). "outside s" is the process's time outside the loop: start-up, the final
export and the stop of every process. "peak RSS" is the most memory the whole process
tree held at once (sampled every 0.5 s), "Ray" the part of it in Ray's own processes
(its servers, agents and the workers that hold the roles).

Part 2 measures, with the table served by another process as in a run with actors, the
CPU time of the two things that cross the process boundary: an actor's insert of one
CartPole step (`ReverbAddTrajectoryObserver`, flushed as the actors flush) and the
learner's batch of 64 2-step items (`ReverbReplay.dataset` over gRPC), beside the batch
drawn in-process. These give the scaling model in the README.

Part 3 isolates one actor's collection rate on one core: the CPU time of an environment
step with the random policy, with the recipe's collect policy (a compiled
`PyTFEagerPolicy`, as the actors run it), and with that policy and its insert into a
table in another process, for CartPole and Breakout.

    python benchmarks/bench_actors.py [--skip-runs] [--skip-breakout] [--skip-ray]
        [--runs-only] [--cartpole-iterations N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from timing import REPO, time_batches

CARTPOLE = ("--eval-interval", "5000", "--log-interval", "5000")
BREAKOUT = (
    "--num-iterations", "300", "--eval-interval", "300", "--log-interval", "300",
    "--checkpoint-interval", "300", "--initial-collect-steps", "2000",
    "--max-episode-steps", "500", "--num-eval-episodes", "2",
)


def run_recipe(module: str, flags: tuple[str, ...], actors: int, cluster: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        load = os.getloadavg()[0]
        started = time.perf_counter()
        cluster_flags = ("--cluster", cluster) if actors else ()
        process = subprocess.Popen(
            [sys.executable, "-m", module, *flags, "--num-video-episodes", "0",
             "--actors", str(actors), *cluster_flags, "--run-dir", str(run_dir)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        memory = PeakMemory(process.pid)
        _, stderr = process.communicate()
        wall = time.perf_counter() - started
        memory.stop()
        if process.returncode != 0:
            sys.exit(f"error: {module} --actors {actors} --cluster {cluster}: {stderr[-2000:]}")
        summary = json.loads((run_dir / "summary.json").read_text())
    loop = summary["train_seconds"]
    return {
        "load": load,
        "wall": wall,
        "loop": loop,
        "env_steps_per_s": summary["environment_steps"] / loop,
        "updates_per_s": summary["iterations"] / loop,
        "return": summary["final_average_return"],
        "rss_mb": memory.peak / 2**20,
        "ray_rss_mb": memory.ray_at_peak / 2**20,
    }


class PeakMemory(threading.Thread):
    """The most resident memory a process and everything below it held at once, and how
    much of that was in Ray's processes (`ray::...` workers, and the programs of Ray's
    package: gcs_server, raylet, the monitors, the agents)."""

    PAGE = os.sysconf("SC_PAGE_SIZE")

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.ray_at_peak = pid, 0, 0
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(0.5):
            total = ray = 0
            for pid in self.tree():
                try:
                    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.PAGE
                    command = Path(f"/proc/{pid}/cmdline").read_bytes()
                except (OSError, IndexError, ValueError):
                    continue
                total += rss
                if command.startswith(b"ray::") or b"/site-packages/ray/" in command:
                    ray += rss
            if total > self.peak:
                self.peak, self.ray_at_peak = total, ray

    def tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
        found, todo = [self.pid], [self.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                found.append(child)
                todo.append(child)
        return found

    def stop(self) -> None:
        self.done.set()
        self.join()


# A table for the recipe's items (argv: port, recipe), without a rate limiter.
SERVER = """
import sys, reverb
from tfa_recipes.blocks import replay
from tfa_recipes.registry import get
from bench_actors import recipe_agent
_, agent = recipe_agent(get(sys.argv[2]))
table = replay.uniform_table(agent.collect_data_spec, max_size=20_000,
                             rate_limiter=reverb.rate_limiters.MinSize(1))
server = reverb.Server([table], port=int(sys.argv[1]))
print("ready", flush=True)
server.wait()
"""


def recipe_agent(recipe):
    """The recipe's environment (seed 0) and agent at its recipe file's values, as the
    roles of a run with actors build them."""
    from tfa_recipes.config import load_config
    from tfa_recipes.distributed.agent import agent_for

    return agent_for(recipe, load_config(recipe.config_cls, recipe.name), 0)


class TableServer:
    """The recipe's table served by another process, as in a run with actors."""

    def __init__(self, recipe_name: str) -> None:

        from tfa_recipes.distributed.network import free_port

        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port), recipe_name],
            cwd=REPO, stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)},
        )

    def __enter__(self) -> str:
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        return self.address

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait()


def grpc_costs(items: int = 5000, batches: int = 2000) -> dict:
    from tf_agents.drivers import py_driver
    from tf_agents.policies import random_py_policy

    from tfa_recipes.blocks import replay
    from tfa_recipes.distributed.actor import PENDING_ITEMS
    from tfa_recipes.dqn_cartpole import RECIPE

    env, agent = recipe_agent(RECIPE)
    with TableServer(RECIPE.name) as address:
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
            writer.flush(block_until_num_items=PENDING_ITEMS)

        cpu = time.process_time()
        py_driver.PyDriver(env, policy, [observe], max_steps=items).run(env.reset())
        with_write = time.process_time() - cpu
        table.observer.flush()
        insert_us = 1e6 * (with_write - step_only) / items

        wall, cpu = time_batches(iter(table.dataset(batch_size=64, num_steps=2)), batches)
        sample_cpu_ms, sample_wall_ms = 1e3 * cpu / batches, 1e3 * wall / batches
        table.close()
    return {
        "insert_us": insert_us,
        "sample_cpu_ms": sample_cpu_ms,
        "sample_wall_ms": sample_wall_ms,
    }


def actor_step_costs(recipe_name: str, steps: int) -> dict:
    """CPU milliseconds per environment step of one actor: the environment with the random
    policy, with the collect policy, and with the collect policy and the flushed insert."""
    from tf_agents.drivers import py_driver
    from tf_agents.policies import random_py_policy

    from tfa_recipes.blocks import replay
    from tfa_recipes.blocks.policies import CompiledPyTFEagerPolicy
    from tfa_recipes.distributed.actor import PENDING_ITEMS
    from tfa_recipes.registry import get

    env, agent = recipe_agent(get(recipe_name))
    random_policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
    collect_policy = CompiledPyTFEagerPolicy(agent.collect_policy)
    # Traced before the clock starts, as an actor's warm-up traces it.
    py_driver.PyDriver(env, collect_policy, [], max_steps=10).run(env.reset())

    def cpu_ms(policy, observers) -> float:
        cpu = time.process_time()
        py_driver.PyDriver(env, policy, observers, max_steps=steps).run(env.reset())
        return 1e3 * (time.process_time() - cpu) / steps

    costs = {"env": cpu_ms(random_policy, []), "policy": cpu_ms(collect_policy, [])}
    with TableServer(recipe_name) as address:
        table = replay.remote_replay(
            agent.collect_data_spec, address=address, sequence_length=2, write=True
        )
        writer = table.observer._get_writer()

        def observe(trajectory) -> None:
            table.observer(trajectory)
            writer.flush(block_until_num_items=PENDING_ITEMS)

        costs["insert"] = cpu_ms(collect_policy, [observe])
        table.observer.flush()
        table.close()
    env.close()
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-runs", action="store_true", help="parts 2 and 3 only")
    parser.add_argument("--runs-only", action="store_true", help="part 1 only")
    parser.add_argument("--skip-breakout", action="store_true")
    parser.add_argument("--skip-ray", action="store_true", help="no --cluster ray rows")
    parser.add_argument("--cartpole-iterations", type=int, default=5000,
                        help="a shorter CartPole run, to check the rows work")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    print(f"CPU cores: {os.cpu_count()}")
    if not args.skip_runs:
        cartpole = (*CARTPOLE, "--num-iterations", str(args.cartpole_iterations))
        recipes = [("tfa_recipes.dqn_cartpole", cartpole)]
        if not args.skip_breakout:
            recipes.append(("tfa_recipes.dqn_breakout", BREAKOUT))
        clusters = ("local",) if args.skip_ray else ("local", "ray")
        print(f"{'recipe':14} {'cluster':7} {'actors':>6} {'load':>5} {'process s':>9} "
              f"{'loop s':>7} {'outside s':>9} {'env steps/s':>11} {'updates/s':>9} "
              f"{'return':>7} {'peak RSS MB':>11} {'Ray':>6}")
        for module, flags in recipes:
            for actors, cluster in [(0, "-")] + [(a, c) for c in clusters for a in (1, 2)]:
                row = run_recipe(module, flags, actors, cluster)
                print(f"{module.split('.')[-1]:14} {cluster:7} {actors:6d} {row['load']:5.2f} "
                      f"{row['wall']:9.1f} {row['loop']:7.1f} {row['wall'] - row['loop']:9.1f} "
                      f"{row['env_steps_per_s']:11.0f} {row['updates_per_s']:9.0f} "
                      f"{row['return']:7.1f} {row['rss_mb']:11.0f} {row['ray_rss_mb']:6.0f}",
                      flush=True)
    if args.runs_only:
        return
    print(f"load average {os.getloadavg()[0]:.2f}; the table in another process:")
    costs = grpc_costs()
    print(f"  insert of one CartPole step (ReverbAddTrajectoryObserver, flushed): "
          f"{costs['insert_us']:.0f} us of the actor's CPU")
    print(f"  batch of 64 2-step items over gRPC: {costs['sample_cpu_ms']:.2f} ms of the "
          f"learner's CPU, {costs['sample_wall_ms']:.2f} ms wall")
    print(f"load average {os.getloadavg()[0]:.2f}; one actor, CPU ms per environment step:")
    print(f"  {'recipe':14} {'env':>6} {'+policy':>8} {'+insert':>8} {'steps/s a core':>14}")
    for name, steps in (("dqn_cartpole", 5000), ("dqn_breakout", 2000)):
        if name == "dqn_breakout" and args.skip_breakout:
            continue
        step = actor_step_costs(name, steps)
        print(f"  {name:14} {step['env']:6.2f} {step['policy']:8.2f} {step['insert']:8.2f} "
              f"{1e3 / step['insert']:14.0f}", flush=True)


if __name__ == "__main__":
    main()
