"""The loop's periodic work (loop.triggers): each trigger fires on multiples of its interval
and returns what it adds to that iteration's metrics.csv row."""

from __future__ import annotations

import math

import pytest
import tensorflow as tf
from tf_agents.agents.tf_agent import LossInfo

from tfa_recipes.errors import Diverged, RecipeError
from tfa_recipes.loop.evaluation import EvalResult
from tfa_recipes.loop.train import LoopState
from tfa_recipes.loop.triggers import CheckpointTrigger, EvalTrigger, LogTrigger, Trigger


class Marking(Trigger):
    def fire(self):
        return {"fired": 1.0}


class Silent(Trigger):
    def fire(self):
        return None


class FakeMetric:
    """What LogTrigger reads of a TF-Agents metric."""

    def __init__(self, name: str, value: float) -> None:
        self.name, self.value = name, value

    def result(self):
        return tf.constant(self.value)


def fired_at(trigger: Trigger, iterations) -> list[int]:
    return [iteration for iteration in iterations if trigger(iteration)]


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def state(lines) -> LoopState:
    state = LoopState(say=lines.append)
    state.iteration, state.env_steps = 10, 123
    state.loss_info = LossInfo(loss=tf.constant(1.5), extra=())
    return state


@pytest.fixture
def writer(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    yield writer
    writer.close()


def scalars(logdir) -> dict[tuple[str, int], float]:
    """(tag, step) -> value of every scalar TensorBoard would show."""
    found = {}
    for path in logdir.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    return found


def log_trigger(state, writer, train_metrics=(), newest_checkpoint=lambda: None):
    return LogTrigger(5, 0, state, writer, train_metrics, newest_checkpoint)


def test_a_trigger_fires_on_multiples_of_its_interval():
    assert fired_at(Marking(5, start=0), range(1, 21)) == [5, 10, 15, 20]


def test_a_trigger_started_off_a_multiple_still_fires_on_multiples():
    assert fired_at(Marking(5, start=7), range(8, 18)) == [10, 15]


def test_a_trigger_started_on_a_multiple_does_not_fire_there_again():
    assert fired_at(Marking(5, start=10), range(10, 21)) == [15, 20]


def test_a_trigger_called_only_at_the_ends_of_chunks_fires_at_the_multiples_among_them():
    assert fired_at(Marking(5, start=0), [3, 5, 8, 10, 13]) == [5, 10]


def test_a_trigger_returns_its_row_when_it_fires_and_nothing_otherwise():
    trigger = Marking(5, start=0)

    assert [trigger(iteration) for iteration in (4, 5, 6)] == [{}, {"fired": 1.0}, {}]


def test_a_trigger_whose_work_adds_nothing_returns_an_empty_row():
    assert Silent(5, start=0)(5) == {}


def test_log_trigger_returns_the_loss_and_says_it(state, writer, lines):
    assert log_trigger(state, writer)(10) == {"loss": 1.5}
    assert lines == ["step = 10: loss = 1.5"]


def test_log_trigger_returns_nothing_between_multiples(state, writer, lines, tmp_path):
    assert log_trigger(state, writer)(4) == {}
    assert lines == []
    assert scalars(tmp_path) == {}


def test_log_trigger_writes_the_loss_and_environment_steps_to_tensorboard(
    state, writer, tmp_path
):
    log_trigger(state, writer)(10)

    assert scalars(tmp_path) == {("Loss", 10): 1.5, ("EnvironmentSteps", 10): 123.0}


def test_log_trigger_returns_says_and_writes_the_train_metrics(state, writer, lines, tmp_path):
    metrics = [FakeMetric("AverageReturn", 3.0), FakeMetric("NumberOfEpisodes", 7.0)]

    row = log_trigger(state, writer, metrics)(10)

    assert row == {"loss": 1.5, "TrainAverageReturn": 3.0, "TrainNumberOfEpisodes": 7.0}
    assert lines[1] == "step = 10: AverageReturn = 3.0, NumberOfEpisodes = 7.0"
    written = scalars(tmp_path)
    assert written[("Metrics/AverageReturn", 10)] == 3.0
    assert written[("Metrics/NumberOfEpisodes", 10)] == 7.0


def test_log_trigger_without_a_loss_yet_returns_nothing(state, writer, lines, tmp_path):
    state.loss_info = None

    assert log_trigger(state, writer)(10) == {}
    assert lines == []
    assert scalars(tmp_path) == {}


@pytest.mark.parametrize("loss", [math.nan, math.inf])
def test_a_non_finite_loss_is_diverged_naming_the_kept_checkpoint(state, writer, lines, loss):
    state.loss_info = LossInfo(loss=tf.constant(loss), extra=())

    with pytest.raises(Diverged) as raised:
        log_trigger(state, writer, newest_checkpoint=lambda: 5)(10)

    assert str(raised.value) == (
        f"loss became {loss} at iteration 10 (is the learning rate too high?); "
        "the checkpoint of iteration 5 is kept"
    )
    assert lines == []


def test_a_nan_loss_before_any_checkpoint_names_none(state, writer):
    state.loss_info = LossInfo(loss=tf.constant(math.nan), extra=())

    with pytest.raises(Diverged) as raised:
        log_trigger(state, writer)(10)

    assert str(raised.value) == "loss became nan at iteration 10 (is the learning rate too high?)"


def test_diverged_is_a_one_line_error_and_a_floating_point_error():
    assert issubclass(Diverged, RecipeError)
    assert issubclass(Diverged, FloatingPointError)


def eval_trigger(state, writer, after, evaluations: list | None = None):
    def evaluate():
        if evaluations is not None:
            evaluations.append(state.iteration)
        return EvalResult(42.0, 17.0, (40.0, 44.0))

    return EvalTrigger(5, 0, state, evaluate, writer, after)


def test_eval_trigger_returns_the_average_return_and_episode_length(state, writer, lines):
    row = eval_trigger(state, writer, after=lambda average_return: None)(10)

    assert row == {"AverageReturn": 42.0, "AverageEpisodeLength": 17.0}
    assert lines == ["step = 10: Average Return = 42.0"]


def test_eval_trigger_hands_the_average_return_to_its_after_callback(state, writer):
    returns = []

    eval_trigger(state, writer, after=returns.append)(10)

    assert returns == [42.0]


def test_eval_trigger_writes_the_return_and_length_to_tensorboard(state, writer, tmp_path):
    eval_trigger(state, writer, after=lambda average_return: None)(10)

    assert scalars(tmp_path) == {("AverageReturn", 10): 42.0, ("AverageEpisodeLength", 10): 17.0}


def test_eval_trigger_evaluates_only_on_multiples(state, writer):
    evaluations, returns = [], []
    trigger = eval_trigger(state, writer, returns.append, evaluations)

    rows = [trigger(iteration) for iteration in (1, 2, 3, 4)]

    assert rows == [{}] * 4
    assert (evaluations, returns) == ([], [])


def test_checkpoint_trigger_saves_on_multiples_and_adds_nothing_to_the_row():
    saved = []
    trigger = CheckpointTrigger(5, 0, lambda: saved.append(True))

    rows = [trigger(iteration) for iteration in range(1, 11)]

    assert rows == [{}] * 10
    assert saved == [True, True]
