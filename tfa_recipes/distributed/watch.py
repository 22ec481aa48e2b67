"""Whether the learner of a run with actors has finished, read from its summary.json: the
replay server and the actors stop by themselves when it has."""

from __future__ import annotations

import time
from typing import Any

from tfa_recipes.run.directory import RunDir
from tfa_recipes.run.lifecycle import saved_summary


def learner_finished(run: RunDir, config: Any) -> bool:
    """Whether the learner finished what `config` asks: its budget, or an evaluation that
    reached `config.stop_at_return` (a run resumed with a higher threshold, or none, trains
    on after its old stop, as the loop does)."""
    summary = saved_summary(run) or {}
    stopped = summary.get("stopped_at_return") or {}
    return "final_average_return" in summary and (
        summary.get("iterations", 0) >= config.num_iterations
        or stopped.get("average_return", -float("inf")) >= config.stop_at_return
    )


class FinishedWatch:
    """`learner_finished`, read at most once every CHECK_SECONDS: an actor asks between
    collect calls of one environment step each."""

    CHECK_SECONDS = 2.0

    def __init__(self, run: RunDir, config: Any) -> None:
        self.run, self.config = run, config
        self.next_check = 0.0
        self.finished = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.finished and now >= self.next_check:
            self.next_check = now + self.CHECK_SECONDS
            self.finished = learner_finished(self.run, self.config)
        return self.finished
