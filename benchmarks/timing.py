"""What the CartPole benchmarks share: timing a recipe through `Recipe.train` and the
table they print. The scripts import it from their own folder (`python benchmarks/...`
puts that folder first on the path)."""

from __future__ import annotations

import importlib
import os
import tempfile
import time
from pathlib import Path

import tfa_recipes  # noqa: F401  (headless set-up before TensorFlow loads)
from tfa_recipes.config import load_config
from tfa_recipes.runs import RunDir


def recipe_run(name: str, num_iterations: int, seed: int) -> dict:
    """A recipe through its real entry point, without the videos (the tutorials' timed
    cells have none); its evaluation, checkpoints, metrics, plot and exported policy are in."""
    module = importlib.import_module(f"tfa_recipes.{name}")
    config = load_config(
        module.Config, name, num_iterations=num_iterations, seed=seed, num_video_episodes=0
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / "run")
        run.claim(name)
        started = time.perf_counter()
        summary = module.RECIPE.train(config, run)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "env_steps": summary["environment_steps"] - config.initial_collect_steps,
        "final_return": summary["final_average_return"],
    }


def print_table(title: str, rows: dict[str, dict], load_before: float) -> None:
    """Seconds, environment steps per second and final return of each row."""
    width = max(len(name) for name in rows) + 2
    print(f"\n{title}")
    print(f"{'':{width}} {'seconds':>9} {'env steps/s':>12} {'final return':>13}")
    for name, row in rows.items():
        print(
            f"{name:{width}} {row['seconds']:9.1f} {row['env_steps'] / row['seconds']:12.0f} "
            f"{row['final_return']:13.1f}"
        )
    print(f"CPU cores: {os.cpu_count()}, load average before: {load_before:.2f}")
