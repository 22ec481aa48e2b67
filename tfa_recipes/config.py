"""Recipe configuration as plain data.

Each recipe declares a frozen dataclass whose fields carry a one-line help, the range a
value must fall in, and whether a resumed run may change it; the dataclass refuses any
other value with one line naming the flag. The values themselves live in one place only: the
recipe's file `recipes/<name>.toml`, which holds exactly the tutorial's hyperparameters.
`load_config` reads that file; the CLI and tests override fields with
`dataclasses.replace`-style keyword arguments.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from pathlib import Path
from typing import Any, TypeVar

from tfa_recipes.errors import RecipeError, first_line
from tfa_recipes.run.directory import write_durably

# A wheel carries the checkout's `recipes/` as package data, `tfa_recipes/recipes/*.toml`
# (setup.cfg maps the folder in; the checkout holds the one copy). From a checkout or an
# editable install that folder does not exist and the checkout's `recipes/` is read.
_PACKAGE_DIR = Path(__file__).resolve().parent
RECIPES_DIR = (
    _PACKAGE_DIR / "recipes"
    if (_PACKAGE_DIR / "recipes").is_dir()
    else _PACKAGE_DIR.parent / "recipes"
)

C = TypeVar("C")
# The largest count TensorFlow's int64 counters (iterations, steps) hold.
INT64_MAX = 2**63 - 1


def param(
    help: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    fixed: bool = False,
    why: str = "",
    infinite: bool = False,
) -> Any:
    """A config field: its help text and the range of values it accepts.

    why: the reason for the range, told with the error a value outside it gets.
    fixed: the value a run started with holds for the whole run; a resume may not change
    it (it shapes the environment, the network or the saved replay, which the checkpoint
    holds).
    infinite: inf is a value (of a threshold that can be off), not a mistake.
    """
    metadata = {
        "help": help,
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
        "fixed": fixed,
        "why": why,
        "infinite": infinite,
    }
    return dataclasses.field(metadata=metadata)


def learning_rate_param(help: str) -> Any:
    """A learning rate field: finite, > 0 and <= 1, and fixed for the run: a Keras
    optimizer checkpoints its learning rate, so a resume would silently keep the old one."""
    return dataclasses.field(
        metadata={
            "help": help, "minimum": None, "choices": (), "learning_rate": True, "fixed": True
        }
    )


def actors_param() -> Any:
    """`--actors N` of a recipe that runs with actors (`distributed`)."""
    return param(
        "actor processes collecting into one Reverb server for a learner process, all on "
        "this machine (0: one process; see --cluster ray and --role for runs across machines)",
        minimum=0,
    )


@dataclasses.dataclass(frozen=True)
class RecipeConfig:
    """Fields every recipe has; a recipe's config subclasses this."""

    seed: int = param(
        "random seed for TensorFlow, NumPy and the environments",
        minimum=0,
        maximum=2**32 - 1,
        why="NumPy's seed range, 2**32 - 1 at most",
    )

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            minimum = field.metadata.get("minimum")
            maximum = field.metadata.get("maximum")
            why = f" ({field.metadata['why']})" if field.metadata.get("why") else ""
            numbers = value if isinstance(value, tuple) else (value,)
            if any(type(item) is int and item > INT64_MAX for item in numbers):
                raise RecipeError(
                    f"{flag_name(field.name)} must be <= 2**63 - 1 (TensorFlow counts in "
                    f"int64), got {','.join(map(str, numbers))}"
                )
            if field.metadata.get("learning_rate") and not 0 < value <= 1:
                raise RecipeError(
                    f"{flag_name(field.name)} must be a finite number > 0 and <= 1 (a learning "
                    f"rate above 1 only diverges), got {value}"
                )
            # NaN passes every comparison below, so a non-finite number stops here.
            numbers = value if isinstance(value, tuple) else (value,)
            allowed = (math.inf,) if field.metadata.get("infinite") else ()
            if any(
                isinstance(item, float) and not math.isfinite(item) and item not in allowed
                for item in numbers
            ):
                shown = ",".join(map(str, numbers))
                kind = "a finite number or inf" if allowed else "a finite number"
                raise RecipeError(f"{flag_name(field.name)} must be {kind}, got {shown}")
            if maximum is not None and (
                value > maximum or (minimum is not None and value < minimum)
            ):
                bounds = f"<= {maximum}" if minimum is None else f"in {minimum} .. {maximum}"
                raise RecipeError(f"{flag_name(field.name)} must be {bounds}{why}, got {value}")
            if isinstance(value, tuple):
                # A list field (layer sizes): the minimum holds for every item.
                if minimum is not None and (not value or min(value) < minimum):
                    raise RecipeError(
                        f"{flag_name(field.name)} must be one or more values >= {minimum}, "
                        f"got {','.join(map(str, value))}"
                    )
            elif minimum is not None and value < minimum:
                raise RecipeError(
                    f"{flag_name(field.name)} must be >= {minimum}{why}, got {value}"
                )
            choices = field.metadata.get("choices")
            if choices and value not in choices:
                raise RecipeError(
                    f"{flag_name(field.name)} must be one of {', '.join(choices)}, got {value!r}"
                )


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def field_types(config_cls: type) -> dict[str, Any]:
    return typing.get_type_hints(config_cls)


def recipe_file(recipe: str) -> Path:
    return RECIPES_DIR / f"{recipe}.toml"


def read_recipe_file(recipe: str) -> dict[str, Any]:
    path = recipe_file(recipe)
    if not path.is_file():
        raise RecipeError(
            f"no recipe file {path}: reinstall the package (pip install . from its checkout)"
        )
    with path.open("rb") as handle:
        return tomllib.load(handle)


def build_config(config_cls: type[C], values: dict[str, Any]) -> C:
    """A config from plain values (a recipe file or a run's config.json), types coerced."""
    names = {field.name for field in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise RecipeError(f"unknown setting(s) {', '.join(unknown)} for {config_cls.__name__}")
    missing = sorted(names - set(values))
    if missing:
        raise RecipeError(f"missing setting(s) {', '.join(missing)} for {config_cls.__name__}")
    types = field_types(config_cls)
    return config_cls(**{name: coerce(types[name], value, name) for name, value in values.items()})


def load_config(config_cls: type[C], recipe: str, **overrides: Any) -> C:
    """The recipe's defaults from `recipes/<recipe>.toml`, with `overrides` applied."""
    return build_config(config_cls, {**read_recipe_file(recipe), **overrides})


def read_saved_config(config_cls: type[C], defaults: dict[str, Any], path: Path) -> C | None:
    """The config a run saved in `path` (its config.json) over the recipe file's values,
    or None if it saved none yet (no file, or an empty object); a file that is not such a
    config is one error naming it.
    """
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except OSError as error:
        raise RecipeError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise RecipeError(
            f"{path} is not a readable run config (not JSON: {first_line(error)}); "
            "restore it or pick another --run-dir"
        ) from None
    if not isinstance(saved, dict):
        raise RecipeError(
            f"{path} is not a run config (a JSON {type(saved).__name__}, not an object of "
            "settings); restore it or pick another --run-dir"
        )
    if not saved:
        # `{}` names no setting: as good as no file (a resume refuses both once trained).
        return None
    try:
        return build_config(config_cls, {**defaults, **saved})
    except RecipeError as error:
        raise RecipeError(
            f"{path} is not a valid run config ({error}); restore it or pick another --run-dir"
        ) from None


def refuse_fixed_changes(started: Any, config: Any, run_path: Path) -> None:
    """Refuse a resume that changes a `fixed` field (one that shapes what the run's
    checkpoint holds), before anything is built from it."""
    for field in dataclasses.fields(started):
        before, after = getattr(started, field.name), getattr(config, field.name)
        if field.metadata.get("fixed") and before != after:
            flag = flag_name(field.name)
            raise RecipeError(
                f"{flag} cannot change when a run resumes: {run_path} was started with "
                f"{flag} {_shown(before)}, not {_shown(after)} (it shapes what the run's "
                "checkpoint holds); leave the flag out or pick another --run-dir"
            )


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def coerce(kind: Any, value: Any, name: str = "value") -> Any:
    """Convert a TOML/JSON/CLI value to the field's declared type."""
    try:
        if typing.get_origin(kind) is tuple:
            (item_kind, _ellipsis) = typing.get_args(kind)
            if isinstance(value, str):
                value = [part for part in value.replace(" ", "").split(",") if part]
            if not isinstance(value, list | tuple):
                raise TypeError(value)
            return tuple(_scalar(item_kind, item) for item in value)
        return _scalar(kind, value)
    except (TypeError, ValueError):
        raise RecipeError(
            f"{flag_name(name)}: cannot read {value!r} as {_type_name(kind)}"
        ) from None


def _scalar(kind: Any, value: Any) -> Any:
    # A value from TOML or a run's config.json has a type of its own: a bool or a list
    # where a number or a name belongs is a mistake, not something to convert.
    if kind is bool:
        if isinstance(value, str):
            if value.lower() in ("true", "1", "yes"):
                return True
            if value.lower() in ("false", "0", "no"):
                return False
            raise ValueError(value)
        if not isinstance(value, bool):
            raise TypeError(value)
        return value
    if kind is str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(value)
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return kind(value)


def _type_name(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return "a comma-separated list of " + _type_name(typing.get_args(kind)[0])
    return getattr(kind, "__name__", str(kind))


def config_to_dict(config: Any) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in dataclasses.asdict(config).items()
    }


def dump_config(config: Any, path: Path) -> None:
    # All at once: a run cut short mid-write must not leave a config its resume cannot read.
    write_durably(path, (json.dumps(config_to_dict(config), indent=2) + "\n").encode())


@dataclasses.dataclass(frozen=True)
class LoopConfig(RecipeConfig):
    """The training loop's settings, shared by every TF-Agents recipe."""

    num_iterations: int = param("training iterations (collect, then train)", minimum=1)
    log_interval: int = param("print and log the loss every this many iterations", minimum=1)
    eval_interval: int = param("evaluate the greedy policy every this many iterations", minimum=1)
    num_eval_episodes: int = param("episodes per evaluation", minimum=1)
    checkpoint_interval: int = param("save a checkpoint every this many iterations", minimum=1)
    num_video_episodes: int = param("episodes in each video of the agent", minimum=0)
    video_fps: int = param("frames per second of the videos", minimum=1)
    video_format: str = param("video container", choices=("mp4", "gif"))
    stop_at_return: float = param(
        "stop training at the first evaluation whose average return reaches this "
        "(inf: never; SB3's StopTrainingOnRewardThreshold)",
        infinite=True,
    )
