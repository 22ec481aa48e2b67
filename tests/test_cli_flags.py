"""The command line's flags, parsed without TensorFlow: booleans as --flag/--no-flag."""

from __future__ import annotations

import dataclasses

import pytest

from tfa_recipes.cli import config_parser
from tfa_recipes.config import build_config, param
from tfa_recipes.errors import RecipeError


@dataclasses.dataclass(frozen=True)
class _Config:
    seed: int = param("seed", minimum=0)
    act_fast: bool = param("act fast")


@dataclasses.dataclass(frozen=True)
class _Recipe:
    name: str = "probe"
    module: str = "tfa_recipes.probe"
    description: str = "A probe."
    config_cls: type = _Config


def _parsed(*argv: str, default: bool = False) -> bool:
    defaults = {"seed": 0, "act_fast": default}
    args = config_parser(_Recipe(), defaults).parse_args(list(argv))
    return build_config(_Config, {**defaults, **vars(args)}).act_fast


@pytest.mark.parametrize(
    ("argv", "default", "expected"),
    [
        ((), False, False),
        ((), True, True),
        (("--act-fast",), False, True),
        (("--no-act-fast",), True, False),
        (("--act-fast", "false"), True, False),
        (("--act-fast", "true"), False, True),
        (("--act-fast", "--no-act-fast"), False, False),
    ],
)
def test_a_boolean_is_a_flag_and_its_no_flag(argv, default, expected):
    assert _parsed(*argv, default=default) is expected


def test_a_boolean_with_another_word_is_one_clear_error():
    with pytest.raises(RecipeError, match="--act-fast: cannot read 'maybe' as bool"):
        _parsed("--act-fast", "maybe")


def test_help_names_both_forms(capsys):
    with pytest.raises(SystemExit):
        config_parser(_Recipe(), {"seed": 0, "act_fast": False}).parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--act-fast [true|false]" in help_text
    assert "--no-act-fast turns it off" in help_text
