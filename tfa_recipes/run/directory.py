"""The run directory: where a run writes everything a user may open later.

runs/<recipe>/<timestamp>_seed<k>/
  run.json          which recipe wrote it (so another recipe refuses to resume it)
  config.json       the config actually used
  command.txt       the command line
  versions.json     TensorFlow, TF-Agents, Reverb, gym, Python
  metrics.csv       iteration, loss, AverageReturn, AverageEpisodeLength, EnvironmentSteps,
                    wall_seconds
  summary.json      the figures a test or a notebook checks
  returns.png       average return against iterations, as the tutorials plot it, with the
                    random policy's and the tutorial's published return as reference lines
  loss.png          the training loss against iterations, log scale
  trained-agent.mp4 / random-agent.mp4 (or .gif)
  train/            TensorBoard summaries of the loss; checkpoints/ under it
  eval/             TensorBoard summaries of the returns
  policies/policy   the greedy policy exported with PolicySaver
  policies/best_policy  the same at its best evaluation (recipes that ask for it)
  replay/           replay contents saved with the checkpoint (Reverb)
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tfa_recipes.errors import RecipeError

METRIC_COLUMNS = (
    "iteration",
    "loss",
    "AverageReturn",
    "AverageEpisodeLength",
    "EnvironmentSteps",
    "wall_seconds",
)
VERSIONED_PACKAGES = (
    "tensorflow",
    "tf-agents",
    "dm-reverb",
    "tensorflow-probability",
    "gym",
    "keras",
    "numpy",
    "ale-py",
)


@dataclass(frozen=True)
class RunSummary:
    """A finished TF-Agents run's figures, as summary.json holds them."""

    recipe: str
    seed: int
    iterations: int
    environment_steps: int
    final_average_return: float
    best_average_return: float
    # [iteration, average return] of every evaluation, the first at iteration 0.
    evaluations: list[list[float]]
    train_seconds: float
    environment_steps_per_second: float | None
    random_average_return: float | None = None
    # {"iteration", "average_return"} of policies/best_policy, for recipes that keep one.
    best_policy: dict[str, float] | None = None
    # {"iteration", "average_return"} of the evaluation that reached --stop-at-return.
    stopped_at_return: dict[str, float] | None = None
    # Actor processes of a run with actors (`--actors N`); 0 for the single process.
    actors: int | None = None
    final_loss: float | None = None
    train_metrics: dict[str, float] | None = None
    wall_seconds: float | None = None
    # {"startup", "loop", "finish"}: seconds before the first iteration, in the loop, after.
    phase_seconds: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form; optional figures a run does not have are left out."""
        optional = ("best_policy", "stopped_at_return", "actors", "final_loss", "train_metrics")
        return {
            name: value
            for name, value in dataclasses.asdict(self).items()
            if value is not None or name not in optional
        }


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def metrics_csv(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def summary_json(self) -> Path:
        return self.path / "summary.json"

    @property
    def config_json(self) -> Path:
        return self.path / "config.json"

    @property
    def returns_png(self) -> Path:
        return self.path / "returns.png"

    @property
    def loss_png(self) -> Path:
        return self.path / "loss.png"

    @property
    def train_dir(self) -> Path:
        return self.path / "train"

    @property
    def eval_dir(self) -> Path:
        return self.path / "eval"

    @property
    def checkpoint_dir(self) -> Path:
        return self.train_dir / "checkpoints"

    @property
    def policy_dir(self) -> Path:
        return self.path / "policies" / "policy"

    @property
    def best_policy_dir(self) -> Path:
        return self.path / "policies" / "best_policy"

    @property
    def replay_dir(self) -> Path:
        return self.path / "replay"

    def video(self, name: str, video_format: str) -> Path:
        return self.path / f"{name}.{video_format}"

    def recipe(self) -> str | None:
        marker = self.path / "run.json"
        if not marker.is_file():
            return None
        try:
            recipe = json.loads(marker.read_text())["recipe"]
        except (OSError, ValueError, KeyError, TypeError):
            raise RecipeError(f"{marker} is not a tfa_recipes run marker") from None
        if not isinstance(recipe, str):
            raise RecipeError(f"{marker} is not a tfa_recipes run marker")
        return recipe

    def has_run(self) -> bool:
        return (self.path / "run.json").is_file()

    def claim(self, recipe: str) -> None:
        """Mark the directory as this recipe's, refusing one that holds another recipe."""
        owner = self.recipe()
        if owner is not None and owner != recipe:
            raise RecipeError(
                f"run directory {self.path} holds a {owner!r} run, not {recipe!r}; "
                "pick another --run-dir"
            )
        if owner == recipe:
            # Nothing to write: evaluating a read-only run must not need to.
            return
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "run.json").write_text(json.dumps({"recipe": recipe}) + "\n")

    def write_provenance(self, argv: list[str]) -> None:
        command = " ".join(shlex.quote(arg) for arg in [sys.executable, *argv])
        with (self.path / "command.txt").open("a") as handle:
            handle.write(command + "\n")
        (self.path / "versions.json").write_text(json.dumps(library_versions(), indent=2) + "\n")

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_durably(
            self.summary_json, (json.dumps(summary, indent=2, default=float) + "\n").encode()
        )


LOCK_NAME = ".lock"
# What a run directory holds before its run has done anything (see RunDir.claim,
# RunDir.write_provenance and run.lock.RunLock).
PROVENANCE = frozenset({"run.json", "command.txt", "versions.json", LOCK_NAME})


def write_durably(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once: a reader sees the old file or the new one,
    after a crash or a full disk too."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync(path.parent)


def fsync(path: Path) -> None:
    """Make a written file (or a folder's new entries) durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def new_run_dir(recipe: str, seed: int, base: Path = Path("runs")) -> RunDir:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = base / recipe / f"{stamp}_seed{seed}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = base / recipe / f"{stamp}-{suffix}_seed{seed}"
    return RunDir(path)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


class MetricsLog:
    """metrics.csv, appended and flushed row by row so an interrupted run keeps its rows.

    `extra_columns` follow the standard ones (a recipe's training metrics).
    """

    def __init__(self, path: Path, extra_columns: Sequence[str] = ()) -> None:
        self.path = path
        self.columns = METRIC_COLUMNS + tuple(extra_columns)

    def rows(self) -> list[dict[str, float]]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="") as handle:
            return [
                {key: float(value) if value != "" else math.nan for key, value in row.items()}
                for row in csv.DictReader(handle)
            ]

    def last_wall_seconds(self) -> float:
        """The wall seconds of the last row (a resumed run's clock goes on from there)."""
        rows = self.rows()
        return rows[-1]["wall_seconds"] if rows else 0.0

    def start(self) -> None:
        """A fresh run's file: the header alone, whatever a run before it left here (a
        resumed run gets its rows back from its checkpoint, see `checkpoints`)."""
        with self.path.open("w", newline="") as handle:
            csv.DictWriter(handle, self.columns).writeheader()

    def append(self, **row: float | None) -> None:
        new_file = not self.path.is_file()
        with self.path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, self.columns)
            if new_file:
                writer.writeheader()
            writer.writerow(_csv_row(row, self.columns))


def _csv_row(row: dict[str, Any], columns: Sequence[str]) -> dict[str, str]:
    out = {}
    for key in columns:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out[key] = ""
        elif key == "iteration" or key.endswith(("EnvironmentSteps", "NumberOfEpisodes")):
            out[key] = str(int(value))
        else:
            out[key] = f"{float(value):.6g}"
    return out
