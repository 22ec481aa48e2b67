"""Command lines generated from a recipe's config, run directories, one-line errors."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from tfa_recipes.config import build_config, flag_name, read_recipe_file, recipe_file
from tfa_recipes.errors import Interrupted, RecipeError
from tfa_recipes.runs import RunDir, new_run_dir

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(recipe: Any, defaults: dict[str, Any]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=f"python -m {recipe.module}",
        description=f"{recipe.description} Defaults come from {recipe_file(recipe.name)}.",
    )
    for field in dataclasses.fields(recipe.config_cls):
        default = defaults.get(field.name)
        shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        parser.add_argument(
            flag_name(field.name),
            dest=field.name,
            default=argparse.SUPPRESS,
            metavar=field.name.upper(),
            help=f"{field.metadata.get('help', '')} (default: {shown})",
        )
    parser.add_argument(
        "--run-dir",
        type=Path,
        help="output directory; an existing run directory is resumed "
        "(default: runs/<recipe>/<timestamp>_seed<seed>)",
    )
    parser.add_argument(
        "--eval-only",
        action="store_true",
        help="load the exported policy of --run-dir, report its average return and film it",
    )
    return parser


def run_recipe(recipe: Any, argv: Sequence[str] | None = None) -> int:
    """Parse flags, prepare the run directory and train, resume or replay; the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        defaults = read_recipe_file(recipe.name)
        args = build_parser(recipe, defaults).parse_args(argv)
        overrides = {
            key: value for key, value in vars(args).items() if key not in ("run_dir", "eval_only")
        }
        run = RunDir(args.run_dir) if args.run_dir else None
        if run is not None and run.has_run():
            run.claim(recipe.name)
            saved = json.loads(run.config_json.read_text()) if run.config_json.is_file() else {}
            config = build_config(recipe.config_cls, {**defaults, **saved, **overrides})
        else:
            if args.eval_only:
                raise RecipeError("--eval-only needs --run-dir naming a finished run")
            config = build_config(recipe.config_cls, {**defaults, **overrides})
            run = run or new_run_dir(recipe.name, config.seed)
        if args.eval_only:
            return _replay(recipe, config, run)
        run.claim(recipe.name)
        run.write_provenance([f"-m{recipe.module}", *argv])
        print(f"run directory: {run.path}")
        summary = recipe.train(config, run)
        print(
            f"done: final Average Return = {summary['final_average_return']} "
            f"after {summary['iterations']} iterations; outputs in {run.path}"
        )
        return 0
    except RecipeError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted before any progress was saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Interrupted as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _replay(recipe: Any, config: Any, run: RunDir) -> int:
    average_return, video = recipe.replay(config, run)
    print(f"saved policy: Average Return = {average_return} over {config.num_eval_episodes} episodes")
    if video is not None:
        print(f"video: {video}")
    return 0
