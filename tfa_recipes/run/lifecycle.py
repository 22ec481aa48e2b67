"""Opening a run: the one place a run directory is created, resumed, checked and locked.

The command line, the Python API (`Recipe.train`, the notebooks) and every role of a run
with actors open their run here, so a resume gets the same checks and the same one-line
refusals whoever asks for it:

1. the run directory: the one named, or a new `runs/<recipe>/<timestamp>_seed<k>/`;
2. a resume: the directory holds this recipe's run (not another's), its saved config is
   readable and there (a run with checkpoints and no config is refused, never resumed on
   the recipe file's defaults), the config is the saved one with the caller's overrides,
   and an override may not change a fixed field (one the checkpoint's shapes hold) or
   whether the run has actors;
3. the lock (`run.lock.RunLock`), taken once, here, and held until the run is closed;
4. only then anything written: `run.json`; `command.txt` and `versions.json` once the
   caller knows the run can go on (`OpenedRun.record`: after training has restored its
   checkpoint and built its parts, so a resume refused there rewrites nothing).

A refusal touches nothing in the run directory, and a new directory that a refusal left
with nothing but those files is removed. TensorFlow is not imported here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfa_recipes.config import (
    build_config,
    config_to_dict,
    read_recipe_file,
    read_saved_config,
    refuse_fixed_changes,
)
from tfa_recipes.errors import RecipeError
from tfa_recipes.run.checkpoints import Checkpoints
from tfa_recipes.run.directory import PROVENANCE, RunDir, new_run_dir
from tfa_recipes.run.lock import RunLock

# What the opener will do with the run:
#   train     train or resume it (a single process, or the learner of a run with actors)
#   launch    start every role of a run with actors on this machine (the learner shares
#             the launcher's lock)
#   serve     the replay server of a run with actors (reads the run, holds no lock)
#   act       an actor of a run with actors (likewise)
#   evaluate  score an exported policy (a lock for reading: a read-only run is read without)
PURPOSES = ("train", "launch", "serve", "act", "evaluate")
_CHANGES_THE_RUN = ("train", "launch", "serve", "act")


@dataclass(frozen=True)
class OpenedRun:
    run: RunDir
    config: Any
    # Whether the run directory held this recipe's run before.
    resumed: bool
    lock: RunLock | None = None

    def record(self, command: list[str] | None) -> None:
        """command.txt (appended) and versions.json, when the run goes on."""
        if command is not None:
            self.run.write_provenance(command)


def resolve_config(
    recipe: Any, overrides: Mapping[str, Any] | Any, run: RunDir | None, purpose: str
) -> tuple[Any, bool]:
    """The config a run opens with, checked; and whether it resumes a run. Writes nothing.

    `overrides`: fields the caller sets (flags, a notebook's dict), or a whole config (then
    every field counts as set).
    """
    defaults = read_recipe_file(recipe.name)
    if dataclasses.is_dataclass(overrides) and not isinstance(overrides, type):
        overrides = config_to_dict(overrides)
    overrides = dict(overrides or {})
    if run is None or not run.has_run():
        if purpose == "evaluate":
            raise RecipeError("--eval-only needs --run-dir naming a finished run")
        return build_config(recipe.config_cls, {**defaults, **overrides}), False
    owner = run.recipe()
    if owner != recipe.name:
        raise RecipeError(
            f"run directory {run.path} holds a {owner!r} run, not {recipe.name!r}; "
            "pick another --run-dir"
        )
    started = read_saved_config(recipe.config_cls, defaults, run.config_json)
    if started is None:
        _refuse_missing_config(run)
        return build_config(recipe.config_cls, {**defaults, **overrides}), True
    config = build_config(recipe.config_cls, {**config_to_dict(started), **overrides})
    if purpose in _CHANGES_THE_RUN:
        refuse_fixed_changes(started, config, run.path)
        if recipe.distributed:
            from tfa_recipes.distributed.flags import refuse_mode_change

            refuse_mode_change(started, config, run)
    return config, True


def refuse_changes_from_saved(recipe: Any, config: Any, run: RunDir) -> None:
    """Check `config` again against the run's config.json as it is now: roles started by
    hand open their run in any order, and the replay server records the config it serves
    (a table's shapes follow the network's) when it starts a fresh run."""
    saved = read_saved_config(recipe.config_cls, read_recipe_file(recipe.name), run.config_json)
    if saved is not None:
        refuse_fixed_changes(saved, config, run.path)


def _refuse_missing_config(run: RunDir) -> None:
    """A run that has trained (a checkpoint, an exported policy) but whose config.json is
    gone or empty cannot say what it was trained with; the recipe file's defaults may be
    something else entirely (another environment, another network)."""
    saved = Checkpoints(run).newest_published()
    if saved is None and not (run.policy_dir / "saved_model.pb").is_file():
        return
    what = f"the checkpoint of iteration {saved}" if saved is not None else "its exported policy"
    state = "missing" if not run.config_json.exists() else "empty"
    raise RecipeError(
        f"{run.config_json} is {state}, so what {what} was trained with is unknown: "
        "restore config.json (its settings are also in command.txt) or pick another --run-dir"
    )


@contextlib.contextmanager
def open_run(
    recipe: Any,
    overrides: Mapping[str, Any] | Any = None,
    run_dir: str | Path | RunDir | None = None,
    *,
    purpose: str = "train",
    runs_dir: Path = Path("runs"),
) -> Iterator[OpenedRun]:
    """Open (or resume) a run of `recipe` for `purpose` (see PURPOSES); held open, and
    locked where the purpose changes the run, until the block ends. `runs_dir`: where a
    new run directory goes when `run_dir` is None."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}")
    run = as_run_dir(run_dir)
    config, resumed = resolve_config(recipe, overrides, run, purpose)
    if run is None:
        run = new_run_dir(recipe.name, config.seed, base=runs_dir)
    created = not run.path.exists()
    try:
        if purpose in ("serve", "act"):
            # The learner (or its launcher) holds the lock; a role only reads the run.
            run.claim(recipe.name)
            yield OpenedRun(run, config, resumed)
            return
        with RunLock(run, reading=purpose == "evaluate") as lock:
            if lock.unwritable is None:
                run.claim(recipe.name)
            yield OpenedRun(run, config, resumed, lock)
    except RecipeError:
        if created and run.path.is_dir() and {p.name for p in run.path.iterdir()} <= PROVENANCE:
            shutil.rmtree(run.path)
        raise


def as_run_dir(run_dir: str | Path | RunDir | None) -> RunDir | None:
    if run_dir is None or isinstance(run_dir, RunDir):
        return run_dir
    if not str(run_dir):
        raise RecipeError("--run-dir must name a directory, got an empty string")
    return RunDir(Path(run_dir))


def saved_summary(run: RunDir) -> dict[str, Any] | None:
    """summary.json of a run, or None when it has none (or an unreadable one)."""
    try:
        return json.loads(run.summary_json.read_text())
    except (OSError, ValueError):
        return None
