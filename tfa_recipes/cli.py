"""Command lines generated from a recipe's config, run directories, one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from tfa_recipes import quiet
from tfa_recipes.config import (
    build_config,
    config_to_dict,
    dump_config,
    field_types,
    flag_name,
    load_config,
    read_recipe_file,
    read_saved_config,
    recipe_file,
    refuse_fixed_changes,
)
from tfa_recipes.errors import Interrupted, RecipeError
from tfa_recipes.runs import PROVENANCE, RunDir, RunLock, new_run_dir

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def config_parser(recipe: Any, defaults: dict[str, Any]) -> argparse.ArgumentParser:
    """A flag per config field, its help and its default from the recipe file."""
    parser = _Parser(
        prog=f"python -m {recipe.module}",
        description=f"{recipe.description} Defaults come from {recipe_file(recipe.name)}.",
    )
    kinds = field_types(recipe.config_cls)
    for field in dataclasses.fields(recipe.config_cls):
        default = defaults.get(field.name)
        shown = ",".join(map(str, default)) if isinstance(default, list | tuple) else default
        if kinds[field.name] is bool:
            _add_switch(parser, field, shown)
            continue
        parser.add_argument(
            flag_name(field.name),
            dest=field.name,
            default=argparse.SUPPRESS,
            metavar=field.name.upper(),
            help=f"{field.metadata.get('help', '')} (default: {shown})",
        )
    return parser


def _add_switch(parser: argparse.ArgumentParser, field: dataclasses.Field, shown: Any) -> None:
    """`--flag` / `--no-flag` for a boolean field; `--flag true|false` is read as well."""
    flag = flag_name(field.name)
    parser.add_argument(
        flag,
        dest=field.name,
        nargs="?",
        const="true",
        default=argparse.SUPPRESS,
        metavar="true|false",
        help=f"{field.metadata.get('help', '')} (default: {str(shown).lower()}; "
        f"--no-{flag[2:]} turns it off)",
    )
    parser.add_argument(
        f"--no-{flag[2:]}",
        dest=field.name,
        action="store_const",
        const="false",
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


def add_verbose_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show the libraries' progress lines and deprecation notices "
        f"(Reverb, TensorFlow, absl), as {quiet.VERBOSE_ENV}=1 does",
    )


def build_parser(recipe: Any, defaults: dict[str, Any]) -> argparse.ArgumentParser:
    parser = config_parser(recipe, defaults)
    add_verbose_flag(parser)
    parser.add_argument(
        "--run-dir",
        type=run_dir_path,
        help="output directory; an existing run directory is resumed "
        "(default: runs/<recipe>/<timestamp>_seed<seed>)",
    )
    parser.add_argument(
        "--eval-only",
        action="store_true",
        help="load the exported policy of --run-dir, report its average return and film it",
    )
    parser.add_argument(
        "--best",
        action="store_true",
        help="with --eval-only: the policy exported at the best evaluation "
        "(policies/best_policy, recipes that keep one)",
    )
    if recipe.fleet is not None:
        _add_role_flags(parser)
    return parser


def _add_role_flags(parser: argparse.ArgumentParser) -> None:
    """One role of a run with actors per process, for runs across machines."""
    parser.add_argument(
        "--role",
        help="run one role of a run with actors: replay (the Reverb server), learner or "
        "actor; all point at one --run-dir and one --replay-address (default: with "
        "--actors N, all of them on this machine)",
    )
    parser.add_argument(
        "--replay-address",
        help="HOST:PORT of the replay server (with --actors: the port it listens on; "
        "default: a free port of 127.0.0.1)",
    )
    parser.add_argument(
        "--actor-id", type=_actor_id, help="with --role actor: this actor's number, from 0"
    )
    parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=120.0,
        help="seconds a role waits for the replay server (and the learner for the actors' "
        "warm-up) before it stops with an error (default: 120)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise RecipeError(f"--connect-timeout must be a number of seconds > 0, got {text!r}")
    return value


def _actor_id(text: str) -> int:
    if not text.isdigit():
        raise RecipeError(f"--actor-id must be a number >= 0, got {text!r}")
    return int(text)


def run_dir_path(text: str) -> Path:
    """`--run-dir`'s value; an empty one would make the current directory the run's."""
    if not text:
        raise RecipeError("--run-dir must name a directory, got an empty string")
    if "://" in text:
        # pathlib would make a local folder "gs:/...". A run's lock (flock) and its
        # checkpoints' publishing (an atomic rename) need a file system; object stores
        # have neither.
        raise RecipeError(
            f"--run-dir must be a file system path (for runs across machines, one every "
            f"machine mounts, such as NFS), got the URL {text!r}"
        )
    return Path(text)


def run_recipe(recipe: Any, argv: Sequence[str] | None = None) -> int:
    """Parse flags, prepare the run directory and train, resume or replay; the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return _exit_code(lambda: _run_recipe(recipe, argv))


def _run_recipe(recipe: Any, argv: list[str]) -> int:
    defaults = read_recipe_file(recipe.name)
    args = build_parser(recipe, defaults).parse_args(argv)
    with quiet.hidden(verbose=args.verbose):
        return _run_parsed_recipe(recipe, defaults, args, argv)


def _run_parsed_recipe(
    recipe: Any, defaults: dict[str, Any], args: argparse.Namespace, argv: list[str]
) -> int:
    if args.best and not args.eval_only:
        raise RecipeError("--best goes with --eval-only")
    not_config = ("run_dir", "eval_only", "best", "verbose", "role", "replay_address", "actor_id",
                  "connect_timeout")
    overrides = {key: value for key, value in vars(args).items() if key not in not_config}
    run = RunDir(args.run_dir) if args.run_dir else None
    if run is not None and run.has_run():
        run.claim(recipe.name)
        started = read_saved_config(recipe.config_cls, defaults, run.config_json)
        saved = config_to_dict(started) if started is not None else {}
        config = build_config(recipe.config_cls, {**defaults, **saved, **overrides})
        if started is not None and not args.eval_only:
            refuse_fixed_changes(started, config, run.path)
            if recipe.fleet is not None:
                # Imported here, as in _run_role: the from-scratch scripts' CLI does not
                # load TF-Agents' distributed pieces.
                from tfa_recipes.distributed import refuse_mode_change

                refuse_mode_change(started, config, run)
    else:
        if args.eval_only:
            raise RecipeError("--eval-only needs --run-dir naming a finished run")
        config = build_config(recipe.config_cls, {**defaults, **overrides})
        run = run or new_run_dir(recipe.name, config.seed)
    if args.eval_only:
        return _replay(recipe, config, run, best=args.best)
    if recipe.fleet is not None:
        role = _run_role(recipe, config, run, args, argv)
        if role is not None:
            return role
    with _removed_if_nothing_saved(run), RunLock(run):
        run.claim(recipe.name)
        return _train(recipe, config, run, argv)


def _train(recipe: Any, config: Any, run: RunDir, argv, replay_address: str | None = None) -> int:
    run.write_provenance([f"-m{recipe.module}", *argv])
    print(f"run directory: {run.path}")
    summary = recipe.train(config, run, replay_address=replay_address)
    print(
        f"done: final Average Return = {summary['final_average_return']} "
        f"after {summary['iterations']} iterations; outputs in {run.path}"
    )
    return 0


def _run_role(recipe: Any, config: Any, run: RunDir, args: argparse.Namespace, argv) -> int | None:
    """A run with actors: every role on this machine (--actors N), or the one --role
    names; None for a single-process run."""
    from tfa_recipes import distributed

    distributed.check_role_flags(config, args.role, args.replay_address, args.actor_id)
    distributed.CONNECT_TIMEOUT_SECONDS = args.connect_timeout
    if args.role is None:
        if config.actors == 0:
            if args.replay_address is not None:
                raise RecipeError("--replay-address goes with --actors N or --role")
            return None
        return distributed.launch(recipe, config, run, argv, args.replay_address)
    run.claim(recipe.name)
    if args.role == "replay":
        return distributed.serve_replay(recipe, config, run, args.replay_address)
    if args.role == "actor":
        return distributed.run_actor(recipe, config, run, args.replay_address, args.actor_id)
    with RunLock(run):
        return _train(recipe, config, run, argv, args.replay_address)


@contextlib.contextmanager
def _removed_if_nothing_saved(run: RunDir) -> Iterator[None]:
    """Delete a run directory this call created if a user error stops the run before it
    saved anything beyond its provenance (a bad flag should not leave stubs in runs/)."""
    created = not run.path.exists()
    try:
        yield
    except RecipeError:
        if created and run.path.is_dir() and {p.name for p in run.path.iterdir()} <= PROVENANCE:
            shutil.rmtree(run.path)
        raise


def _exit_code(work: Callable[[], int]) -> int:
    """`work()`'s exit code; a user's error or an interrupt as one line and its code."""
    try:
        return work()
    except RecipeError as error:
        message = one_line(error)
    except KeyboardInterrupt:
        print("error: interrupted before any progress was saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Interrupted as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED
    # TensorFlow objects the failed run left (a half-restored checkpoint) log warnings
    # when they are collected; collected now, with the traceback that held them gone,
    # they come before the error line, which stays the last thing printed.
    gc.collect()
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def one_line(error: BaseException) -> str:
    """The message on one line, whatever a library appended to it."""
    return " ".join(str(error).split())


def _replay(recipe: Any, config: Any, run: RunDir, *, best: bool) -> int:
    with RunLock(run, reading=True) as lock:
        if lock.unwritable is not None:
            skipped = " and without its video" if config.num_video_episodes else ""
            print(
                f"{run.path} cannot be written ({lock.unwritable}): evaluating it without "
                f"a lock{skipped}"
            )
            config = dataclasses.replace(config, num_video_episodes=0)
        average_return, video = recipe.replay(config, run, best=best)
    episodes = config.num_eval_episodes
    name = "best saved policy" if best else "saved policy"
    print(f"{name}: Average Return = {average_return} over {episodes} episodes")
    if video is not None:
        print(f"video: {video}")
    return 0


@dataclass(frozen=True)
class Script:
    """A recipe without the TF-Agents training loop (the from-scratch Hands-On ML code).

    `body(config, run)` does the work in a prepared run directory and returns the figures
    for summary.json. These runs take minutes at most, so they do not checkpoint or resume.
    From Python: `RECIPE.run(RECIPE.config(n_episodes=100))`.
    """

    name: str
    description: str
    config_cls: type
    body: Callable[[Any, RunDir], dict[str, Any]]

    @property
    def module(self) -> str:
        return f"tfa_recipes.{self.name}"

    def config(self, **overrides: Any) -> Any:
        """The recipe file's values with `overrides` applied."""
        return load_config(self.config_cls, self.name, **overrides)

    def run(self, config: Any, run: RunDir | Path | str | None = None) -> dict[str, Any]:
        """Run in `run` (default: a new runs/<name>/<stamp>_seed<k>/); returns the summary."""
        if run is None:
            run = new_run_dir(self.name, config.seed)
        elif not isinstance(run, RunDir):
            run = RunDir(Path(run))
        with RunLock(run):
            run.claim(self.name)
            dump_config(config, run.config_json)
            started = time.perf_counter()
            summary = {"recipe": self.name, "seed": config.seed, **self.body(config, run)}
            summary["wall_seconds"] = time.perf_counter() - started
            run.write_summary(summary)
        return summary

    def main(self, argv: Sequence[str] | None = None) -> int:
        return run_script(self, argv)


def run_script(script: Script, argv: Sequence[str] | None = None) -> int:
    """Parse flags, prepare a fresh run directory and run the script; the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return _exit_code(lambda: _run_script(script, argv))


def _run_script(script: Script, argv: list[str]) -> int:
    defaults = read_recipe_file(script.name)
    parser = config_parser(script, defaults)
    parser.add_argument(
        "--run-dir",
        type=run_dir_path,
        help="output directory, new or empty (default: runs/<recipe>/<timestamp>_seed<seed>)",
    )
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    with quiet.hidden(verbose=args.verbose):
        return _run_parsed_script(script, defaults, args, argv)


def _run_parsed_script(
    script: Script, defaults: dict[str, Any], args: argparse.Namespace, argv: list[str]
) -> int:
    not_config = ("run_dir", "verbose")
    overrides = {key: value for key, value in vars(args).items() if key not in not_config}
    config = build_config(script.config_cls, {**defaults, **overrides})
    run = RunDir(args.run_dir) if args.run_dir else new_run_dir(script.name, config.seed)
    # A directory left by a run that failed before finishing is reused; a finished run is kept.
    if run.recipe() == script.name and run.summary_json.is_file():
        raise RecipeError(
            f"run directory {run.path} already holds a finished {script.name} run and "
            f"{script.name} does not resume; pick another --run-dir"
        )
    with _removed_if_nothing_saved(run), RunLock(run):
        run.claim(script.name)
        run.write_provenance([f"-m{script.module}", *argv])
        print(f"run directory: {run.path}")
        script.run(config, run)
    print(f"done: outputs in {run.path}")
    return 0
