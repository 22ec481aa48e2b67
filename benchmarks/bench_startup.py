"""How long a command takes to answer before it trains: `--help`, a refused flag, and
`python -m tfa_recipes list`, beside `import tensorflow` alone, each a fresh process.

Flags are read and refused before TensorFlow loads (the recipes' configs and the command
line import none of it), so each of these should take well under half of TensorFlow's own
import. Each command runs `--repeats` times, one after the other; the table gives the
median and the fastest, and the one-minute load average before the first.

    .venv/bin/python benchmarks/bench_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from timing import REPO

COMMANDS = {
    "import tensorflow": [sys.executable, "-c", "import tensorflow"],
    "dqn_cartpole --help": [sys.executable, "-m", "tfa_recipes.dqn_cartpole", "--help"],
    "dqn_cartpole --seed abc": [sys.executable, "-m", "tfa_recipes.dqn_cartpole", "--seed", "abc"],
    "dqn_breakout --game Nope": [
        sys.executable, "-m", "tfa_recipes.dqn_breakout", "--game", "Nope"
    ],
    "tfa_recipes list": [sys.executable, "-m", "tfa_recipes", "list"],
}


def seconds_of(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=REPO, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {args.repeats} runs each")
    medians = {}
    print(f"{'command':<28} {'median s':>9} {'fastest s':>10} {'of import tensorflow':>21}")
    for name, argv in COMMANDS.items():
        times = [seconds_of(argv) for _ in range(args.repeats)]
        medians[name] = statistics.median(times)
        ratio = medians[name] / medians["import tensorflow"]
        print(f"{name:<28} {medians[name]:>9.2f} {min(times):>10.2f} {ratio:>20.2f}x")
    slow = [name for name in COMMANDS if name != "import tensorflow"
            and medians[name] >= 0.5 * medians["import tensorflow"]]
    print("goal (each under half of import tensorflow):", "met" if not slow else f"missed: {slow}")


if __name__ == "__main__":
    main()
