"""The whole loop in the graph: `dqn_cartpole_classic --env-name tf:CartPole-v0` against the
DQN tutorial's code and Stable-Baselines3's DQN, on the DQN tutorial's work, each side a
fresh process, one after the other.

The work: CartPole-v0, 100 random steps, then `--num-iterations` iterations of one
environment step and one update of batch 64 (replay 100,000, Adam 1e-3, the target network
copied every update, epsilon 0.1), and 10 evaluation episodes every 1,000 iterations.
- the tutorial's code: `bench_dqn_cartpole.py`'s copy of the tutorial's cells (its
  Sequential (100, 50) Q-network, Reverb and PyDriver), eager evaluation;
- Stable-Baselines3 2.9.2 DQN with a CPU torch 2.13.0, net_arch [100] (the older
  notebook's QNetwork), from PyPI into `benchmarks/.venvs/sb3` (created here on first use,
  never the project's virtualenv): `peers/sb3_dqn.py` states its settings;
- `dqn_cartpole_classic` on gym (the notebook's TFUniformReplayBuffer and
  DynamicStepDriver, the environment stepped through TFPyEnvironment) and on
  `tf:CartPole-v0` (the same pieces, the environment in the graph too);
- `dqn_cartpole --env-name tf:CartPole-v0` (the tutorial's Reverb table, in-graph step).

Prints each side's whole-process and loop seconds, start-up, finish, environment steps per
second, peak RSS, final return, the load average before it, and the ratios of the
tutorial's and SB3's whole processes to each side's. Run it on an idle machine:

    .venv/bin/python benchmarks/bench_tf_native.py [--num-iterations 20000] [--seed 0]
        [--skip-tutorial] [--skip-sb3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from timing import REPO, print_table, recipe_side, script_side, tutorial_side

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".venvs" / "sb3"
PEER_PACKAGES = ("stable-baselines3==2.9.2", "torch==2.13.0", "gymnasium==1.3.0")


def peer_python() -> str:
    """The peer's own virtualenv, created from PyPI on first use."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"setting up {PEER_VENV} ({', '.join(PEER_PACKAGES)})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES], check=True
        )
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-iterations", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-tutorial", action="store_true")
    parser.add_argument("--skip-sb3", action="store_true")
    args = parser.parse_args()
    n, seed = args.num_iterations, args.seed
    rows = {}
    if not args.skip_tutorial:
        rows["tutorial's code"] = tutorial_side(str(HERE / "bench_dqn_cartpole.py"), n, seed)
    if not args.skip_sb3:
        rows["SB3 DQN"] = script_side(
            [peer_python(), str(HERE / "peers" / "sb3_dqn.py"), "--num-iterations", str(n),
             "--seed", str(seed)]
        )
    sides = (
        ("dqn_cartpole_classic",),
        ("dqn_cartpole_classic", "--env-name", "tf:CartPole-v0"),
        ("dqn_cartpole", "--env-name", "tf:CartPole-v0"),
    )
    for name, *flags in sides:
        rows[" ".join([name, *flags])] = recipe_side(name, n, seed, *flags)
    print_table(f"CartPole DQN, {n} iterations, seed {seed} ({REPO.name})", rows,
                baseline=next(iter(rows)))
    if "SB3 DQN" in rows:
        sb3 = rows["SB3 DQN"]["process"]
        for name, row in rows.items():
            print(f"{name:55} {sb3 / row['process']:6.2f}x SB3's whole process")


if __name__ == "__main__":
    main()
