"""The pieces of a run with actors that work in one process: the role flags and their
refusals, the fleet's numbers and the replay server's rate limiter, the learner-finished
watch, and the launcher's command lines. The processes themselves are in test_distributed."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import reverb

from tfa_recipes.distributed import watch
from tfa_recipes.distributed.flags import RoleFlags, parse_address, refuse_mode_change
from tfa_recipes.distributed.launcher import describe_exit, role_argv
from tfa_recipes.distributed.replay_server import rate_limiter
from tfa_recipes.distributed.watch import FinishedWatch, learner_finished
from tfa_recipes.errors import RecipeError
from tfa_recipes.recipe import Fleet
from tfa_recipes.run.directory import RunDir

ADDRESS = "127.0.0.1:8000"


@dataclass(frozen=True)
class Config:
    actors: int = 2
    num_iterations: int = 100
    batch_size: int = 64
    initial_collect_steps: int = 100
    stop_at_return: float = math.inf


@pytest.fixture
def run(tmp_path) -> RunDir:
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    return run


def write_summary(run: RunDir, **summary) -> None:
    run.summary_json.write_text(json.dumps(summary))


# Role flags.


@pytest.mark.parametrize(
    "flags",
    [
        RoleFlags(),
        RoleFlags(replay_address=ADDRESS),
        RoleFlags("replay", ADDRESS),
        RoleFlags("learner", ADDRESS),
        RoleFlags("actor", ADDRESS, actor_id=0),
        RoleFlags("actor", ADDRESS, actor_id=3),
    ],
    ids=repr,
)
def test_role_flags_that_go_together_are_accepted(flags):
    flags.check(Config())


REFUSED = [
    (RoleFlags("sampler", ADDRESS), "--role must be one of replay, learner, actor, got 'sampler'"),
    (RoleFlags("learner"), "--role learner needs --replay-address HOST:PORT"),
    (RoleFlags("replay"), "--role replay needs --replay-address HOST:PORT"),
    (RoleFlags("actor", ADDRESS), "--role actor needs --actor-id N"),
    (RoleFlags(actor_id=1), "--actor-id goes with --role actor"),
    (RoleFlags("learner", ADDRESS, actor_id=1), "--actor-id goes with --role actor"),
    (RoleFlags("actor", ADDRESS, actor_id=-1), "--actor-id must be >= 0, got -1"),
    (RoleFlags("replay", "nowhere"), "--replay-address must be HOST:PORT, got 'nowhere'"),
    (RoleFlags(replay_address="nowhere"), "--replay-address must be HOST:PORT, got 'nowhere'"),
]


@pytest.mark.parametrize("flags, message", REFUSED, ids=[message for _, message in REFUSED])
def test_role_flags_that_do_not_go_together_are_refused_in_one_line(flags, message):
    with pytest.raises(RecipeError) as raised:
        flags.check(Config())

    assert str(raised.value) == message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("localhost:1", ("localhost", 1)),
        ("learner.example.org:65535", ("learner.example.org", 65535)),
        ("[::1]:8000", ("[::1]", 8000)),
    ],
)
def test_parse_address_splits_host_and_port(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "text", ["nowhere", "8000", ":8000", "localhost:", "localhost:0", "localhost:65536",
             "localhost:-1", "localhost:http", "localhost: 80"],
)
def test_parse_address_refuses_anything_but_host_colon_port(text):
    with pytest.raises(RecipeError) as raised:
        parse_address(text)

    assert str(raised.value) == f"--replay-address must be HOST:PORT, got {text!r}"


def test_a_run_started_without_actors_refuses_a_resume_with_actors(run):
    with pytest.raises(RecipeError) as raised:
        refuse_mode_change(Config(actors=0), Config(actors=2), run)

    assert str(raised.value) == (
        f"{run.path} was started without actors, and its checkpoints' replay table is for "
        "that set-up: resume it with --actors 0"
    )


def test_a_run_started_with_actors_refuses_a_resume_without_them(run):
    with pytest.raises(RecipeError) as raised:
        refuse_mode_change(Config(actors=2), Config(actors=0), run)

    assert str(raised.value) == (
        f"{run.path} was started with actors, and its checkpoints' replay table is for "
        "that set-up: resume it with --actors N (N >= 1)"
    )


@pytest.mark.parametrize("started, now", [(2, 3), (3, 1), (0, 0)])
def test_a_resume_may_change_the_number_of_actors_but_not_whether_there_are_any(
    run, started, now
):
    refuse_mode_change(Config(actors=started), Config(actors=now), run)


# The fleet and the replay server's rate limiter.


def test_a_dqn_fleet_takes_its_numbers_from_the_config():
    fleet = Fleet.for_dqn(Config(batch_size=64, initial_collect_steps=100), steps_per_train_step=4)

    assert fleet == Fleet(
        sequence_length=2,
        batch_size=64,
        train_steps_per_env_step=0.25,
        initial_collect_steps=100,
        steps_per_run=4,
    )


def limits(limiter: reverb.rate_limiters.SampleToInsertRatio) -> tuple[float, int, float]:
    """(samples_per_insert, min_size_to_sample, error_buffer) as Reverb keeps them: it
    stores the allowed range min_size * samples_per_insert -/+ error_buffer."""
    spi, min_size = limiter._samples_per_insert, limiter._min_size_to_sample
    assert limiter._min_diff + limiter._max_diff == pytest.approx(2 * min_size * spi)
    return spi, min_size, (limiter._max_diff - limiter._min_diff) / 2


def fleet(batch_size: int, initial_collect_steps: int, steps_per_train_step: int) -> Fleet:
    config = Config(batch_size=batch_size, initial_collect_steps=initial_collect_steps)
    return Fleet.for_dqn(config, steps_per_train_step=steps_per_train_step)


def test_the_rate_limiter_keeps_a_batch_per_train_step_with_a_tenth_of_the_warm_up_as_slack():
    limiter = rate_limiter(fleet(batch_size=64, initial_collect_steps=100, steps_per_train_step=4))

    assert isinstance(limiter, reverb.rate_limiters.SampleToInsertRatio)
    # 64 items a train step, a train step every 4 environment steps: 16 samples an insert;
    # the slack is 10% of the warm-up's worth, 0.1 * 100 * 16.
    assert limits(limiter) == pytest.approx((16.0, 100, 160.0))


def test_the_rate_limiters_slack_is_at_least_what_reverb_needs():
    limiter = rate_limiter(fleet(batch_size=64, initial_collect_steps=10, steps_per_train_step=4))

    # 0.1 * 10 * 16 = 16 is under Reverb's least, 2 * max(1, 16).
    assert limits(limiter) == pytest.approx((16.0, 10, 32.0))


def test_the_rate_limiter_of_a_fleet_without_warm_up_samples_from_one_item():
    limiter = rate_limiter(fleet(batch_size=1, initial_collect_steps=0, steps_per_train_step=4))

    assert limits(limiter) == pytest.approx((0.25, 1, 2.0))


# Whether the learner has finished.


def test_a_run_without_a_summary_has_not_finished(run):
    assert not learner_finished(run, Config())


def test_a_summary_written_by_a_checkpoint_is_not_a_finished_run(run):
    write_summary(run, random_average_return=20.0)

    assert not learner_finished(run, Config())


def test_a_run_whose_summary_reached_the_budget_has_finished(run):
    write_summary(run, final_average_return=200.0, iterations=100)

    assert learner_finished(run, Config(num_iterations=100))


def test_a_finished_run_resumed_with_a_larger_budget_has_not_finished(run):
    write_summary(run, final_average_return=200.0, iterations=100)

    assert not learner_finished(run, Config(num_iterations=300))


def test_a_run_stopped_at_its_return_has_finished_before_its_budget(run):
    write_summary(
        run,
        final_average_return=200.0,
        iterations=40,
        stopped_at_return={"iteration": 40, "average_return": 200.0},
    )

    assert learner_finished(run, Config(num_iterations=100, stop_at_return=195.0))


def test_a_run_stopped_at_its_return_resumed_with_a_higher_threshold_has_not_finished(run):
    write_summary(
        run,
        final_average_return=150.0,
        iterations=40,
        stopped_at_return={"iteration": 40, "average_return": 150.0},
    )

    assert not learner_finished(run, Config(num_iterations=100, stop_at_return=195.0))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(1000.0)
    monkeypatch.setattr(watch, "time", clock)
    return clock


def test_the_watch_reads_the_summary_at_most_every_check_seconds(run, clock):
    finished = FinishedWatch(run, Config(num_iterations=100))
    assert not finished()

    write_summary(run, final_average_return=200.0, iterations=100)
    clock.now += FinishedWatch.CHECK_SECONDS / 2
    assert not finished()

    clock.now += FinishedWatch.CHECK_SECONDS / 2
    assert finished()


def test_the_watch_stays_finished_without_reading_again(run, clock):
    finished = FinishedWatch(run, Config(num_iterations=100))
    write_summary(run, final_average_return=200.0, iterations=100)
    assert finished()

    run.summary_json.unlink()
    clock.now += 10 * FinishedWatch.CHECK_SECONDS
    assert finished()


# The launcher.


RECIPE = SimpleNamespace(module="tfa_recipes.dqn_cartpole")


@pytest.mark.parametrize(
    "argv",
    [
        ["--actors", "2", "--run-dir", "old", "--num-iterations", "20",
         "--replay-address", "10.0.0.1:9"],
        ["--actors", "2", "--run-dir=old", "--num-iterations", "20",
         "--replay-address=10.0.0.1:9"],
    ],
    ids=["separate values", "joined values"],
)
def test_a_roles_command_line_replaces_the_run_dir_and_address_and_names_the_role(run, argv):
    assert role_argv(RECIPE, argv, run, ADDRESS, "learner") == [
        sys.executable, "-m", "tfa_recipes.dqn_cartpole", "--actors", "2",
        "--num-iterations", "20",
        "--run-dir", str(run.path), "--replay-address", ADDRESS, "--role", "learner",
    ]


def test_a_roles_command_line_keeps_every_other_flag_in_order(run):
    argv = ["--seed", "3", "--stop-at-return=195", "--actors", "1"]

    assert role_argv(RECIPE, argv, run, ADDRESS, "replay")[3:-6] == argv


@pytest.mark.parametrize(
    "code, described",
    [
        (0, "exit code 0"),
        (1, "exit code 1"),
        (-9, "killed by SIGKILL"),
        (-15, "killed by SIGTERM"),
        (-40, "killed by signal 40"),
    ],
)
def test_describe_exit_names_the_signal_that_killed_a_process(code, described):
    assert describe_exit(code) == described
