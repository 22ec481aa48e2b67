"""The shared training loop, in process, with a fake recipe: a real (tiny) DqnAgent on
CartPole whose lockstep records its calls instead of training, so each test costs a
second or two and no TensorFlow start-up of its own."""

from __future__ import annotations

import dataclasses
import math
import os
import signal
from collections.abc import Callable

import pytest
import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.specs import tensor_spec

from tfa_recipes.blocks import agents, networks
from tfa_recipes.config import LoopConfig
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.errors import Interrupted, RecipeError
from tfa_recipes.loop.evaluation import EvalResult
from tfa_recipes.loop.roles import Parts
from tfa_recipes.loop.train import train
from tfa_recipes.run.directory import RunDir


@dataclasses.dataclass(frozen=True)
class FakeConfig(LoopConfig):
    pass


def fake_config(**overrides) -> FakeConfig:
    values = dict(
        seed=0,
        num_iterations=10,
        log_interval=3,
        eval_interval=5,
        num_eval_episodes=1,
        checkpoint_interval=4,
        num_video_episodes=0,
        video_fps=30,
        video_format="gif",
        stop_at_return=math.inf,
    )
    return FakeConfig(**{**values, **overrides})


class FakeLockstep:
    """Two environment steps an iteration; loss = the iteration count; can fail, send
    itself SIGINT or return NaN at a chosen iteration."""

    def __init__(self, log: dict, *, fail_at=None, interrupt_at=None, nan_at=None, per_call=None):
        self.log, self.done = log, 0
        self.fail_at, self.interrupt_at, self.nan_at = fail_at, interrupt_at, nan_at
        self.max_iterations_per_call = per_call

    def initial_collect(self) -> int:
        self.log["initial_collects"] += 1
        return 7

    def run(self, iterations: int):
        self.log["chunks"].append(iterations)
        self.done += iterations
        if self.fail_at is not None and self.done >= self.fail_at:
            raise RuntimeError("collector broke")
        if self.interrupt_at is not None and self.done >= self.interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)
        loss = math.nan if self.nan_at is not None and self.done >= self.nan_at else self.done
        return 2 * iterations, tf_agent.LossInfo(loss=tf.constant(float(loss)), extra=())


@dataclasses.dataclass(frozen=True)
class FakeRecipe:
    """What the loop reads of a `recipe.Recipe`, with its builder's `build` in hand."""

    build: Callable
    name: str = "fake"
    plot_ylim_top: float | None = 250
    max_video_frames: int | None = None
    published_return: tuple[str, float] | None = None
    export_best_policy: bool = False

    def make_env(self, config, seed):
        return load_gym("CartPole-v0", seed=seed)

    def built_by(self) -> FakeRecipe:
        return self


def fake_recipe(log: dict, **lockstep_options) -> FakeRecipe:
    def build(config, run, env_factory, resources):
        env = env_factory(config.seed)
        resources.callback(env.close)
        resources.callback(lambda: log["closed"].append(True))
        q_net = networks.sequential_q_network(tensor_spec.from_spec(env.action_spec()), (4,))
        agent = agents.dqn(
            tensor_spec.from_spec(env.time_step_spec()),
            tensor_spec.from_spec(env.action_spec()),
            q_net,
            tf.keras.optimizers.Adam(1e-3),
        )
        log["builds"] += 1
        step = log.setdefault("lockstep_position", 0)
        lockstep = FakeLockstep(log, **lockstep_options)
        lockstep.done = step
        log["lockstep"] = lockstep
        return Parts(agent=agent, iterations=lockstep, replay=log.get("replay"))

    return FakeRecipe(build=build)


def new_log() -> dict:
    return {"chunks": [], "initial_collects": 0, "builds": 0, "closed": []}


@pytest.fixture
def run(tmp_path) -> RunDir:
    return RunDir(tmp_path / "run")


def test_a_fresh_run_goes_to_each_trigger_in_one_call(run):
    log = new_log()
    summary = train(fake_recipe(log), fake_config(), run, out=lambda line: None)
    # Intervals 3 (log), 5 (evaluate), 4 (checkpoint): calls end on their multiples.
    assert log["chunks"] == [3, 1, 1, 1, 2, 1, 1]
    assert log["initial_collects"] == 1 and log["closed"] == [True]
    assert summary.iterations == 10 and summary.environment_steps == 7 + 2 * 10
    assert [row[0] for row in summary.evaluations] == [0, 5, 10]
    assert summary.final_loss == 10.0
    assert set(summary.phase_seconds) == {"startup", "loop", "finish"}
    rows = run.metrics_csv.read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == [0, 3, 5, 6, 9, 10]
    assert (run.policy_dir / "saved_model.pb").is_file()


def test_calls_are_capped_where_a_role_says_so(run):
    log = new_log()
    train(fake_recipe(log, per_call=1), fake_config(num_iterations=4), run, out=lambda line: None)
    assert log["chunks"] == [1, 1, 1, 1]


class ScriptedEvaluator:
    """Evaluations that return 10, 20, 30, ... in turn (the fake lockstep does not train)."""

    def __init__(self, make_env, num_episodes, seed, **options) -> None:
        self.calls = 0

    def __call__(self, policy) -> EvalResult:
        self.calls += 1
        return EvalResult(10.0 * self.calls, 1.0, (10.0 * self.calls,))

    def random_baseline(self) -> EvalResult:
        return EvalResult(0.0, 1.0, (0.0,))


def test_stop_at_return_ends_the_run_at_that_evaluation_and_a_resume_keeps_it(run, monkeypatch):
    monkeypatch.setattr("tfa_recipes.loop.train.Evaluator", ScriptedEvaluator)
    log = new_log()
    config = fake_config(num_iterations=20, stop_at_return=30.0)
    # Evaluations at 0, 5, 10 return 10, 20, 30: the one at 10 reaches 30.
    summary = train(fake_recipe(log), config, run, out=lambda line: None)
    assert summary.iterations == 10 and sum(log["chunks"]) == 10
    assert summary.stopped_at_return == {"iteration": 10, "average_return": 30.0}
    assert (run.policy_dir / "saved_model.pb").is_file()
    # The same config again: nothing is left to train.
    log["lockstep_position"] = 10
    again = train(fake_recipe(log), config, run, out=lambda line: None)
    assert again.iterations == 10 and sum(log["chunks"]) == 10
    # A higher threshold trains on (evaluations 10, 20 from the fresh evaluator); the old
    # stop no longer holds.
    on = train(fake_recipe(log), dataclasses.replace(config, stop_at_return=math.inf), run,
               out=lambda line: None)
    assert on.iterations == 20 and sum(log["chunks"]) == 20 and on.stopped_at_return is None


def test_an_interrupt_saves_and_a_resume_goes_on_from_there(run):
    log = new_log()
    with pytest.raises(Interrupted):
        train(fake_recipe(log, interrupt_at=6), fake_config(), run, out=lambda line: None)
    assert log["closed"] == [True]
    # Stopped after the call that reached iteration 6; metrics up to it were written.
    lines = []
    log["lockstep_position"] = 6
    summary = train(fake_recipe(log), fake_config(), run, out=lines.append)
    assert lines[0] == "resuming from iteration 6 (19 environment steps)"
    assert log["initial_collects"] == 1 and log["builds"] == 2
    # From 6 the triggers still fall on multiples: 8 (checkpoint), 9 (log), 10.
    assert log["chunks"][-3:] == [2, 1, 1]
    assert summary.environment_steps == 7 + 2 * 10
    iterations = [int(row.split(",")[0]) for row in run.metrics_csv.read_text().splitlines()[1:]]
    assert iterations == [0, 3, 5, 6, 9, 10]


def test_a_resume_drops_metrics_logged_after_its_checkpoint(run):
    log = new_log()
    with pytest.raises(RuntimeError, match="collector broke"):
        # Checkpoint at 4, rows at 5 and 6 written, then a crash: no save at 7.
        train(fake_recipe(log, fail_at=7), fake_config(), run, out=lambda line: None)
    assert log["closed"] == [True]
    log["lockstep_position"] = 4
    lines = []
    train(fake_recipe(log), fake_config(), run, out=lines.append)
    assert lines[0] == "resuming from iteration 4 (15 environment steps)"
    iterations = [int(row.split(",")[0]) for row in run.metrics_csv.read_text().splitlines()[1:]]
    assert iterations == [0, 3, 5, 6, 9, 10]


def test_a_nan_loss_stops_the_run_and_closes_everything(run):
    log = new_log()
    with pytest.raises(FloatingPointError, match="loss became nan at iteration 3"):
        train(fake_recipe(log, nan_at=1), fake_config(), run, out=lambda line: None)
    assert log["closed"] == [True]


def test_an_error_while_building_closes_what_was_opened(run):
    log = new_log()
    recipe = fake_recipe(log)

    def build(config, run_dir, env_factory, resources):
        resources.callback(lambda: log["closed"].append(True))
        raise RuntimeError("no network")

    with pytest.raises(RuntimeError, match="no network"):
        train(dataclasses.replace(recipe, build=build), fake_config(), run, out=lambda line: None)
    assert log["closed"] == [True]


class CtrlCTwiceWhileSaving:
    """A replay store whose copy takes long enough for the user to press Ctrl-C twice."""

    def __init__(self) -> None:
        self.saves = 0

    def save(self):
        self.saves += 1
        if self.saves == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return None

    def num_items(self) -> int:
        return 1


def test_a_second_ctrl_c_inside_a_save_lets_the_save_finish(run):
    log = new_log()
    log["replay"] = CtrlCTwiceWhileSaving()
    with pytest.raises(Interrupted, match="^interrupted at iteration 9; progress saved in "):
        train(fake_recipe(log), fake_config(), run, out=lambda line: None)
    # The second checkpoint (iteration 8) was published whole; the stop request took
    # effect after the next call, with one more checkpoint.
    assert sorted(path.name for path in run.checkpoint_dir.glob("manifest-*")) == [
        "manifest-8.json", "manifest-9.json"
    ]
    assert log["chunks"] == [3, 1, 1, 1, 2, 1]


def test_a_second_ctrl_c_outside_a_save_names_the_last_saved_iteration(run):
    log = new_log()

    class SecondCtrlC(FakeLockstep):
        def run(self, iterations):
            if self.done >= 6:
                raise KeyboardInterrupt  # what the handler raises for a second Ctrl-C
            return super().run(iterations)

    recipe = fake_recipe(log)

    def build(config, run_dir, env_factory, resources):
        parts = fake_recipe(log).build(config, run_dir, env_factory, resources)
        lockstep = SecondCtrlC(log)
        return dataclasses.replace(parts, iterations=lockstep)

    with pytest.raises(Interrupted, match="^interrupted at iteration 4; progress saved in "):
        train(dataclasses.replace(recipe, build=build), fake_config(), run, out=lambda line: None)
    assert log["closed"] == [True]


def test_a_nan_loss_is_one_line_naming_the_kept_checkpoint(run):
    log = new_log()
    with pytest.raises(RecipeError, match="loss became nan at iteration 6 .*; the checkpoint "
                                          "of iteration 4 is kept$"):
        train(fake_recipe(log, nan_at=5), fake_config(), run, out=lambda line: None)
