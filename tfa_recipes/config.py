"""Recipe configuration as plain data.

Each recipe declares a frozen dataclass whose fields carry a one-line help and, where a
value has a floor, its minimum. The values themselves live in one place only: the
recipe's file `recipes/<name>.toml`, which holds exactly the tutorial's hyperparameters.
`load_config` reads that file; the CLI and tests override fields with
`dataclasses.replace`-style keyword arguments.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from pathlib import Path
from typing import Any, TypeVar

from tfa_recipes.errors import RecipeError

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


def param(help: str, *, minimum: float | None = None, choices: tuple[str, ...] = ()) -> Any:
    """A config field: its help text and the smallest value it accepts."""
    return dataclasses.field(metadata={"help": help, "minimum": minimum, "choices": choices})


@dataclasses.dataclass(frozen=True)
class RecipeConfig:
    """Fields every recipe has; a recipe's config subclasses this."""

    seed: int = param("random seed for TensorFlow, NumPy and the environments")

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            minimum = field.metadata.get("minimum")
            if isinstance(value, tuple):
                # A list field (layer sizes): the minimum holds for every item.
                if minimum is not None and (not value or min(value) < minimum):
                    raise RecipeError(
                        f"{flag_name(field.name)} must be one or more values >= {minimum}, "
                        f"got {','.join(map(str, value))}"
                    )
            elif minimum is not None and value < minimum:
                raise RecipeError(f"{flag_name(field.name)} must be >= {minimum}, got {value}")
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


def coerce(kind: Any, value: Any, name: str = "value") -> Any:
    """Convert a TOML/JSON/CLI value to the field's declared type."""
    try:
        if typing.get_origin(kind) is tuple:
            (item_kind, _ellipsis) = typing.get_args(kind)
            if isinstance(value, str):
                value = [part for part in value.replace(" ", "").split(",") if part]
            return tuple(item_kind(item) for item in value)
        if kind is bool:
            if isinstance(value, str):
                if value.lower() in ("true", "1", "yes"):
                    return True
                if value.lower() in ("false", "0", "no"):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        raise RecipeError(
            f"{flag_name(name)}: cannot read {value!r} as {_type_name(kind)}"
        ) from None


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
    path.write_text(json.dumps(config_to_dict(config), indent=2) + "\n")


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
