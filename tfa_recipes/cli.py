"""Command lines generated from a recipe's config: flags, exit codes, one-line errors.

Everything here runs before TensorFlow is imported: `--help` and every bad flag answer in
a fraction of TensorFlow's start-up (`benchmarks/bench_startup.py`). What a command does
once its flags are read is `runner`'s; the run it does it in is opened by
`run.lifecycle.open_run`."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tfa_recipes.argv import without_flags
from tfa_recipes.config import build_config, field_types, flag_name, read_recipe_file, recipe_file
from tfa_recipes.distributed.flags import CLUSTERS, DEFAULT_CONNECT_TIMEOUT, RayFlags, RoleFlags
from tfa_recipes.envs.names import is_tf_native
from tfa_recipes.errors import Interrupted, RecipeError
from tfa_recipes.output import quiet
from tfa_recipes.run.group import default_jobs, group_path, parse_seeds, run_group

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

if TYPE_CHECKING:
    from tfa_recipes.recipe import AnyRecipe


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def config_parser(recipe: AnyRecipe, defaults: dict[str, Any]) -> argparse.ArgumentParser:
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


def build_parser(recipe: AnyRecipe, defaults: dict[str, Any]) -> argparse.ArgumentParser:
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
    if recipe.distributed:
        _add_role_flags(parser)
    _add_group_flags(parser)
    return parser


def _add_group_flags(parser: argparse.ArgumentParser) -> None:
    """A seed group (`run.group`): several seeds, one command, one aggregate."""
    parser.add_argument(
        "--seeds",
        type=parse_seeds,
        help="train these seeds as one group (a range such as 0-4, or a list such as 0,3,7), "
        "each an ordinary run in RUN/seed<k>/, and report them together: aggregate.json "
        "(mean, median, IQM with 95%% bootstrap intervals), aggregate.csv, returns.png "
        "(default RUN: runs/<recipe>/<timestamp>_seeds<seeds>)",
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        help="with --seeds: processes at once, each training a seed (or, TF-native, a share "
        "of the seeds in turn) (default: what the cores and memory allow)",
    )
    parser.add_argument(
        "--process-per-seed",
        action="store_true",
        help="with --seeds: a process of its own for every seed, also where seeds share "
        "--jobs processes and their compiled calls (TF-native environments: faster, the "
        "same results)",
    )
    # A process of a seed group that trains these seeds in turn (`runner.train_seeds`),
    # started by the group itself: not a user's flag.
    parser.add_argument("--group-seeds", type=parse_seeds, help=argparse.SUPPRESS)


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise RecipeError(f"--jobs must be a number >= 1, got {text!r}")
    return int(text)


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
        default=DEFAULT_CONNECT_TIMEOUT,
        help="seconds a role waits for the replay server (and the learner for the actors' "
        f"warm-up) before it stops with an error (default: {DEFAULT_CONNECT_TIMEOUT:.0f})",
    )
    _add_cluster_flags(parser)


def _add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    """--cluster ray: the roles of --actors N as Ray actors (`distributed.ray_launcher`)."""
    parser.add_argument(
        "--cluster",
        default="local",
        help=f"with --actors N, who starts, restarts and stops the roles: {CLUSTERS[0]} (this "
        f"package's launcher, on this machine) or {CLUSTERS[1]} (Ray, on a local instance "
        "started for the run or the cluster of --ray-address; pip install 'tfa_recipes[ray]') "
        "(default: local)",
    )
    parser.add_argument(
        "--ray-address",
        help="with --cluster ray: the running Ray cluster to use, as ray.init takes it (HOST:PORT "
        "of its head, or auto) (default: $RAY_ADDRESS, else a local instance for the run)",
    )
    for flag, what, default in (
        ("--ray-replay-cpus", "CPUs the replay server asks Ray for", "1"),
        ("--ray-learner-cpus", "CPUs the learner asks Ray for", "1"),
        ("--ray-learner-gpus", "GPUs the learner asks Ray for", "1 where the cluster has one"),
        ("--ray-actor-cpus", "CPUs each actor asks Ray for", "1"),
    ):
        parser.add_argument(
            flag, type=_resource(flag), help=f"with --cluster ray: {what} (default: {default})"
        )


def _resource(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 <= value < float("inf"):
            raise RecipeError(f"{flag} must be a number >= 0, got {text!r}")
        return value

    return parse


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


def main(recipe: AnyRecipe, argv: Sequence[str] | None = None) -> int:
    """Parse flags, then train, resume, evaluate or play a role; the exit code. A user's
    error or an interrupt is one line and its code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parse = _parse_recipe if recipe.resumable else _parse_script
    return _exit_code(lambda: parse(recipe, argv))


def _overrides(recipe: AnyRecipe, args: argparse.Namespace) -> dict[str, Any]:
    """The config fields the command line sets (argparse leaves out the others)."""
    fields = {field.name for field in dataclasses.fields(recipe.config_cls)}
    return {key: value for key, value in vars(args).items() if key in fields}


def _parse_recipe(recipe: AnyRecipe, argv: list[str]) -> int:
    defaults = read_recipe_file(recipe.name)
    args = build_parser(recipe, defaults).parse_args(argv)
    if args.best and not args.eval_only:
        raise RecipeError("--best goes with --eval-only")
    if args.seeds is not None:
        return _run_group(recipe, defaults, args, argv)
    if args.group_seeds is not None:
        return _run_group_process(recipe, defaults, args, argv)
    for flag, given in (("--jobs", args.jobs is not None),
                        ("--process-per-seed", args.process_per_seed)):
        if given:
            raise RecipeError(f"{flag} goes with --seeds")
    overrides = _overrides(recipe, args)
    # Every value is checked now, before TensorFlow loads (a resume checks again, with the
    # run's saved config under the flags).
    fresh = build_config(recipe.config_cls, {**defaults, **overrides})
    flags = None
    if recipe.distributed:
        ray = RayFlags(
            args.ray_address, args.ray_replay_cpus, args.ray_learner_cpus,
            args.ray_learner_gpus, args.ray_actor_cpus,
            verbose=args.verbose or quiet.verbose_from_env(),
        )
        flags = RoleFlags(
            args.role, args.replay_address, args.actor_id, args.connect_timeout, args.cluster, ray
        )
        flags.check(fresh)
    with quiet.hidden(verbose=args.verbose):
        return _run_recipe(recipe, overrides, args, flags, [f"-m{recipe.module}", *argv], argv)


def _run_recipe(recipe, overrides, args, flags, command: list[str], argv: list[str]) -> int:
    from tfa_recipes import runner

    if args.eval_only:
        return _report_evaluation(runner.evaluate(
            recipe, args.run_dir or _no_run_dir(), best=args.best, overrides=overrides
        ), best=args.best)
    if flags is not None:
        result = runner.run_role(recipe, overrides, args.run_dir, flags, argv, command=command)
        if isinstance(result, int):
            return result
    else:
        result = runner.train(recipe, overrides, args.run_dir, command=command)
    summary = result.summary
    print(
        f"done: final Average Return = {summary['final_average_return']} "
        f"after {summary['iterations']} iterations; outputs in {result.run.path}"
    )
    return 0


def _run_group(recipe: AnyRecipe, defaults: dict[str, Any], args: argparse.Namespace,
               argv: list[str]) -> int:
    clashes = [flag for flag, given in (("--seed", "seed" in vars(args)),
                                        ("--eval-only", args.eval_only),
                                        ("--role", getattr(args, "role", None)),
                                        ("--actors", bool(getattr(args, "actors", 0))))
               if given]
    if clashes:
        raise RecipeError(f"--seeds trains each seed in its own run: it goes without "
                          f"{clashes[0]}")
    overrides = _overrides(recipe, args)
    # Every value is checked once here, for every seed.
    for seed in args.seeds:
        build_config(recipe.config_cls, {**defaults, **overrides, "seed": seed})
    group = args.run_dir or group_path(recipe.name, args.seeds)
    flags = without_flags(argv, ("--seeds", "--jobs", "--run-dir"), ("--process-per-seed",))
    config = build_config(recipe.config_cls, {**defaults, **overrides, "seed": args.seeds[0]})
    shared = (recipe.seeds_share_compiled_calls and is_tf_native(config.env_name)
              and not args.process_per_seed)

    def aggregate(runs, out):
        from tfa_recipes.output.aggregate import aggregate as aggregate_runs
        from tfa_recipes.output.aggregate import summary_line

        return summary_line(aggregate_runs(runs, recipe, out))

    return run_group(recipe, flags, args.seeds, group, args.jobs or default_jobs(),
                     aggregate=aggregate, shared=shared)


def _run_group_process(recipe: AnyRecipe, defaults: dict[str, Any], args: argparse.Namespace,
                       argv: list[str]) -> int:
    if args.run_dir is None:
        raise RecipeError("--group-seeds goes with --run-dir naming the seed group")
    overrides = _overrides(recipe, args)
    build_config(recipe.config_cls, {**defaults, **overrides})
    flags = without_flags(argv, ("--group-seeds", "--run-dir"))
    with quiet.hidden(verbose=args.verbose):
        from tfa_recipes import runner

        return runner.train_seeds(recipe, overrides, args.group_seeds, args.run_dir, flags)


def _no_run_dir() -> NoReturn:
    raise RecipeError("--eval-only needs --run-dir naming a finished run")


def _report_evaluation(evaluated: Any, *, best: bool) -> int:
    if evaluated.unwritable is not None:
        skipped = " and without its video" if evaluated.config.num_video_episodes else ""
        print(
            f"{evaluated.run.path} cannot be written ({evaluated.unwritable}): evaluating it "
            f"without a lock{skipped}"
        )
    name = "best saved policy" if best else "saved policy"
    print(
        f"{name}: Average Return = {evaluated.average_return} over "
        f"{evaluated.config.num_eval_episodes} episodes"
    )
    if evaluated.video is not None:
        print(f"video: {evaluated.video}")
    return 0


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


def _parse_script(script: AnyRecipe, argv: list[str]) -> int:
    defaults = read_recipe_file(script.name)
    parser = config_parser(script, defaults)
    parser.add_argument(
        "--run-dir",
        type=run_dir_path,
        help="output directory, new or empty (default: runs/<recipe>/<timestamp>_seed<seed>)",
    )
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    config = build_config(script.config_cls, {**defaults, **_overrides(script, args)})
    # A script has no stop request to answer: SIGTERM stops it as Ctrl-C does, in one line.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with quiet.hidden(verbose=args.verbose):
        from tfa_recipes import runner

        command = [f"-m{script.module}", *argv]
        done = runner.run_script(script, config, args.run_dir, command=command)
    print(f"done: outputs in {done.run.path}")
    return 0
