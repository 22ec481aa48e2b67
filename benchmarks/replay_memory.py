"""Deque vs rotating list as a replay memory (Hands-On ML chapter 18, "Extra material").

Fills each memory with `--max-size` integers, then times one append and one random sample
of `--batch-size` items the notebook's way (`%timeit`: best-of loops, 7 runs), and prints
the figures beside the notebook's. A deque appends faster; its random access is O(n), so
sampling a large deque is slow where the rotating list's is O(1).

    python benchmarks/replay_memory.py [--max-size 1000000] [--batch-size 5]
"""

from __future__ import annotations

import argparse
import timeit
from collections import deque
from typing import Any

import numpy as np

from tfa_recipes.scratch.replay_memory import ReplayMemory

# The notebook's %timeit figures (seconds per loop) with max_size 1,000,000 and 5 samples.
NOTEBOOK = {
    "deque append": 47.4e-9,
    "deque sample": 182e-6,
    "ReplayMemory append": 519e-9,
    "ReplayMemory sample": 9.24e-6,
}


def per_loop(statement: str, namespace: dict[str, Any], repeat: int = 7) -> tuple[float, float]:
    """Mean and standard deviation over `repeat` runs of the seconds per loop, as %timeit."""
    timer = timeit.Timer(statement, globals=namespace)
    number, _ = timer.autorange()
    runs = np.array(timer.repeat(repeat=repeat, number=number)) / number
    return float(runs.mean()), float(runs.std())


def human(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-size", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5)
    args = parser.parse_args()
    np.random.seed(42)

    mem = deque(maxlen=args.max_size)
    for i in range(args.max_size):
        mem.append(i)
    rotating = ReplayMemory(max_size=args.max_size)
    for i in range(args.max_size):
        rotating.append(i)

    size, batch = args.max_size, args.batch_size
    namespace = {"np": np, "mem": mem, "rotating": rotating, "size": size, "batch": batch}
    figures = {
        "deque append": per_loop("mem.append(1)", namespace),
        "deque sample": per_loop(
            "[mem[i] for i in np.random.randint(size, size=batch)]", namespace
        ),
        "ReplayMemory append": per_loop("rotating.append(1)", namespace),
        "ReplayMemory sample": per_loop("rotating.sample(batch)", namespace),
    }
    print(f"max_size {size:,}, batch {batch}")
    print(f"{'per loop':22s} {'here':>22s} {'notebook (1,000,000, 5)':>24s}")
    for name, (mean, std) in figures.items():
        print(f"{name:22s} {human(mean):>10s} ± {human(std):>9s} {human(NOTEBOOK[name]):>24s}")
    ratios = {
        "sample time, deque / rotating list": ("deque sample", "ReplayMemory sample"),
        "append time, rotating list / deque": ("ReplayMemory append", "deque append"),
    }
    for label, (slow, fast) in ratios.items():
        print(f"{label}: {figures[slow][0] / figures[fast][0]:.1f} "
              f"(notebook: {NOTEBOOK[slow] / NOTEBOOK[fast]:.1f})")

if __name__ == "__main__":
    main()
