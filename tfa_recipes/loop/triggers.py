"""The loop's periodic work, each a trigger: called with the iteration after every call of
the roles, it does its work on multiples of its interval (TF-Agents' `IntervalTrigger`) and
returns what it adds to that iteration's metrics.csv row ({} when it did nothing)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf
from tf_agents.train import interval_trigger

from tfa_recipes.errors import Diverged

Row = dict[str, float]


def iterations_to_next(iteration: int, end: int, intervals: Sequence[int]) -> int:
    """Iterations from `iteration` to the next multiple of any interval, or to `end`: how
    many the loop asks the roles for before it calls the triggers."""
    return min([end - iteration] + [i - iteration % i for i in intervals if i > 0])


class Trigger:
    """`fire()` once `interval` iterations have passed since it last fired (TF-Agents'
    `IntervalTrigger`), counted from the last multiple before `start`. The loop's calls end
    on every multiple of every interval, so the work falls on multiples, in a resumed run
    as in a fresh one; called off the multiples it fires late and counts from there."""

    def __init__(self, interval: int, start: int) -> None:
        self.interval = interval
        self._row: Row = {}
        self._trigger = interval_trigger.IntervalTrigger(
            interval, self._fire, start=start - start % interval
        )

    def __call__(self, iteration: int) -> Row:
        self._row = {}
        self._trigger(iteration)
        return self._row

    def _fire(self) -> None:
        self._row = self.fire() or {}

    def fire(self) -> Row | None:
        raise NotImplementedError


def write_scalars(writer: Any, step: int, **values: float) -> None:
    with writer.as_default():
        for name, value in values.items():
            tf.summary.scalar(name, value, step=step)
    writer.flush()


class LogTrigger(Trigger):
    """The tutorials' `step = N: loss = ...` line, the training metrics, and TensorBoard's
    train/ summaries; a NaN or infinite loss stops the run (`Diverged`)."""

    def __init__(
        self,
        interval: int,
        start: int,
        state: Any,
        writer: Any,
        train_metrics: Sequence[Any],
        newest_checkpoint: Callable[[], int | None],
    ) -> None:
        super().__init__(interval, start)
        self.state, self.writer = state, writer
        self.train_metrics = list(train_metrics)
        self.newest_checkpoint = newest_checkpoint

    def fire(self) -> Row | None:
        state = self.state
        if state.loss_info is None:
            return None
        loss = float(state.loss_info.loss.numpy())
        if not math.isfinite(loss):
            saved = self.newest_checkpoint()
            raise Diverged(
                f"loss became {loss} at iteration {state.iteration} (is the learning rate too "
                "high?)"
                + (f"; the checkpoint of iteration {saved} is kept" if saved is not None else "")
            )
        state.say(f"step = {state.iteration}: loss = {loss}")
        row = {"loss": loss}
        write_scalars(self.writer, state.iteration, Loss=loss, EnvironmentSteps=state.env_steps)
        if self.train_metrics:
            values = {metric.name: float(metric.result()) for metric in self.train_metrics}
            logged = ", ".join(f"{name} = {value}" for name, value in values.items())
            state.say(f"step = {state.iteration}: {logged}")
            row.update({f"Train{name}": value for name, value in values.items()})
            write_scalars(
                self.writer,
                state.iteration,
                **{f"Metrics/{name}": value for name, value in values.items()},
            )
        return row


class EvalTrigger(Trigger):
    """The tutorials' `step = N: Average Return = ...`: the evaluated policy over the
    evaluator's seeded episodes, TensorBoard's eval/ summaries, then `after(average_return)`
    (keep the best policy, stop at --stop-at-return)."""

    def __init__(
        self,
        interval: int,
        start: int,
        state: Any,
        evaluate: Callable[[], Any],
        writer: Any,
        after: Callable[[float], None],
    ) -> None:
        super().__init__(interval, start)
        self.state, self.evaluate, self.writer, self.after = state, evaluate, writer, after

    def fire(self) -> Row:
        state = self.state
        result = self.evaluate()
        state.say(f"step = {state.iteration}: Average Return = {result.average_return}")
        write_scalars(
            self.writer,
            state.iteration,
            AverageReturn=result.average_return,
            AverageEpisodeLength=result.average_episode_length,
        )
        self.after(result.average_return)
        return {
            "AverageReturn": result.average_return,
            "AverageEpisodeLength": result.average_episode_length,
        }


class CheckpointTrigger(Trigger):
    """A published checkpoint (`run.checkpoints`); it adds nothing to the row, and runs
    after the row is written, so the checkpoint's copy of metrics.csv holds it."""

    def __init__(self, interval: int, start: int, save: Callable[[], None]) -> None:
        super().__init__(interval, start)
        self.save = save

    def fire(self) -> None:
        self.save()
