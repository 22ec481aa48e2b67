"""The training loop every TF-Agents recipe shares.

A recipe supplies its environment and its `Pieces` (agent, one iteration's collection,
one train step); this module owns the rest, once: seeding, the random baseline, evaluation,
console lines in the tutorials' words, metrics.csv, TensorBoard summaries, checkpoints with
replay contents, resume, clean interrupts, the exported policy, the plot and the videos.
"""

from __future__ import annotations

import functools
import math
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.environments import py_environment
from tf_agents.policies import policy_saver, py_tf_eager_policy, random_py_policy, tf_policy
from tf_agents.utils import common

from tfa_recipes import media, progress
from tfa_recipes.config import LoopConfig, dump_config
from tfa_recipes.errors import Interrupted, RecipeError
from tfa_recipes.evaluation import Evaluator
from tfa_recipes.policies import CompiledPyTFEagerPolicy
from tfa_recipes.runs import MetricsLog, RunDir

EVAL_SEED_OFFSET = 10_000
VIDEO_SEED_OFFSET = 20_000
# The from-scratch recipes' random baselines (the TF-Agents loop's uses the eval seeds).
RANDOM_SEED_OFFSET = 30_000


@dataclass
class Pieces:
    """What a recipe builds; the loop drives it.

    collect: one iteration's data collection; returns the environment steps it took.
    train_step: one update of the agent on replayed experience; returns its LossInfo,
        or None when there was nothing to learn from yet (no loss is logged then).
    collect_and_train: both in one call, in that order; returns (steps, LossInfo). For a
        recipe that compiles an in-graph driver and the train step into one function;
        give either it or collect and train_step.
    initial_collect: the random warm-up before the first iteration (fresh runs only).
    trackables: state saved in the checkpoint beside the agent (an in-graph replay buffer).
    save_replay: writes replay contents that live outside the checkpoint (Reverb).
    replay_size: items in that replay, to refill it if a resumed run finds it empty.
    eval_policy: the policy evaluated and filmed (default: `agent.policy`).
    train_metrics: `tf_metrics` that collection feeds; logged with the loss (console,
        TensorBoard `train/Metrics/<name>`, metrics.csv `Train<name>`) and checkpointed.
    """

    agent: tf_agent.TFAgent
    collect: Callable[[], int] | None = None
    train_step: Callable[[], tf_agent.LossInfo | None] | None = None
    collect_and_train: Callable[[], tuple[int, tf_agent.LossInfo]] | None = None
    initial_collect: Callable[[], int] = lambda: 0
    trackables: dict[str, Any] = field(default_factory=dict)
    save_replay: Callable[[], None] = lambda: None
    replay_size: Callable[[], int] | None = None
    close: Callable[[], None] = lambda: None
    eval_policy: tf_policy.TFPolicy | None = None
    train_metrics: Sequence[Any] = ()

    def __post_init__(self) -> None:
        separate = self.collect is not None and self.train_step is not None
        if separate == (self.collect_and_train is not None):
            raise ValueError("Pieces needs collect and train_step, or collect_and_train alone")

    def run_iteration(self) -> tuple[int, tf_agent.LossInfo | None]:
        """Collect, then one train step: (environment steps, LossInfo or None)."""
        if self.collect_and_train is not None:
            return self.collect_and_train()
        steps = self.collect()
        return steps, self.train_step()


@dataclass(frozen=True)
class Recipe:
    """A runnable recipe: its name, config type, environment and pieces."""

    name: str
    description: str
    config_cls: type
    make_env: Callable[[Any, int], py_environment.PyEnvironment]
    build: Callable[[Any, RunDir, Callable[[int], py_environment.PyEnvironment]], Pieces]
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

    @property
    def module(self) -> str:
        return f"tfa_recipes.{self.name}"

    def train(self, config: Any, run: RunDir) -> dict[str, Any]:
        return train(self, config, run)

    def replay(self, config: Any, run: RunDir, *, best: bool = False) -> tuple[float, Any]:
        return replay_saved_policy(self, config, run, best=best)

    def main(self, argv: list[str] | None = None) -> int:
        from tfa_recipes.cli import run_recipe

        return run_recipe(self, argv)


class _StopRequest:
    """SIGINT/SIGTERM set a flag the loop checks between iterations; a second SIGINT
    stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True


def set_seeds(seed: int) -> None:
    """Python, NumPy and TensorFlow's global seed (graph-level op seeds follow from it)."""
    tf.keras.utils.set_random_seed(seed)


def train(
    recipe: Recipe, config: LoopConfig, run: RunDir, *, out: Callable[[str], None] = print
) -> dict[str, Any]:
    """Train (or resume) `recipe` with `config` in `run`; returns the run's summary."""
    started = time.perf_counter()
    set_seeds(config.seed)
    make_env = functools.partial(recipe.make_env, config)
    pieces = recipe.build(config, run, make_env)
    agent = pieces.agent
    eval_policy = pieces.eval_policy if pieces.eval_policy is not None else agent.policy
    train_metrics = list(pieces.train_metrics)
    iteration_var = tf.Variable(0, dtype=tf.int64, name="iteration")
    env_steps_var = tf.Variable(0, dtype=tf.int64, name="env_steps")
    try:
        # common.Checkpointer restores the latest checkpoint as it is constructed.
        checkpointer = common.Checkpointer(
            ckpt_dir=str(run.checkpoint_dir),
            max_to_keep=1,
            agent=agent,
            iteration=iteration_var,
            env_steps=env_steps_var,
            # Resumed episode/step counts and running averages go on from where they were.
            train_metrics=_metrics_module(train_metrics),
            **pieces.trackables,
        )
        checkpointer.initialize_or_restore().expect_partial()
    except Exception as error:  # noqa: BLE001 - any failure here means an unreadable checkpoint
        pieces.close()
        raise RecipeError(
            f"cannot restore the checkpoint in {run.checkpoint_dir}: "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
        ) from None
    dump_config(config, run.config_json)
    metrics = MetricsLog(run.metrics_csv, [f"Train{metric.name}" for metric in train_metrics])
    evaluator = Evaluator(make_env, config.num_eval_episodes, config.seed + EVAL_SEED_OFFSET)
    summary: dict[str, Any] = run.read_summary() if run.summary_json.is_file() else {}
    start = int(iteration_var.numpy())
    env_steps = int(env_steps_var.numpy())
    train_writer = tf.summary.create_file_writer(str(run.train_dir))
    eval_writer = tf.summary.create_file_writer(str(run.eval_dir))

    # One saver for the best and the final export: building one traces the policy.
    @functools.cache
    def exporter() -> policy_saver.PolicySaver:
        return policy_saver.PolicySaver(agent.policy, batch_size=None, train_step=iteration_var)

    def keep_if_best(iteration: int, average_return: float) -> None:
        best = summary.get("best_policy")
        if not recipe.export_best_policy or (best and best["average_return"] >= average_return):
            return
        # The export records iteration_var as its train step; save() sets it again.
        iteration_var.assign(iteration)
        exporter().save(str(run.best_policy_dir))
        summary["best_policy"] = {"iteration": iteration, "average_return": average_return}
        run.write_summary(summary)

    if start == 0:
        random_result = evaluator.random_baseline()
        out(f"random policy: Average Return = {random_result.average_return}")
        summary["random_average_return"] = random_result.average_return
        env_steps += pieces.initial_collect()
        initial = evaluator(eval_policy)
        out(f"step = 0: Average Return = {initial.average_return}")
        metrics.truncate_after(-1)
        metrics.append(
            iteration=0,
            AverageReturn=initial.average_return,
            AverageEpisodeLength=initial.average_episode_length,
            EnvironmentSteps=env_steps,
            wall_seconds=time.perf_counter() - started,
        )
        _write_scalars(eval_writer, 0, AverageReturn=initial.average_return)
        keep_if_best(0, initial.average_return)
    else:
        metrics.truncate_after(start)
        restored = "" if pieces.replay_size is None else f", {pieces.replay_size()} replay items"
        out(f"resuming from iteration {start} ({env_steps} environment steps{restored})")
        if pieces.replay_size is not None and pieces.replay_size() == 0:
            out("the replay contents were not saved; refilling them with the initial collect")
            env_steps += pieces.initial_collect()

    def save(iteration: int) -> None:
        iteration_var.assign(iteration)
        env_steps_var.assign(env_steps)
        pieces.save_replay()
        checkpointer.save(global_step=iteration)
        run.write_summary(summary)

    loss_info = None
    loop_started = time.perf_counter()
    wall_before = _last_wall_seconds(metrics)
    with _StopRequest() as stop, progress.bar(
        config.num_iterations, initial=start, desc=recipe.name
    ) as bar:
        say = functools.partial(progress.say, bar, out=out)
        for iteration in range(start + 1, config.num_iterations + 1):
            steps, loss_info = pieces.run_iteration()
            env_steps += steps
            row: dict[str, float] = {}
            if iteration % config.log_interval == 0 and loss_info is not None:
                loss = float(loss_info.loss.numpy())
                if not math.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss} at iteration {iteration}")
                say(f"step = {iteration}: loss = {loss}")
                row["loss"] = loss
                _write_scalars(train_writer, iteration, Loss=loss, EnvironmentSteps=env_steps)
                if train_metrics:
                    values = {metric.name: float(metric.result()) for metric in train_metrics}
                    logged = ", ".join(f"{name} = {value}" for name, value in values.items())
                    say(f"step = {iteration}: {logged}")
                    row.update({f"Train{name}": value for name, value in values.items()})
                    _write_scalars(
                        train_writer,
                        iteration,
                        **{f"Metrics/{name}": value for name, value in values.items()},
                    )
            if iteration % config.eval_interval == 0:
                result = evaluator(eval_policy)
                say(f"step = {iteration}: Average Return = {result.average_return}")
                row["AverageReturn"] = result.average_return
                row["AverageEpisodeLength"] = result.average_episode_length
                keep_if_best(iteration, result.average_return)
                _write_scalars(
                    eval_writer,
                    iteration,
                    AverageReturn=result.average_return,
                    AverageEpisodeLength=result.average_episode_length,
                )
            if row:
                metrics.append(
                    iteration=iteration,
                    EnvironmentSteps=env_steps,
                    wall_seconds=wall_before + time.perf_counter() - loop_started,
                    **row,
                )
            bar.update(1)
            if stop.requested:
                save(iteration)
                raise Interrupted(iteration, run.path)
            if iteration % config.checkpoint_interval == 0:
                save(iteration)
    end = max(start, config.num_iterations)
    save(end)
    train_seconds = time.perf_counter() - loop_started

    exporter().save(str(run.policy_dir))
    evaluations = [row for row in metrics.rows() if not math.isnan(row["AverageReturn"])]
    if loss_info is not None:
        summary["final_loss"] = float(loss_info.loss.numpy())
    if train_metrics:
        summary["train_metrics"] = {metric.name: float(metric.result()) for metric in train_metrics}
    summary.update(
        recipe=recipe.name,
        seed=config.seed,
        iterations=end,
        environment_steps=env_steps,
        final_average_return=evaluations[-1]["AverageReturn"],
        best_average_return=max(row["AverageReturn"] for row in evaluations),
        evaluations=[[int(row["iteration"]), row["AverageReturn"]] for row in evaluations],
        train_seconds=train_seconds,
        environment_steps_per_second=(env_steps / train_seconds) if train_seconds else None,
    )
    references = {}
    if summary.get("random_average_return") is not None:
        references["random policy"] = summary["random_average_return"]
    if recipe.published_return is not None:
        label, value = recipe.published_return
        references[label] = value
    media.plot_run(run, ylim_top=recipe.plot_ylim_top, references=references)
    write_agent_videos(recipe, config, run, eval_policy)
    finished = time.perf_counter()
    summary["wall_seconds"] = finished - started
    # Where a run's time goes besides the loop: building, restoring, the random baseline,
    # the warm-up collect and the first evaluation before it; saving, exporting, plots and
    # videos after it.
    summary["phase_seconds"] = {
        "startup": loop_started - started,
        "loop": train_seconds,
        "finish": finished - loop_started - train_seconds,
    }
    run.write_summary(summary)
    pieces.close()
    return summary


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
    try:
        policy = tf.saved_model.load(str(policy_dir))
        result = Evaluator(make_env, config.num_eval_episodes, config.seed + EVAL_SEED_OFFSET)(
            policy
        )
    except (OSError, ValueError, tf.errors.OpError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise RecipeError(f"cannot load the policy in {policy_dir}: {first_line}") from None
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
