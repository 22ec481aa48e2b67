"""What the loop counts and keeps across a resume, and the run's summary made from it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tfa_recipes.run.directory import RunSummary


@dataclass
class LoopState:
    """What the loop counts and keeps across a resume (the checkpoint's manifest holds the
    kept progress), and where its lines go."""

    say: Callable[[str], None]
    iteration: int = 0
    env_steps: int = 0
    start: int = 0
    loss_info: Any = None
    random_average_return: float | None = None
    # {"iteration", "average_return"} of policies/best_policy (recipes that keep one).
    best_policy: dict[str, float] | None = None
    # {"iteration", "average_return"} of the evaluation that reached --stop-at-return.
    stopped_at_return: dict[str, float] | None = None

    def progress(self) -> dict[str, Any]:
        """What a resumed run needs back before the run has finished (summary.json is for
        people and may be lost or edited; the checkpoint's manifest keeps this)."""
        kept: dict[str, Any] = {"random_average_return": self.random_average_return}
        if self.best_policy is not None:
            kept["best_policy"] = self.best_policy
        if self.stopped_at_return is not None:
            kept["stopped_at_return"] = self.stopped_at_return
        return kept


def summarize(
    recipe_name: str,
    config: Any,
    state: LoopState,
    rows: Sequence[dict[str, float]],
    train_seconds: float,
    train_metrics: Sequence[Any],
) -> RunSummary:
    """The finished run's summary.json, from its metrics.csv rows and the loop's state."""
    evaluations = [row for row in rows if not math.isnan(row["AverageReturn"])]
    return RunSummary(
        recipe=recipe_name,
        seed=config.seed,
        iterations=state.iteration,
        environment_steps=state.env_steps,
        final_average_return=evaluations[-1]["AverageReturn"],
        best_average_return=max(row["AverageReturn"] for row in evaluations),
        evaluations=[[int(row["iteration"]), row["AverageReturn"]] for row in evaluations],
        train_seconds=train_seconds,
        environment_steps_per_second=state.env_steps / train_seconds if train_seconds else None,
        random_average_return=state.random_average_return,
        best_policy=state.best_policy,
        stopped_at_return=state.stopped_at_return,
        # Recipes that can run with actors have the field; the others leave it out.
        actors=getattr(config, "actors", None),
        final_loss=None if state.loss_info is None else float(state.loss_info.loss.numpy()),
        train_metrics=(
            {metric.name: float(metric.result()) for metric in train_metrics}
            if train_metrics
            else None
        ),
    )
