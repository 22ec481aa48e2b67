"""`python -m tfa_recipes list | <recipe> [flags] | evaluate --run-dir DIR`."""

from __future__ import annotations

import sys

from tfa_recipes.cli import one_line
from tfa_recipes.errors import RecipeError
from tfa_recipes.registry import RECIPES, descriptions, get

USAGE = (
    "usage: python -m tfa_recipes list\n"
    "       python -m tfa_recipes <recipe> [flags]      (same as python -m tfa_recipes.<recipe>)\n"
    "       python -m tfa_recipes evaluate --run-dir DIR [flags]\n"
    "       python -m tfa_recipes aggregate RUN... [--out DIR]   (runs of one recipe, or a "
    "seed group)"
)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "list":
            width = max(map(len, RECIPES))
            for name, line in descriptions().items():
                print(f"{name:<{width}}  {line}")
            return 0
        if command == "evaluate":
            return _evaluate(rest)
        if command == "aggregate":
            return _aggregate(rest)
        return get(command).main(rest)
    except RecipeError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2


def _evaluate(argv: list[str]) -> int:
    """Replay a run's exported policy with the recipe that wrote it."""
    import argparse

    from tfa_recipes.cli import run_dir_path
    from tfa_recipes.run.directory import RunDir

    # Only --run-dir is read here; the recipe's own parser reads every flag, this one too.
    finder = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    finder.add_argument("--run-dir", type=run_dir_path)
    try:
        run_dir = finder.parse_known_args(argv)[0].run_dir
    except argparse.ArgumentError:
        run_dir = None
    if run_dir is None:
        raise RecipeError("evaluate needs --run-dir DIR")
    run = RunDir(run_dir)
    name = run.recipe()
    if name is None:
        raise RecipeError(f"{run.path} is not a tfa_recipes run directory")
    recipe = get(name)
    if not recipe.resumable:
        raise RecipeError(
            f"{run.path} holds a {name} run, and {name} is a from-scratch script that exports "
            "no policy to evaluate: its results are in its summary.json and videos"
        )
    return recipe.main([*argv, "--eval-only"])


def _aggregate(argv: list[str]) -> int:
    """aggregate.json, aggregate.csv and returns.png over finished runs of one recipe (made
    one by one, or a seed group's `seed<k>/` folders), in --out (default: the group, or the
    runs' common parent folder)."""
    import argparse
    import os
    from pathlib import Path

    from tfa_recipes.output.aggregate import aggregate, summary_line
    from tfa_recipes.run.directory import RunDir

    parser = argparse.ArgumentParser(prog="python -m tfa_recipes aggregate", add_help=False)
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--out", type=Path)
    args, unknown = parser.parse_known_args(argv)
    if unknown or not args.runs:
        raise RecipeError("aggregate takes run directories (or a seed group) and --out DIR"
                          + (f", not {' '.join(unknown)}" if unknown else ""))
    runs = []
    for path in args.runs:
        members = sorted(path.glob("seed*/run.json"))
        runs += [RunDir(marker.parent) for marker in members] or [RunDir(path)]
    names = {run.recipe() for run in runs}
    if None in names:
        missing = next(run.path for run in runs if run.recipe() is None)
        raise RecipeError(f"{missing} is not a tfa_recipes run directory")
    if len(names) != 1:
        raise RecipeError(f"aggregate takes runs of one recipe, got {', '.join(sorted(names))}")
    out = args.out or Path(os.path.commonpath([run.path.resolve().parent for run in runs]))
    result = aggregate(runs, get(names.pop()), out)
    print(f"{result['seeds']} runs: {summary_line(result)}; outputs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
