"""What a recipe does once its run is opened: train, evaluate, run a script, or play one role
of a run with actors. The command line (`cli`) and the Python API (`Recipe.train`,
`Recipe.evaluate`, `Script.run`) both come here, and both open their run through
`run.lifecycle.open_run`, so a notebook's resume is checked as the command line's is."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfa_recipes.config import dump_config
from tfa_recipes.errors import Interrupted, RecipeError, first_line
from tfa_recipes.run.directory import RunDir
from tfa_recipes.run.lifecycle import (
    OpenedRun,
    as_run_dir,
    open_run,
    resolve_config,
    saved_summary,
)

if TYPE_CHECKING:
    from tfa_recipes.recipe import AnyRecipe


@dataclass(frozen=True)
class Trained:
    """A finished (or resumed and finished) run: where, with what, and its summary."""

    run: RunDir
    config: Any
    summary: dict[str, Any]


@dataclass(frozen=True)
class Evaluated:
    run: RunDir
    # The run's config under the caller's overrides (its video episodes as asked).
    config: Any
    average_return: float
    # The video of the evaluated policy, or None (no video episodes, a read-only run).
    video: Path | None
    # Why the run was read without its lock (it cannot be written), or None.
    unwritable: str | None = None


def train(
    recipe: AnyRecipe,
    overrides: Mapping[str, Any] | Any = None,
    run_dir: str | Path | RunDir | None = None,
    *,
    out: Callable[[str], None] = print,
    command: list[str] | None = None,
    runs_dir: Path = Path("runs"),
) -> Trained:
    """Open (or resume) a run of `recipe` and train it in this process."""
    # Checked before the run is opened (and locked): a refusal touches nothing.
    config, _ = resolve_config(recipe, overrides, as_run_dir(run_dir), "train")
    if getattr(config, "actors", 0):
        raise RecipeError(
            f"a run with actors starts from the command line: python -m {recipe.module} "
            f"--actors {config.actors}"
            + (f" --run-dir {as_run_dir(run_dir).path}" if run_dir else "")
        )
    with open_run(recipe, overrides, run_dir, purpose="train", runs_dir=runs_dir) as opened:
        return _train_opened(recipe, opened, out, command)


def _train_opened(
    recipe: AnyRecipe,
    opened: OpenedRun,
    out: Callable[[str], None],
    command: list[str] | None,
    **loop_options: Any,
) -> Trained:
    from tfa_recipes.loop.train import train as train_loop

    out(f"run directory: {opened.run.path}")
    summary = train_loop(
        recipe,
        opened.config,
        opened.run,
        out=out,
        ready=lambda: opened.record(command),
        **loop_options,
    )
    return Trained(opened.run, opened.config, summary.as_dict())


def train_seeds(
    recipe: AnyRecipe,
    overrides: Mapping[str, Any],
    seeds: list[int],
    group: Path,
    flags: list[str],
) -> int:
    """Train `seeds` of a seed group one after another in this process, on one set of
    parts and compiled calls (`loop.train.SharedLoop`), each an ordinary run in
    `group`/seed<k> opened as its own command would open it. Each seed's lines go to
    `group`/seed<k>.log and its exit code to `group`/seed<k>.exit, which the group reads
    (`run.group`); a seed that fails leaves the others to go on. Ctrl-C stops the seed in
    training (it saves) and the ones after it; the exit code is 130 then, 1 if a seed
    failed, else 0."""
    from tfa_recipes.loop.train import SharedLoop
    from tfa_recipes.run.group import EXIT_INTERRUPTED, seed_files

    failed = False
    with SharedLoop() as shared:
        for seed in seeds:
            run, log, exit_file = seed_files(group, seed)
            command = [f"-m{recipe.module}", *flags, "--seed", str(seed), "--run-dir", str(run)]
            with log.open("a") as handle:

                def out(line: str, handle=handle) -> None:
                    print(line, file=handle, flush=True)

                try:
                    with open_run(recipe, {**overrides, "seed": seed}, run) as opened:
                        summary = _train_opened(recipe, opened, out, command, shared=shared)
                    out(f"done: final Average Return = "
                        f"{summary.summary['final_average_return']} after "
                        f"{summary.summary['iterations']} iterations; outputs in {run}")
                    code = 0
                except (Interrupted, KeyboardInterrupt) as error:
                    out(f"error: {error}" if isinstance(error, Interrupted) else
                        "error: interrupted before any progress was saved")
                    exit_file.write_text(f"{EXIT_INTERRUPTED}\n")
                    return EXIT_INTERRUPTED
                except RecipeError as error:
                    out(f"error: {' '.join(str(error).split())}")
                    code, failed = 1, True
                except Exception as error:  # noqa: BLE001 - one seed's failure, logged whole
                    out(traceback.format_exc().rstrip())
                    out(f"error: {first_line(error)}")
                    code, failed = 1, True
            exit_file.write_text(f"{code}\n")
    return 1 if failed else 0


def evaluate(
    recipe: AnyRecipe,
    run_dir: str | Path | RunDir,
    *,
    best: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> Evaluated:
    """Score (and film) the exported policy of a finished run with training's evaluator."""
    from tfa_recipes.loop.outputs import evaluate_saved_policy

    with open_run(recipe, overrides, run_dir, purpose="evaluate") as opened:
        config, unwritable = opened.config, opened.lock.unwritable
        # A run that cannot be written is evaluated without its video.
        filmed = config if unwritable is None else dataclasses.replace(
            config, num_video_episodes=0
        )
        average_return, video = evaluate_saved_policy(recipe, filmed, opened.run, best=best)
    return Evaluated(opened.run, config, average_return, video, unwritable)


def run_role(
    recipe: AnyRecipe,
    overrides: Mapping[str, Any],
    run_dir: str | Path | None,
    flags: Any,
    argv: list[str],
    *,
    command: list[str] | None = None,
    out: Callable[[str], None] = print,
) -> Trained | int:
    """A recipe that can run with actors: in this process (--actors 0), every role on this
    machine (--actors N, the launcher), or the one --role names (`flags`:
    `distributed.flags.RoleFlags`, checked). The launcher and the server and actor roles
    return their exit code; training in this process and the learner return what they
    trained. `argv`: the flags, which the launcher hands each role."""
    role = flags.role
    if role is None:
        config, _ = resolve_config(recipe, overrides, as_run_dir(run_dir), "train")
        if config.actors == 0:
            if flags.replay_address is not None:
                raise RecipeError("--replay-address goes with --actors N or --role")
            if flags.cluster == "ray":
                raise RecipeError("--cluster ray runs the roles of a run with actors: add "
                                  "--actors N (N >= 1)")
            return train(recipe, overrides, run_dir, out=out, command=command)
        if flags.cluster == "ray":
            from tfa_recipes.distributed.ray_launcher import import_ray

            # Before the run is opened: a missing install touches nothing.
            import_ray(flags.ray)
        with open_run(recipe, overrides, run_dir, purpose="launch") as opened:
            from tfa_recipes.distributed.launcher import launch
            from tfa_recipes.distributed.watch import learner_finished

            if learner_finished(opened.run, opened.config):
                # As a single process's resume of a finished run: nothing left to train
                # (its roles would stop as they start).
                out(f"run directory: {opened.run.path}: nothing left to train")
                return Trained(opened.run, opened.config, saved_summary(opened.run))
            if flags.cluster == "ray":
                from tfa_recipes.distributed.ray_launcher import launch_on_ray

                return launch_on_ray(recipe, opened, argv, flags)
            return launch(recipe, opened, argv, flags.replay_address, flags.connect_timeout)
    from tfa_recipes.distributed.watch import learner_finished
    from tfa_recipes.distributed.watchdog import Watchdog

    if role == "learner":
        with open_run(recipe, overrides, run_dir, purpose="train") as opened:
            from tfa_recipes.distributed.learner import learner_parts

            build = functools.partial(
                learner_parts, recipe, flags.replay_address, flags.connect_timeout
            )
            with Watchdog.for_role("learner", flags.replay_address), _server_gone_is_one_line(
                flags.replay_address
            ):
                # The replay server loads the table's copy itself.
                return _train_opened(
                    recipe, opened, out, command, build=build, stage_replay=False
                )
    purpose = "serve" if role == "replay" else "act"
    watched = None if role == "replay" else flags.replay_address
    with open_run(recipe, overrides, run_dir, purpose=purpose) as opened, Watchdog.for_role(
        "replay server" if role == "replay" else f"actor {flags.actor_id}",
        watched,
        # The server stops once the learner has finished: an actor caught in a Reverb
        # call by it has done its work.
        finished=None if role == "replay" else functools.partial(
            learner_finished, opened.run, opened.config
        ),
    ):
        if role == "replay":
            from tfa_recipes.distributed.replay_server import serve_replay

            return serve_replay(recipe, opened.config, opened.run, flags.replay_address, out)
        from tfa_recipes.distributed.actor import run_actor

        return run_actor(
            recipe,
            opened.config,
            opened.run,
            flags.replay_address,
            flags.actor_id,
            flags.connect_timeout,
            out,
        )


@contextlib.contextmanager
def _server_gone_is_one_line(address: str) -> Iterator[None]:
    """A learner's Reverb call that fails because the replay server is gone (an insert, a
    sample, a table copy) ends the role in one line, not a Reverb traceback."""
    try:
        yield
    except Exception as error:
        from tfa_recipes.distributed.network import server_answers

        if isinstance(error, RecipeError | Interrupted) or server_answers(address):
            raise
        raise RecipeError(
            f"the replay server at {address} stopped answering ({first_line(error)[:120]}); "
            "the run's last checkpoint is kept: start the server again (--role replay) and "
            "run the same command to resume"
        ) from None


def run_script(
    script: AnyRecipe,
    config: Any,
    run_dir: str | Path | RunDir | None = None,
    *,
    command: list[str] | None = None,
    out: Callable[[str], None] = print,
    runs_dir: Path = Path("runs"),
) -> Trained:
    """Run a from-scratch script with `config` in a new (or unfinished) run directory.
    These runs do not resume: a finished one is kept and refused."""
    run = as_run_dir(run_dir)
    if run is not None and run.recipe() == script.name and run.summary_json.is_file():
        raise RecipeError(
            f"run directory {run.path} already holds a finished {script.name} run and "
            f"{script.name} does not resume; pick another --run-dir"
        )
    if run is not None and run.has_run() and run.recipe() != script.name:
        raise RecipeError(
            f"run directory {run.path} holds a {run.recipe()!r} run, not {script.name!r}; "
            "pick another --run-dir"
        )
    # A directory left by a run that failed before finishing is reused, with this config.
    with open_run(script, config, run, purpose="train", runs_dir=runs_dir) as opened:
        opened.record(command)
        out(f"run directory: {opened.run.path}")
        dump_config(config, opened.run.config_json)
        started = time.perf_counter()
        body = script.built_by().run
        summary = {"recipe": script.name, "seed": config.seed, **body(config, opened.run)}
        summary["wall_seconds"] = time.perf_counter() - started
        opened.run.write_summary(summary)
    return Trained(opened.run, config, summary)
