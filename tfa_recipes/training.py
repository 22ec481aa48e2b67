"""The training loop every TF-Agents recipe shares.

A recipe supplies its environment and its `Parts` (the agent and its roles, see `roles`);
this module owns the rest, once: seeding, the random baseline, evaluation, console lines
in the tutorials' words, metrics.csv, TensorBoard summaries, checkpoints with replay
contents, resume, clean interrupts, the exported policy, the plot and the videos.

The loop is TF-Agents' `tf_agents/train` examples' in shape: run the roles for as many
iterations as there are to the next periodic work, then let `IntervalTrigger`s do it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import math
import re
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.environments import py_environment
from tf_agents.policies import policy_saver, py_tf_eager_policy, random_py_policy, tf_policy
from tf_agents.train import interval_trigger

from tfa_recipes import media, progress, roles
from tfa_recipes.checkpoints import Checkpoints, Manifest, ReplayStore
from tfa_recipes.config import LoopConfig, dump_config
from tfa_recipes.errors import Diverged, Interrupted, RecipeError, first_line
from tfa_recipes.evaluation import Evaluator
from tfa_recipes.policies import CompiledPyTFEagerPolicy
from tfa_recipes.runs import MetricsLog, RunDir, RunLock, RunSummary

EVAL_SEED_OFFSET = 10_000
VIDEO_SEED_OFFSET = 20_000
# The from-scratch recipes' random baselines (the TF-Agents loop's uses the eval seeds).
RANDOM_SEED_OFFSET = 30_000


@dataclass(frozen=True)
class Parts:
    """What a recipe builds; the loop drives it.

    Either a `lockstep` (whole iterations per compiled call) or a `collector` and a
    `learner` (one iteration at a time from Python), see `roles`.
    trackables: state saved in the checkpoint beside the agent (an in-graph replay
        buffer, the recipe's own counters).
    replay: replay contents that live outside the checkpoint (Reverb): written with each
        checkpoint, and refilled by the warm-up if a resumed run finds them gone.
    eval_policy: the policy evaluated and filmed (default: `agent.policy`).
    train_metrics: `tf_metrics` that collection feeds; logged with the loss (console,
        TensorBoard `train/Metrics/<name>`, metrics.csv `Train<name>`) and checkpointed.
    closers: called on every way out of the loop (Reverb servers, writers).
    """

    agent: tf_agent.TFAgent
    lockstep: roles.Lockstep | None = None
    collector: roles.Collector | None = None
    learner: roles.Learner | None = None
    trackables: Mapping[str, Any] = field(default_factory=dict)
    replay: ReplayStore | None = None
    eval_policy: tf_policy.TFPolicy | None = None
    train_metrics: Sequence[Any] = ()
    closers: Sequence[Callable[[], None]] = ()

    def __post_init__(self) -> None:
        serial = self.collector is not None and self.learner is not None
        if serial == (self.lockstep is not None):
            raise ValueError("Parts needs a collector and a learner, or a lockstep alone")

    def iterations(self) -> roles.Lockstep:
        return self.lockstep if self.lockstep is not None else _Serial(self.collector, self.learner)


class _Serial:
    """A collector and a learner, one iteration at a time: `collector.run()`, then
    `learner.run(1)`, as the tutorials' loops alternate them."""

    # The loop looks between calls for a stop request and for due triggers.
    max_iterations_per_call = 1

    def __init__(self, collector: roles.Collector, learner: roles.Learner) -> None:
        self._collector = collector
        self._learner = learner

    def initial_collect(self) -> int:
        return self._collector.initial_collect()

    def run(self, iterations: int) -> tuple[int, tf_agent.LossInfo | None]:
        steps, loss_info = 0, None
        for _ in range(iterations):
            steps += self._collector.run()
            loss_info = self._learner.run(1)
        return steps, loss_info


@dataclass(frozen=True)
class Recipe:
    """A runnable recipe: its name, config type, environment and pieces."""

    name: str
    description: str
    config_cls: type
    make_env: Callable[[Any, int], py_environment.PyEnvironment]
    # build(config, run, make_env, resources) -> Parts; whatever it opens that needs
    # closing goes on `resources` (an ExitStack) as it is opened.
    build: Callable[..., Parts]
    # The highest return the environment allows, for the plot's y axis (None: automatic).
    plot_ylim_top: float | None = 250
    # Frames per video at most (None: whole episodes); Atari episodes can last 27,000 steps.
    max_video_frames: int | None = None
    # The tutorial's published return, drawn on returns.png beside the random policy's:
    # (label, value), or None when the tutorial shows no figure.
    published_return: tuple[str, float] | None = None
    # Also export the greedy policy at its best evaluation (policies/best_policy), for a
    # recipe whose returns rise and collapse again during training (vanilla DQN from pixels).
    export_best_policy: bool = False
    # What the recipe hands the distributed roles (`distributed.Fleet`): a recipe that has
    # one takes --actors and --role.
    fleet: Any = None

    @property
    def module(self) -> str:
        return f"tfa_recipes.{self.name}"

    def train(
        self, config: Any, run: RunDir, *, replay_address: str | None = None
    ) -> dict[str, Any]:
        """Train (or resume); the summary as summary.json has it. With `replay_address`,
        as the learner of a run with actors (`distributed`)."""
        return train(self, config, run, replay_address=replay_address).as_dict()

    def replay(self, config: Any, run: RunDir, *, best: bool = False) -> tuple[float, Any]:
        return replay_saved_policy(self, config, run, best=best)

    def main(self, argv: list[str] | None = None) -> int:
        from tfa_recipes.cli import run_recipe

        return run_recipe(self, argv)


class StopRequest:
    """SIGINT/SIGTERM set a flag the loop checks between iterations; a second SIGINT
    stops at once, except inside a checkpoint's save, which it lets finish."""

    def __init__(self) -> None:
        self.requested = False
        self._saving = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT and not self._saving:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def saving(self) -> Any:
        self._saving = True
        try:
            yield
        finally:
            self._saving = False


def set_seeds(seed: int) -> None:
    """Python, NumPy and TensorFlow's global seed (graph-level op seeds follow from it)."""
    tf.keras.utils.set_random_seed(seed)


def train(
    recipe: Recipe,
    config: LoopConfig,
    run: RunDir,
    *,
    out: Callable[[str], None] = print,
    replay_address: str | None = None,
) -> RunSummary:
    """Train (or resume) `recipe` with `config` in `run`; returns the run's summary.

    Everything the recipe opens (Reverb servers, environments, writers) is registered in
    one `ExitStack` as it is opened, so it is closed however the run ends: finished,
    interrupted, a NaN loss, or an error while building. With `replay_address` the run
    is the learner of a run with actors: the replay server there (which loads the table's
    copy itself) holds what the actors collect (`distributed`).
    """
    started = time.perf_counter()
    set_seeds(config.seed)
    make_env = functools.partial(recipe.make_env, config)
    checkpoints = Checkpoints(run)
    with contextlib.ExitStack() as resources:
        # Notebooks call this directly; from the CLI the lock is already this process's.
        resources.enter_context(RunLock(run))
        try:
            restored = checkpoints.select(out)
            if replay_address is None:
                checkpoints.stage_replay(restored)
                parts = recipe.build(config, run, make_env, resources)
            else:
                # Imported here: distributed builds on this module's Parts.
                from tfa_recipes.distributed import learner_parts

                parts = learner_parts(recipe, config, run, resources, replay_address)
            loop = _Loop(recipe, config, run, parts, make_env, resources, out, started, checkpoints)
            return loop.run(restored)
        except KeyboardInterrupt:
            # A second Ctrl-C: whatever was published before it is still there.
            raise Interrupted(checkpoints.newest_iteration(), run.path) from None
        except OSError as error:
            if error.errno not in WRITE_FAULTS:
                raise
            raise RecipeError(_io_fault(error, run, checkpoints)) from None
        except tf.errors.OpError as error:
            if not _is_io_fault(error):
                raise
            raise RecipeError(_io_fault(error, run, checkpoints)) from None


# What a failed write of the run directory raises: a full disk or quota, a read-only or
# protected folder, a failing device (other OSErrors are not the run directory's).
WRITE_FAULTS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
)


def _is_io_fault(error: tf.errors.OpError) -> bool:
    return isinstance(
        error, tf.errors.ResourceExhaustedError | tf.errors.PermissionDeniedError
    ) or "No space left on device" in (error.message or "")


def _io_fault(error: Exception, run: RunDir, checkpoints: Checkpoints) -> str:
    """One line for a failed write (a full disk, a read-only folder): what failed, and what
    is still intact for a resume."""
    if isinstance(error, OSError):
        what = f"{error.strerror or error}" + (f" ({error.filename})" if error.filename else "")
    else:
        # TF prefixes the failing op ("{{function_node __wrapped__...}} "): not the user's.
        message = re.sub(r"^\{\{[^}]*\}\}\s*", "", error.message or "")
        what = (message or type(error).__name__).splitlines()[0]
    saved = checkpoints.newest_iteration()
    kept = (
        f"the checkpoint of iteration {saved} is intact: resume with --run-dir {run.path} "
        "once the cause is fixed"
        if saved is not None
        else "nothing was checkpointed yet"
    )
    return f"cannot write to {run.path}: {what}; {kept}"


class _Loop:
    """One call of `train`: the checkpointed counters, the logs, and the periodic work
    (log, evaluate and keep the best, checkpoint) as `IntervalTrigger`s on iterations."""

    def __init__(
        self, recipe, config, run, parts, make_env, resources, out, started, checkpoints
    ) -> None:
        self.recipe, self.config, self.run_dir, self.parts = recipe, config, run, parts
        self.out, self.started = out, started
        self.agent = parts.agent
        self.eval_policy = parts.eval_policy if parts.eval_policy is not None else self.agent.policy
        self.train_metrics = list(parts.train_metrics)
        self.iteration_var = tf.Variable(0, dtype=tf.int64, name="iteration")
        # Environment steps are counted here, from what each call of the roles reports.
        self.env_steps_var = tf.Variable(0, dtype=tf.int64, name="env_steps")
        self.checkpoint = tf.train.Checkpoint(
            agent=self.agent,
            iteration=self.iteration_var,
            env_steps=self.env_steps_var,
            # Resumed episode/step counts and running averages go on from where they were.
            train_metrics=_metrics_module(self.train_metrics),
            **parts.trackables,
        )
        self.metrics = MetricsLog(
            run.metrics_csv, [f"Train{metric.name}" for metric in self.train_metrics]
        )
        self.evaluator = Evaluator(
            make_env, config.num_eval_episodes, config.seed + EVAL_SEED_OFFSET
        )
        self.random_average_return = None
        self.best_policy = None
        # {"iteration", "average_return"} of the evaluation that reached --stop-at-return.
        self.stopped_at_return = None
        self.start = self.env_steps = self.iteration = 0
        self.loss_info = None
        self.row: dict[str, float] = {}
        self.train_writer = tf.summary.create_file_writer(str(run.train_dir))
        self.eval_writer = tf.summary.create_file_writer(str(run.eval_dir))
        resources.callback(self.train_writer.close)
        resources.callback(self.eval_writer.close)
        self._exporter = None
        self.say: Callable[[str], None] = out
        self.checkpoints: Checkpoints = checkpoints
        self.stop = StopRequest()

    def restore(self, manifest: Manifest) -> None:
        """The agent, counters and kept progress of a published checkpoint, checked to
        agree with its manifest."""
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
        self.start = self.iteration = manifest.iteration
        self.env_steps = manifest.environment_steps
        self.random_average_return = manifest.progress.get("random_average_return")
        self.best_policy = manifest.progress.get("best_policy")
        self.stopped_at_return = manifest.progress.get("stopped_at_return")
        if not self.goal_reached():
            # Resumed with a higher threshold or none: the run trains on, no longer stopped.
            self.stopped_at_return = None

    # The periodic work, each a trigger's function (IntervalTrigger calls it bare).

    def log(self) -> None:
        if self.loss_info is None:
            return
        loss = float(self.loss_info.loss.numpy())
        if not math.isfinite(loss):
            saved = self.checkpoints.newest_iteration()
            raise Diverged(
                f"loss became {loss} at iteration {self.iteration} (is the learning rate too "
                "high?)"
                + (f"; the checkpoint of iteration {saved} is kept" if saved is not None else "")
            )
        self.say(f"step = {self.iteration}: loss = {loss}")
        self.row["loss"] = loss
        _write_scalars(
            self.train_writer, self.iteration, Loss=loss, EnvironmentSteps=self.env_steps
        )
        if self.train_metrics:
            values = {metric.name: float(metric.result()) for metric in self.train_metrics}
            logged = ", ".join(f"{name} = {value}" for name, value in values.items())
            self.say(f"step = {self.iteration}: {logged}")
            self.row.update({f"Train{name}": value for name, value in values.items()})
            _write_scalars(
                self.train_writer,
                self.iteration,
                **{f"Metrics/{name}": value for name, value in values.items()},
            )

    def evaluate(self) -> None:
        result = self.evaluator(self.eval_policy)
        self.say(f"step = {self.iteration}: Average Return = {result.average_return}")
        self.row["AverageReturn"] = result.average_return
        self.row["AverageEpisodeLength"] = result.average_episode_length
        _write_scalars(
            self.eval_writer,
            self.iteration,
            AverageReturn=result.average_return,
            AverageEpisodeLength=result.average_episode_length,
        )
        self.keep_if_best(result.average_return)
        self.stop_if_goal(result.average_return)

    def stop_if_goal(self, average_return: float) -> None:
        if average_return < self.config.stop_at_return:
            return
        self.stopped_at_return = {"iteration": self.iteration, "average_return": average_return}
        self.say(
            f"step = {self.iteration}: Average Return {average_return} reaches "
            f"--stop-at-return {self.config.stop_at_return}: training stops"
        )

    def goal_reached(self) -> bool:
        """Whether an evaluation reached --stop-at-return: a resumed run with the same (or a
        lower) threshold has nothing left to train; a higher one or none trains on."""
        stopped = self.stopped_at_return
        return stopped is not None and stopped["average_return"] >= self.config.stop_at_return

    def keep_if_best(self, average_return: float) -> None:
        best = self.best_policy
        if not self.recipe.export_best_policy or (
            best and best["average_return"] >= average_return
        ):
            return
        # The export records iteration_var as its train step; save() sets it again.
        self.iteration_var.assign(self.iteration)
        self.exporter().save(str(self.run_dir.best_policy_dir))
        self.best_policy = {"iteration": self.iteration, "average_return": average_return}
        self.run_dir.write_summary(self.progress_summary())

    def save(self) -> None:
        """One checkpoint, published whole or not at all (see `checkpoints`)."""
        self.iteration_var.assign(self.iteration)
        self.env_steps_var.assign(self.env_steps)
        with self.stop.saving():
            self.checkpoints.save(
                self.checkpoint.write,
                iteration=self.iteration,
                environment_steps=self.env_steps,
                replay=self.parts.replay,
                progress=self.progress_summary(),
            )
        self.run_dir.write_summary(self.progress_summary())

    def exporter(self) -> policy_saver.PolicySaver:
        # One saver for the best and the final export: building one traces the policy.
        if self._exporter is None:
            self._exporter = policy_saver.PolicySaver(
                self.agent.policy, batch_size=None, train_step=self.iteration_var
            )
        return self._exporter

    def progress_summary(self) -> dict[str, Any]:
        """What a resumed run needs back from summary.json before the run has finished."""
        kept = {"random_average_return": self.random_average_return}
        if self.best_policy is not None:
            kept["best_policy"] = self.best_policy
        if self.stopped_at_return is not None:
            kept["stopped_at_return"] = self.stopped_at_return
        return kept

    def begin(self, iterations: roles.Lockstep, restored: Manifest | None) -> None:
        replay = self.parts.replay
        if restored is None:
            self.random_average_return = self.evaluator.random_baseline().average_return
            self.out(f"random policy: Average Return = {self.random_average_return}")
            self.env_steps += iterations.initial_collect()
            initial = self.evaluator(self.eval_policy)
            self.out(f"step = 0: Average Return = {initial.average_return}")
            self.metrics.start()
            self.metrics.append(
                iteration=0,
                AverageReturn=initial.average_return,
                AverageEpisodeLength=initial.average_episode_length,
                EnvironmentSteps=self.env_steps,
                wall_seconds=time.perf_counter() - self.started,
            )
            _write_scalars(self.eval_writer, 0, AverageReturn=initial.average_return)
            self.keep_if_best(initial.average_return)
            self.stop_if_goal(initial.average_return)
            return
        self.restore(restored)
        if self.checkpoints.restore_metrics(restored):
            self.out("metrics.csv had lost or changed rows of the checkpoint: restored them")
        items = None if replay is None else replay.num_items()
        if restored.replay_items is not None and items not in (0, restored.replay_items):
            raise RecipeError(
                f"the replay table holds {items} items, the checkpoint of iteration "
                f"{restored.iteration} saved {restored.replay_items}: the run directory was altered"
            )
        self.out(
            f"resuming from iteration {self.start} ({self.env_steps} environment steps"
            + ("" if items is None else f", {items} replay items")
            + ")"
        )
        if replay is not None and items == 0:
            self.out("the replay contents were not saved; refilling them with the initial collect")
            self.env_steps += iterations.initial_collect()

    def run(self, restored: Manifest | None) -> RunSummary:
        config = self.config
        iterations = self.parts.iterations()
        self.begin(iterations, restored)
        # Only once the checkpoint is restored: a resume that fails keeps the config the
        # run was started with.
        dump_config(config, self.run_dir.config_json)
        intervals = (config.log_interval, config.eval_interval, config.checkpoint_interval)
        triggers = [
            # Started at the last multiple before `start`: the work falls on multiples of
            # its interval, in a resumed run as in a fresh one.
            interval_trigger.IntervalTrigger(interval, fn, start=self.start - self.start % interval)
            for interval, fn in zip(intervals, (self.log, self.evaluate, self.save), strict=True)
        ]
        per_call = getattr(iterations, "max_iterations_per_call", None)
        loop_started = time.perf_counter()
        wall_before = _last_wall_seconds(self.metrics)
        with self.stop as stop, progress.bar(
            config.num_iterations, initial=self.start, desc=self.recipe.name
        ) as bar:
            self.say = functools.partial(progress.say, bar, out=self.out)
            while self.iteration < config.num_iterations and not self.goal_reached():
                chunk = _iterations_to_next(self.iteration, config.num_iterations, intervals)
                if per_call is not None:
                    chunk = min(chunk, per_call)
                steps, loss_info = iterations.run(chunk)
                self.iteration += chunk
                self.env_steps += steps
                self.loss_info = loss_info
                self.row = {}
                # log and evaluate; the checkpoint waits for the row to be written.
                for trigger in triggers[:2]:
                    trigger(self.iteration)
                if self.row:
                    self.metrics.append(
                        iteration=self.iteration,
                        EnvironmentSteps=self.env_steps,
                        wall_seconds=wall_before + time.perf_counter() - loop_started,
                        **self.row,
                    )
                bar.update(chunk)
                if stop.requested:
                    self.save()
                    raise Interrupted(self.iteration, self.run_dir.path)
                triggers[2](self.iteration)
            self.save()
            if stop.requested:
                raise Interrupted(self.iteration, self.run_dir.path)
        train_seconds = time.perf_counter() - loop_started
        self.exporter().save(str(self.run_dir.policy_dir))
        summary = self.finish(train_seconds)
        finished = time.perf_counter()
        summary = dataclasses.replace(
            summary,
            wall_seconds=finished - self.started,
            # Where a run's time goes besides the loop: building, restoring, the random
            # baseline, the warm-up and the first evaluation before it; saving,
            # exporting, plots and videos after it.
            phase_seconds={
                "startup": loop_started - self.started,
                "loop": train_seconds,
                "finish": finished - loop_started - train_seconds,
            },
        )
        self.run_dir.write_summary(summary.as_dict())
        return summary

    def finish(self, train_seconds: float) -> RunSummary:
        evaluations = [row for row in self.metrics.rows() if not math.isnan(row["AverageReturn"])]
        summary = RunSummary(
            recipe=self.recipe.name,
            seed=self.config.seed,
            iterations=self.iteration,
            environment_steps=self.env_steps,
            final_average_return=evaluations[-1]["AverageReturn"],
            best_average_return=max(row["AverageReturn"] for row in evaluations),
            evaluations=[[int(row["iteration"]), row["AverageReturn"]] for row in evaluations],
            train_seconds=train_seconds,
            environment_steps_per_second=(
                self.env_steps / train_seconds if train_seconds else None
            ),
            random_average_return=self.random_average_return,
            best_policy=self.best_policy,
            stopped_at_return=self.stopped_at_return,
            # Recipes that can run with actors have the field; the others leave it out.
            actors=getattr(self.config, "actors", None),
            final_loss=None if self.loss_info is None else float(self.loss_info.loss.numpy()),
            train_metrics=(
                {metric.name: float(metric.result()) for metric in self.train_metrics}
                if self.train_metrics
                else None
            ),
        )
        references = {}
        if self.random_average_return is not None:
            references["random policy"] = self.random_average_return
        if self.recipe.published_return is not None:
            label, value = self.recipe.published_return
            references[label] = value
        media.plot_run(self.run_dir, ylim_top=self.recipe.plot_ylim_top, references=references)
        write_agent_videos(self.recipe, self.config, self.run_dir, self.eval_policy)
        return summary


def _iterations_to_next(iteration: int, end: int, intervals: Sequence[int]) -> int:
    """Iterations from `iteration` to the next multiple of any interval, or to `end`."""
    return min([end - iteration] + [i - iteration % i for i in intervals if i > 0])


def write_agent_videos(
    recipe: Recipe, config: LoopConfig, run: RunDir, trained_policy: tf_policy.TFPolicy
) -> None:
    """trained-agent and random-agent videos, as the tutorials end (and best-agent, the
    policy kept at its best evaluation, where the recipe keeps one)."""
    if config.num_video_episodes == 0:
        return
    py_env = recipe.make_env(config, config.seed + VIDEO_SEED_OFFSET)
    policies = {
        "trained-agent": CompiledPyTFEagerPolicy(trained_policy),
        "random-agent": random_py_policy.RandomPyPolicy(
            py_env.time_step_spec(), py_env.action_spec()
        ),
    }
    if recipe.export_best_policy and (run.best_policy_dir / "saved_model.pb").is_file():
        policies["best-agent"] = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
            str(run.best_policy_dir), py_env.time_step_spec(), py_env.action_spec()
        )
    for name, policy in policies.items():
        media.record_policy(
            py_env,
            policy,
            run.video(name, config.video_format),
            num_episodes=config.num_video_episodes,
            fps=config.video_fps,
            max_frames=recipe.max_video_frames,
        )


def _metrics_module(train_metrics: Sequence[Any]) -> tf.Module:
    module = tf.Module()
    module.metrics = list(train_metrics)
    return module


def _write_scalars(writer, step: int, **values: float) -> None:
    with writer.as_default():
        for name, value in values.items():
            tf.summary.scalar(name, value, step=step)
    writer.flush()


def _last_wall_seconds(metrics: MetricsLog) -> float:
    rows = metrics.rows()
    return rows[-1]["wall_seconds"] if rows else 0.0


def replay_saved_policy(
    recipe: Recipe, config: LoopConfig, run: RunDir, *, best: bool = False
) -> tuple[float, Any]:
    """Load `policies/policy` (or `policies/best_policy`) of a run, evaluate it and film it.

    The evaluation is training's: the same compiled `Evaluator` on the same seeded
    episodes (`config.seed + EVAL_SEED_OFFSET`), so a greedy policy scores what the run's
    last evaluation of it scored. Returns the average return over `num_eval_episodes`
    and the video path (or None).
    """
    policy_dir = run.best_policy_dir if best else run.policy_dir
    if not (policy_dir / "saved_model.pb").is_file():
        raise RecipeError(f"no exported policy in {policy_dir}: train the run first")
    make_env = functools.partial(recipe.make_env, config)
    def unreadable(error: Exception) -> RecipeError:
        return RecipeError(f"cannot load the policy in {policy_dir}: {first_line(error)}")

    try:
        policy = tf.saved_model.load(str(policy_dir))
    except Exception as error:  # noqa: BLE001 - a damaged SavedModel fails in many ways
        # (truncated variables: IndexError "Read less bytes than requested")
        raise unreadable(error) from None
    try:
        result = Evaluator(make_env, config.num_eval_episodes, config.seed + EVAL_SEED_OFFSET)(
            policy
        )
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise unreadable(error) from None
    video = None
    if config.num_video_episodes:
        py_env = make_env(config.seed + VIDEO_SEED_OFFSET)
        video = media.record_policy(
            py_env,
            py_tf_eager_policy.SavedModelPyTFEagerPolicy(
                str(policy_dir), py_env.time_step_spec(), py_env.action_spec()
            ),
            run.video("saved-best-policy" if best else "saved-policy", config.video_format),
            num_episodes=config.num_video_episodes,
            fps=config.video_fps,
            max_frames=recipe.max_video_frames,
        )
    return result.average_return, video
