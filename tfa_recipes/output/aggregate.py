"""Results across seeds: what a seed group (or any set of runs of one recipe) reports.

RL results are stated across seeds, and papers now report the interquartile mean (IQM)
with stratified-bootstrap confidence intervals (Agarwal et al. 2021): rliable computes both,
so this module only gathers each run's figures and hands them to it.

For runs RUN...: per seed its final and best return and the first iteration whose
evaluation reached the recipe's published return; across seeds the mean, median and IQM
of the final and of the best returns with 95% bootstrap intervals of the mean and IQM, and
how many seeds reached the bar. `aggregate.csv` holds the curve (per evaluated iteration
the mean, IQM and their intervals over the seeds evaluated there); `returns.png` draws the
IQM curve with its band, every seed faint, the random policy and the tutorial's figure.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tfa_recipes.errors import RecipeError
from tfa_recipes.run.directory import RunDir, write_durably

CONFIDENCE = 0.95
BOOTSTRAP_REPS = 2000


def interval_estimates(
    scores: Sequence[float], *, reps: int = BOOTSTRAP_REPS, seed: int = 0
) -> dict[str, Any]:
    """Mean, median and IQM of `scores` (one per seed), with rliable's 95% stratified
    bootstrap intervals of the mean and the IQM."""
    from rliable import library as rly
    from rliable import metrics

    values = np.asarray(scores, dtype=np.float64).reshape(-1, 1)  # [seeds, tasks=1]
    np.random.seed(seed)  # rliable draws its bootstrap from NumPy's global generator

    def aggregates(data: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_mean(data), metrics.aggregate_iqm(data)])

    point, interval = rly.get_interval_estimates(
        {"runs": values}, aggregates, reps=reps, confidence_interval_size=CONFIDENCE
    )
    (mean, iqm), ((mean_low, iqm_low), (mean_high, iqm_high)) = point["runs"], interval["runs"]
    return {
        "mean": float(mean),
        "mean_ci": [float(mean_low), float(mean_high)],
        "median": float(np.median(values)),
        "iqm": float(iqm),
        "iqm_ci": [float(iqm_low), float(iqm_high)],
    }


def _seed_figures(run: RunDir, bar: float | None) -> dict[str, Any]:
    try:
        summary = json.loads(run.summary_json.read_text())
    except (OSError, ValueError):
        raise RecipeError(f"{run.path} has no finished run (no readable summary.json)") from None
    evaluations = summary.get("evaluations") or []
    reached = next((int(it) for it, value in evaluations if bar is not None and value >= bar),
                   None)
    return {
        "run": str(run.path),
        "recipe": summary.get("recipe"),
        "seed": summary.get("seed"),
        "final_average_return": summary["final_average_return"],
        "best_average_return": summary["best_average_return"],
        "first_iteration_reaching_bar": reached,
        "random_average_return": summary.get("random_average_return"),
        "evaluations": evaluations,
    }


def aggregate(runs: Sequence[RunDir], recipe: Any, out: Path) -> dict[str, Any]:
    """aggregate.json, aggregate.csv and returns.png in `out` for `runs` of `recipe`."""
    if not runs:
        raise RecipeError("aggregate needs at least one run directory")
    bar = recipe.published_return[1] if recipe.published_return else None
    seeds = [_seed_figures(run, bar) for run in runs]
    others = sorted({seed["recipe"] for seed in seeds} - {recipe.name})
    if others:
        raise RecipeError(f"aggregate takes runs of one recipe: {recipe.name}, not {others}")
    result = {
        "recipe": recipe.name,
        "seeds": len(seeds),
        "bar": bar,
        "reached_bar": sum(seed["first_iteration_reaching_bar"] is not None for seed in seeds),
        "final": interval_estimates([seed["final_average_return"] for seed in seeds]),
        "best": interval_estimates([seed["best_average_return"] for seed in seeds]),
        "per_seed": [{k: v for k, v in seed.items() if k != "evaluations"} for seed in seeds],
    }
    out.mkdir(parents=True, exist_ok=True)
    write_durably(out / "aggregate.json", (json.dumps(result, indent=2) + "\n").encode())
    curve = _curve(seeds)
    _write_curve(curve, out / "aggregate.csv")
    randoms = [s["random_average_return"] for s in seeds if s["random_average_return"] is not None]
    _plot(seeds, curve, recipe, out / "returns.png", np.mean(randoms) if randoms else None)
    return result


def summary_line(result: dict[str, Any]) -> str:
    """The aggregate in one line: the final return's IQM with its interval, the mean, and
    (when the tutorial publishes a return) how many seeds reached it."""
    final = result["final"]
    line = (
        f"final Average Return IQM {final['iqm']:.1f} [{final['iqm_ci'][0]:.1f}, "
        f"{final['iqm_ci'][1]:.1f}], mean {final['mean']:.1f}, median {final['median']:.1f}"
    )
    if result["bar"] is not None:
        line += f"; {result['reached_bar']} of {result['seeds']} reached {result['bar']:g}"
    return line


def _curve(seeds: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    by_iteration: dict[int, list[float]] = {}
    for seed in seeds:
        for iteration, value in seed["evaluations"]:
            by_iteration.setdefault(int(iteration), []).append(float(value))
    rows = []
    for iteration in sorted(by_iteration):
        values = by_iteration[iteration]
        estimates = interval_estimates(values, reps=500)
        rows.append({
            "iteration": iteration,
            "seeds": len(values),
            "mean": estimates["mean"],
            "mean_low": estimates["mean_ci"][0],
            "mean_high": estimates["mean_ci"][1],
            "iqm": estimates["iqm"],
            "iqm_low": estimates["iqm_ci"][0],
            "iqm_high": estimates["iqm_ci"][1],
        })
    return rows


def _write_curve(rows: Sequence[dict[str, float]], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {key: f"{value:.6g}" if isinstance(value, float) else value
                 for key, value in row.items()}
            )


def _plot(seeds, curve, recipe, path: Path, random_return: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2))
    for seed in seeds:
        iterations, values = zip(*seed["evaluations"], strict=True)
        axes.plot(iterations, values, color="0.6", linewidth=0.8, alpha=0.5)
    iterations = [row["iteration"] for row in curve]
    axes.plot(iterations, [row["iqm"] for row in curve], color="C0", linewidth=2,
              label=f"IQM over {len(seeds)} seeds")
    axes.fill_between(iterations, [row["iqm_low"] for row in curve],
                      [row["iqm_high"] for row in curve], color="C0", alpha=0.25,
                      label=f"{CONFIDENCE:.0%} bootstrap interval")
    if random_return is not None and math.isfinite(random_return):
        axes.axhline(random_return, linestyle="--", color="0.35", linewidth=1.2,
                     label=f"random policy: {random_return:g}")
    if recipe.published_return is not None:
        label, value = recipe.published_return
        axes.axhline(value, linestyle=":", color="0.35", linewidth=1.2, label=f"{label}: {value:g}")
    axes.set_xlabel("Iterations")
    axes.set_ylabel("Average Return")
    axes.set_title(f"{recipe.name}: {len(seeds)} seeds")
    if recipe.plot_ylim_top is not None:
        axes.set_ylim(top=recipe.plot_ylim_top)
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)

