"""A seed group against one seed: `dqn_cartpole_classic --env-name tf:CartPole-v0` at
`--num-iterations` (2,000) as one run (`--seed 0`), then as a group of `--seeds` (0-3, the
default jobs: what the cores and memory allow) two ways: every seed a process of its own
(`--process-per-seed`), and the default for a TF-native recipe, the seeds dealt to the
jobs' processes, each training its share on one set of compiled calls
(`loop.train.SharedLoop`). Each is a fresh process, one after the other. Prints the
whole-process times, the load average before each, and the ratios (the goal: the group of
four at most 2.5x one seed). Run it on an idle machine:

    .venv/bin/python benchmarks/bench_seed_groups.py [--num-iterations 2000] [--seeds 0-3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import REPO


def whole_process(argv: list[str]) -> tuple[float, float]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - started, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-iterations", type=int, default=2000)
    parser.add_argument("--seeds", default="0-3")
    args = parser.parse_args()
    common = [sys.executable, "-m", "tfa_recipes.dqn_cartpole_classic", "--env-name",
              "tf:CartPole-v0", "--num-iterations", str(args.num_iterations),
              "--num-video-episodes", "0"]
    with tempfile.TemporaryDirectory() as tmp:
        one, one_load = whole_process(
            [*common, "--seed", "0", "--run-dir", str(Path(tmp) / "one")]
        )
        group = [*common, "--seeds", args.seeds]
        apart, apart_load = whole_process(
            [*group, "--process-per-seed", "--run-dir", str(Path(tmp) / "apart")]
        )
        shared, shared_load = whole_process([*group, "--run-dir", str(Path(tmp) / "shared")])
    print(f"one seed: {one:.1f} s (load before {one_load:.2f})")
    print(f"seeds {args.seeds}, a process per seed: {apart:.1f} s (load before "
          f"{apart_load:.2f}): {apart / one:.2f}x one seed")
    print(f"seeds {args.seeds}, sharing compiled calls (the default): {shared:.1f} s (load "
          f"before {shared_load:.2f}): {shared / one:.2f}x one seed, {apart / shared:.2f}x "
          f"faster than a process per seed (goal <= 2.5x one seed; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
