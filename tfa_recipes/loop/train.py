"""The training loop every TF-Agents recipe shares.

A recipe's builder supplies its environment and its `Parts` (the agent and its roles, see
`roles`); this module owns the rest, once: seeding, the random baseline, evaluation,
console lines in the tutorials' words, metrics.csv, TensorBoard summaries, checkpoints
with replay contents, resume, clean interrupts, the exported policy, the plot and the
videos.

The loop is TF-Agents' `tf_agents/train` examples' in shape: run the roles for as many
iterations as there are to the next periodic work, then let the triggers (`triggers`) do
it. Its phases are named as Dopamine's Runner names its own: `begin` (a fresh start or a
restore), `run_iterations`, `checkpoint`, `finish`. The caller has opened the run
(`run.lifecycle.open_run`: the lock, the config checks); `train` only trains.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tf_agents.policies import policy_saver

from tfa_recipes.config import dump_config
from tfa_recipes.envs.names import tf_native_name
from tfa_recipes.errors import Interrupted, RecipeError, first_line
from tfa_recipes.loop.evaluation import Evaluator
from tfa_recipes.loop.faults import is_write_fault, write_fault_line
from tfa_recipes.loop.outputs import plot_returns, write_agent_videos
from tfa_recipes.loop.roles import Iterations, Parts
from tfa_recipes.loop.signals import StopRequest
from tfa_recipes.loop.state import LoopState, summarize
from tfa_recipes.loop.triggers import (
    CheckpointTrigger,
    EvalTrigger,
    LogTrigger,
    iterations_to_next,
    write_scalars,
)
from tfa_recipes.output import progress
from tfa_recipes.run.checkpoints import Checkpoints, Manifest
from tfa_recipes.run.directory import MetricsLog, RunDir, RunSummary
from tfa_recipes.seeds import EVAL_SEED_OFFSET, set_seeds

# build(config, run, make_env, resources) -> Parts: the recipe's builder's `build`, or the
# learner's of a run with actors (`distributed.learner.learner_parts`).
BuildParts = Callable[..., Parts]


def train(
    recipe: Any,
    config: Any,
    run: RunDir,
    *,
    out: Callable[[str], None] = print,
    build: BuildParts | None = None,
    stage_replay: bool = True,
    ready: Callable[[], None] = lambda: None,
    shared: SharedLoop | None = None,
) -> RunSummary:
    """Train (or resume) `recipe` with `config` in `run`; returns the run's summary.

    Everything the recipe opens (Reverb servers, environments, writers) is registered in
    one `ExitStack` as it is opened, so it is closed however the run ends: finished,
    interrupted, a NaN loss, or an error while building. `build` defaults to the recipe's
    builder's; `stage_replay` False leaves the Reverb copy to a replay server of its own
    (the learner of a run with actors). `ready()` is called once the checkpoint is chosen
    and the parts are built, before the first iteration (the run's provenance is written
    then: a run refused before it writes none). `shared`: train on the parts and compiled
    calls of the seeds this process trained before (`SharedLoop`).
    """
    started = time.perf_counter()
    set_seeds(config.seed)
    build = build or recipe.built_by().build

    def make_env(seed: int) -> Any:
        return recipe.make_env(config, seed)

    checkpoints = Checkpoints(run)
    with contextlib.ExitStack() as resources:
        try:
            restored = checkpoints.select(out)
            if stage_replay:
                checkpoints.stage_replay(restored)
            if shared is None:
                parts = build(config, run, make_env, resources)
                ready()
                loop = Loop(recipe, config, run, parts, make_env, resources, out, checkpoints)
            else:
                loop = shared.loop_for(recipe, config, run, build, make_env, resources, out,
                                       checkpoints)
                ready()
            loop.started = started
            return loop.run(restored)
        except KeyboardInterrupt:
            # A second Ctrl-C: whatever was published before it is still there.
            raise Interrupted(checkpoints.newest_iteration(), run.path) from None
        except (OSError, tf.errors.OpError) as error:
            if not is_write_fault(error):
                raise
            raise RecipeError(write_fault_line(error, run, checkpoints)) from None


def checkpoint_of(
    parts: Parts, iteration: tf.Variable, env_steps: tf.Variable
) -> tf.train.Checkpoint:
    """What a run's checkpoint holds: the agent, the loop's counters, the train metrics and
    the parts' other state."""
    metrics_module = tf.Module()
    metrics_module.metrics = list(parts.train_metrics)
    return tf.train.Checkpoint(
        agent=parts.agent,
        iteration=iteration,
        env_steps=env_steps,
        # Resumed episode/step counts and running averages go on from where they were.
        train_metrics=metrics_module,
        **parts.trackables,
    )


class SharedLoop:
    """Seeds of one recipe trained one after another in this process on one set of parts,
    so that all but the first skip building the compiled calls (tracing and XLA compiling
    are most of a short TF-native run: 2,000 iterations of `dqn_cartpole_classic` on
    `tf:CartPole-v0` spend ~4 s in the loop, ~0.1 s of it training).

    Each seed's start is what its own process would start from: its parts are built afresh
    under its seed (cheap: nothing is traced) and their state copied into the shared
    parts through an in-memory checkpoint, after the shared parts' state is set back to
    how it was built (`pristine`: the variables the first trace creates, such as an
    optimizer's slots, at their initial values). All the randomness of a TF-native loop is
    state (`blocks.randomness`), so a seed trained here trains exactly as it does alone
    (tested). Only parts whose whole iterations trace (`GraphIterations`,
    `GraphEpisodes`) are shared; TensorFlow's persistent XLA cache, which would share
    compiled calls across processes instead, fails on CPU in TensorFlow 2.15
    ("No available targets are compatible with triple").
    """

    def __init__(self) -> None:
        # The first seed's parts outlive its run: they are every seed's.
        self.resources = contextlib.ExitStack()
        self.loop: Loop | None = None
        self._pristine: str | None = None
        self._config: Any = None
        self._copies = 0

    def __enter__(self) -> SharedLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.resources.close()

    def loop_for(self, recipe, config, run, build, make_env, resources, out, checkpoints):
        """The loop bound to `run`, its state that of a fresh run of `config`."""
        if self.loop is None:
            parts = build(config, run, make_env, self.resources)
            runner = parts.runner()
            if not hasattr(runner, "trace"):
                raise RecipeError(f"{recipe.name}'s seeds cannot share a process: its "
                                  "iterations are not one compiled call")
            runner.trace()
            self.loop = Loop(recipe, config, run, parts, make_env, resources, out, checkpoints)
            self._config = dataclasses.replace(config, seed=0)
            self._pristine = self._snapshot(self.loop.checkpoint)
            return self.loop
        if dataclasses.replace(config, seed=0) != self._config:
            raise RecipeError("the seeds of one process must differ in their seed alone")
        loop = self.loop
        fresh = build(config, run, make_env, resources)
        loop.checkpoint.read(self._pristine).assert_consumed()
        counters = (tf.Variable(0, dtype=tf.int64), tf.Variable(0, dtype=tf.int64))
        start = self._snapshot(checkpoint_of(fresh, *counters))
        # Every value of the fresh parts lands in the shared ones; the variables a trace
        # creates keep their pristine values.
        loop.checkpoint.read(start).expect_partial()
        loop.bind(config, run, resources, out, checkpoints)
        return loop

    def _snapshot(self, checkpoint: tf.train.Checkpoint) -> str:
        # TensorFlow's in-memory file system: nothing touches the disk.
        self._copies += 1
        return checkpoint.write(f"ram://shared_loop/{id(self)}/{self._copies}")


class Loop:
    """One call of `train`: the checkpointed counters, the logs, and the periodic work."""

    def __init__(
        self, recipe, config, run: RunDir, parts: Parts, make_env, resources, out, checkpoints
    ) -> None:
        self.recipe, self.parts = recipe, parts
        self.agent = parts.agent
        self.eval_policy = parts.eval_policy if parts.eval_policy is not None else self.agent.policy
        self.train_metrics = list(parts.train_metrics)
        self.iteration_var = tf.Variable(0, dtype=tf.int64, name="iteration")
        # Environment steps are counted here, from what each call of the roles reports.
        self.env_steps_var = tf.Variable(0, dtype=tf.int64, name="env_steps")
        self.checkpoint = checkpoint_of(parts, self.iteration_var, self.env_steps_var)
        self.evaluator = Evaluator(
            make_env,
            config.num_eval_episodes,
            config.seed + EVAL_SEED_OFFSET,
            tf_env_name=tf_native_name(config),
        )
        self._exporter: policy_saver.PolicySaver | None = None
        self.bind(config, run, resources, out, checkpoints)

    def bind(self, config, run: RunDir, resources, out, checkpoints) -> None:
        """The run this loop trains: its config, directory, logs and counters. Called once
        per run; a `SharedLoop` binds its one loop to each seed's run in turn."""
        self.config, self.run_dir, self.out = config, run, out
        self.state = LoopState(say=out)
        self.metrics = MetricsLog(
            run.metrics_csv, [f"Train{metric.name}" for metric in self.train_metrics]
        )
        # Every evaluation reseeds its episodes from this (`Evaluator`).
        self.evaluator.seed = config.seed + EVAL_SEED_OFFSET
        self.train_writer = tf.summary.create_file_writer(str(run.train_dir))
        self.eval_writer = tf.summary.create_file_writer(str(run.eval_dir))
        resources.callback(self.train_writer.close)
        resources.callback(self.eval_writer.close)
        self.checkpoints = checkpoints
        self.stop = StopRequest()
        self.started = time.perf_counter()

    # Phases.

    def run(self, restored: Manifest | None) -> RunSummary:
        started = self.started
        iterations = self.parts.runner()
        self.begin(iterations, restored)
        # Only once the checkpoint is restored: a resume that fails keeps the config the
        # run was started with.
        dump_config(self.config, self.run_dir.config_json)
        loop_started = time.perf_counter()
        self.run_iterations(iterations)
        train_seconds = time.perf_counter() - loop_started
        summary = self.finish(train_seconds)
        finished = time.perf_counter()
        summary = dataclasses.replace(
            summary,
            wall_seconds=finished - started,
            # Where a run's time goes besides the loop: building, restoring, the random
            # baseline, the warm-up and the first evaluation before it; saving,
            # exporting, plots and videos after it.
            phase_seconds={
                "startup": loop_started - started,
                "loop": train_seconds,
                "finish": finished - loop_started - train_seconds,
            },
        )
        self.run_dir.write_summary(summary.as_dict())
        return summary

    def begin(self, iterations: Iterations, restored: Manifest | None) -> None:
        """A fresh run: the random baseline, the warm-up, the evaluation at iteration 0. A
        resumed one: the checkpoint, its metrics rows and its replay, checked."""
        if restored is None:
            self.start_fresh(iterations)
        else:
            self.restore(restored, iterations)

    def start_fresh(self, iterations: Iterations) -> None:
        state = self.state
        state.random_average_return = self.evaluator.random_baseline().average_return
        self.out(f"random policy: Average Return = {state.random_average_return}")
        state.env_steps += iterations.initial_collect()
        initial = self.evaluator(self.eval_policy)
        self.out(f"step = 0: Average Return = {initial.average_return}")
        self.metrics.start()
        self.metrics.append(
            iteration=0,
            AverageReturn=initial.average_return,
            AverageEpisodeLength=initial.average_episode_length,
            EnvironmentSteps=state.env_steps,
            wall_seconds=time.perf_counter() - self.started,
        )
        write_scalars(self.eval_writer, 0, AverageReturn=initial.average_return)
        self.after_evaluation(initial.average_return)

    def restore(self, manifest: Manifest, iterations: Iterations) -> None:
        """The agent, counters and kept progress of a published checkpoint, checked to
        agree with its manifest; the replay contents refilled if they were not saved."""
        prefix = self.run_dir.path / manifest.agent
        try:
            self.checkpoint.read(str(prefix)).expect_partial()
        except Exception as error:  # noqa: BLE001 - any failure here: an unreadable checkpoint
            raise RecipeError(
                f"cannot restore the checkpoint in {self.run_dir.checkpoint_dir}: "
                f"{first_line(error)}"
            ) from None
        counters = (int(self.iteration_var.numpy()), int(self.env_steps_var.numpy()))
        if counters != (manifest.iteration, manifest.environment_steps):
            raise RecipeError(
                f"the checkpoint {prefix} holds iteration {counters[0]} and {counters[1]} "
                f"environment steps, its manifest {manifest.iteration} and "
                f"{manifest.environment_steps}: the run directory was altered"
            )
        state = self.state
        state.start = state.iteration = manifest.iteration
        state.env_steps = manifest.environment_steps
        state.random_average_return = manifest.progress.get("random_average_return")
        state.best_policy = manifest.progress.get("best_policy")
        state.stopped_at_return = manifest.progress.get("stopped_at_return")
        if not self.goal_reached():
            # Resumed with a higher threshold or none: the run trains on, no longer stopped.
            state.stopped_at_return = None
        if self.checkpoints.restore_metrics(manifest):
            self.out("metrics.csv had lost or changed rows of the checkpoint: restored them")
        replay = self.parts.replay
        items = None if replay is None else replay.num_items()
        if manifest.replay_items is not None and items not in (0, manifest.replay_items):
            raise RecipeError(
                f"the replay table holds {items} items, the checkpoint of iteration "
                f"{manifest.iteration} saved {manifest.replay_items}: the run directory was "
                "altered"
            )
        self.out(
            f"resuming from iteration {state.start} ({state.env_steps} environment steps"
            + ("" if items is None else f", {items} replay items")
            + ")"
        )
        if replay is not None and items == 0:
            self.out("the replay contents were not saved; refilling them with the initial collect")
            state.env_steps += iterations.initial_collect()

    def run_iterations(self, iterations: Iterations) -> None:
        """Call the roles up to the next periodic work, then let the triggers do it, until
        the budget is spent, --stop-at-return is reached or a stop is requested."""
        config, state = self.config, self.state
        intervals = (config.log_interval, config.eval_interval, config.checkpoint_interval)
        row_triggers = (
            LogTrigger(
                config.log_interval,
                state.start,
                state,
                self.train_writer,
                self.train_metrics,
                self.checkpoints.newest_iteration,
            ),
            EvalTrigger(
                config.eval_interval,
                state.start,
                state,
                functools.partial(self.evaluator, self.eval_policy),
                self.eval_writer,
                self.after_evaluation,
            ),
        )
        checkpoint = CheckpointTrigger(config.checkpoint_interval, state.start, self.checkpoint_now)
        per_call = getattr(iterations, "max_iterations_per_call", None)
        loop_started = time.perf_counter()
        wall_before = self.metrics.last_wall_seconds()
        with self.stop as stop, progress.bar(
            config.num_iterations, initial=state.start, desc=self.recipe.name
        ) as bar:
            state.say = functools.partial(progress.say, bar, out=self.out)
            while state.iteration < config.num_iterations and not self.goal_reached():
                chunk = iterations_to_next(state.iteration, config.num_iterations, intervals)
                if per_call is not None:
                    chunk = min(chunk, per_call)
                steps, state.loss_info = iterations.run(chunk)
                state.iteration += chunk
                state.env_steps += steps
                row: dict[str, float] = {}
                for trigger in row_triggers:
                    row.update(trigger(state.iteration))
                if row:
                    self.metrics.append(
                        iteration=state.iteration,
                        EnvironmentSteps=state.env_steps,
                        wall_seconds=wall_before + time.perf_counter() - loop_started,
                        **row,
                    )
                bar.update(chunk)
                if stop.requested:
                    self.checkpoint_now()
                    raise Interrupted(state.iteration, self.run_dir.path)
                checkpoint(state.iteration)
            self.checkpoint_now()
            if stop.requested:
                raise Interrupted(state.iteration, self.run_dir.path)
            state.say = self.out

    def checkpoint_now(self) -> None:
        """One checkpoint, published whole or not at all (see `run.checkpoints`)."""
        state = self.state
        self.iteration_var.assign(state.iteration)
        self.env_steps_var.assign(state.env_steps)
        with self.stop.saving():
            self.checkpoints.save(
                self.checkpoint.write,
                iteration=state.iteration,
                environment_steps=state.env_steps,
                replay=self.parts.replay,
                progress=state.progress(),
            )
        self.run_dir.write_summary(state.progress())

    def finish(self, train_seconds: float) -> RunSummary:
        """The exported policy, the summary, the plots and the videos."""
        state = self.state
        self.exporter().save(str(self.run_dir.policy_dir))
        summary = summarize(
            self.recipe.name,
            self.config,
            state,
            self.metrics.rows(),
            train_seconds,
            self.train_metrics,
        )
        plot_returns(self.recipe, self.run_dir, state.random_average_return)
        write_agent_videos(self.recipe, self.config, self.run_dir, self.eval_policy)
        return summary

    # What an evaluation leads to.

    def after_evaluation(self, average_return: float) -> None:
        self.keep_if_best(average_return)
        self.stop_if_goal(average_return)

    def stop_if_goal(self, average_return: float) -> None:
        state = self.state
        if average_return < self.config.stop_at_return:
            return
        state.stopped_at_return = {"iteration": state.iteration, "average_return": average_return}
        state.say(
            f"step = {state.iteration}: Average Return {average_return} reaches "
            f"--stop-at-return {self.config.stop_at_return}: training stops"
        )

    def goal_reached(self) -> bool:
        """Whether an evaluation reached --stop-at-return: a resumed run with the same (or a
        lower) threshold has nothing left to train; a higher one or none trains on."""
        stopped = self.state.stopped_at_return
        return stopped is not None and stopped["average_return"] >= self.config.stop_at_return

    def keep_if_best(self, average_return: float) -> None:
        state = self.state
        best = state.best_policy
        if not self.recipe.export_best_policy or (
            best and best["average_return"] >= average_return
        ):
            return
        # The export records iteration_var as its train step; a checkpoint sets it again.
        self.iteration_var.assign(state.iteration)
        self.exporter().save(str(self.run_dir.best_policy_dir))
        state.best_policy = {"iteration": state.iteration, "average_return": average_return}
        self.run_dir.write_summary(state.progress())

    def exporter(self) -> policy_saver.PolicySaver:
        # One saver for the best and the final export: building one traces the policy.
        if self._exporter is None:
            self._exporter = policy_saver.PolicySaver(
                self.agent.policy, batch_size=None, train_step=self.iteration_var
            )
        return self._exporter
