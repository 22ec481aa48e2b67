"""What the CartPole benchmarks share: each side in a fresh process, timed whole.

A side is a command: the tutorial's loop as the tutorial writes it (the benchmark script
itself with `--side tutorial`), or a recipe through its real command line
(`python -m tfa_recipes.<name> ... --num-video-episodes 0`, the tutorials' timed cells
film nothing). For each side the table gives the whole process's wall time (what a user
waits for), its loop, start-up (process start to the first iteration) and finish (export,
plot) seconds, environment steps per second, peak RSS and the one-minute load average
just before it started. The scripts import this from their own folder (`python
benchmarks/...` puts that folder first on the path).
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

REPO = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH "


def report(**figures: float) -> None:
    """A tutorial side's last line: its loop seconds, env steps and final return."""
    print(RESULT_PREFIX + json.dumps(figures), flush=True)


def _timed(argv: list[str]) -> tuple[float, int, str, float]:
    """(wall seconds, peak RSS in MB, stdout, load before) of `argv` in a fresh process."""
    load = os.getloadavg()[0]
    # The side's library noise (the tutorial's code prints Reverb's lines) is kept out of
    # the table, and shown if the side fails.
    with tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO)
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            sys.stderr.write(stderr.read()[-3000:])
            sys.exit(f"error: {' '.join(argv)} exited with {process.returncode}")
    return seconds, usage.ru_maxrss // 1024, stdout, load


def tutorial_side(script: str, num_iterations: int, seed: int) -> dict:
    return script_side(
        [sys.executable, script, "--side", "tutorial", "--num-iterations", str(num_iterations),
         "--seed", str(seed)]
    )


def script_side(argv: list[str]) -> dict:
    """A side that reports itself (`report`): the tutorial's loop, or a peer's script run by
    the peer's own Python."""
    seconds, rss, stdout, load = _timed(argv)
    line = next(line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX))
    figures = json.loads(line[len(RESULT_PREFIX):])
    return {"process": seconds, "rss_mb": rss, "load": load, **figures}


def recipe_side(name: str, num_iterations: int, seed: int, *flags: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        seconds, rss, _, load = _timed(
            [sys.executable, "-m", f"tfa_recipes.{name}", "--num-iterations", str(num_iterations),
             "--seed", str(seed), "--num-video-episodes", "0", "--run-dir", str(run_dir), *flags]
        )
        summary = json.loads((run_dir / "summary.json").read_text())
        config = json.loads((run_dir / "config.json").read_text())
    phases = summary.get("phase_seconds", {})
    return {
        "process": seconds,
        "rss_mb": rss,
        "load": load,
        "seconds": summary["train_seconds"],
        # The loop's steps, as the tutorial side counts them (no warm-up collect).
        "env_steps": summary["environment_steps"] - config.get("initial_collect_steps", 0),
        "final_return": summary["final_average_return"],
        # Process start to the first iteration: imports, building, the warm-up collect.
        "startup": seconds - summary["wall_seconds"] + phases.get("startup", 0.0),
        "finish": phases.get("finish", float("nan")),
    }


def print_table(title: str, rows: dict[str, dict], baseline: str) -> None:
    """The figures of each side, and each recipe's ratio to `baseline` (whole process)."""
    width = max(len(name) for name in rows) + 2
    print(f"\n{title}  (CPU cores: {os.cpu_count()})")
    print(
        f"{'':{width}} {'process s':>10} {'loop s':>8} {'start s':>8} {'finish s':>9} "
        f"{'env steps/s':>12} {'RSS MB':>7} {'return':>7} {'load':>5} {'x ' + baseline:>14}"
    )
    base = rows[baseline]["process"]
    for name, row in rows.items():
        print(
            f"{name:{width}} {row['process']:10.1f} {row['seconds']:8.1f} "
            f"{row.get('startup', float('nan')):8.1f} {row.get('finish', float('nan')):9.1f} "
            f"{row['env_steps'] / row['seconds']:12.0f} {row['rss_mb']:7d} "
            f"{row['final_return']:7.1f} {row['load']:5.2f} {base / row['process']:13.2f}x"
        )


def compare(
    script: str,
    description: str,
    tutorial_loop,
    recipes: tuple[str | tuple[str, ...], ...],
    *,
    default_iterations: int,
    title: str,
    baseline_name: str = "tutorial's code",
    skippable: bool = False,
) -> None:
    """A benchmark script's main: `--side tutorial` runs `tutorial_loop(iterations, seed)`
    in this process and reports it; otherwise the tutorial side and each recipe run in
    fresh processes and the table is printed. A recipe is a name, or a name and its flags
    (`("dqn_cartpole", "--driver", "py")`), shown as a row of its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--num-iterations", type=int, default=default_iterations)
    parser.add_argument("--seed", type=int, default=0)
    if skippable:
        parser.add_argument(
            "--skip-notebook", action="store_true", help="time the recipes only (the "
            "notebook's eager loop takes several times longer)"
        )
    parser.add_argument("--side", choices=("tutorial",), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "tutorial":
        report(**tutorial_loop(args.num_iterations, args.seed))
        return
    rows = {}
    if not getattr(args, "skip_notebook", False):
        rows[baseline_name] = tutorial_side(script, args.num_iterations, args.seed)
    for recipe in recipes:
        name, *flags = (recipe,) if isinstance(recipe, str) else recipe
        rows[" ".join([name, *flags])] = recipe_side(name, args.num_iterations, args.seed, *flags)
    print_table(
        f"{title}, {args.num_iterations} iterations, seed {args.seed}", rows,
        baseline=next(iter(rows)),
    )


def time_batches(iterator, batches: int) -> tuple[float, float]:
    """(wall, CPU) seconds to draw `batches` batches of (experience, info) from `iterator`
    inside one compiled loop, so no Python runs per batch (after 20 to warm it up)."""
    import tensorflow as tf

    @tf.function(autograph=False)
    def draw(count):
        def body(i, total):
            experience, _ = next(iterator)
            return i + 1, total + tf.reduce_sum(experience.reward)

        return tf.while_loop(lambda i, _: i < count, body, (0, 0.0))[1]

    draw(tf.constant(20)).numpy()
    cpu, wall = time.process_time(), time.perf_counter()
    draw(tf.constant(batches)).numpy()
    return time.perf_counter() - wall, time.process_time() - cpu
