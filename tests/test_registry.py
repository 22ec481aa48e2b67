"""Every registered recipe has a recipe file, a test through its CLI, and `list` shows it."""

from __future__ import annotations

import pytest

from tfa_recipes.config import recipe_file
from tfa_recipes.registry import RECIPES

from conftest import REPO, run_cli


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_has_a_recipe_file(name):
    assert recipe_file(name).is_file()


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_has_a_smoke_test_through_its_cli(name):
    calls = [path for path in (REPO / "tests").glob("test_*.py")
             if f'"tfa_recipes.{name}"' in path.read_text()]
    assert calls, f"no test runs python -m tfa_recipes.{name}"


def test_list_shows_every_recipe():
    result = run_cli("tfa_recipes", "list", timeout=60)
    assert result.returncode == 0
    for name in RECIPES:
        assert name in result.stdout


def test_unknown_recipe_is_one_line_and_exit_2():
    result = run_cli("tfa_recipes", "no_such_recipe", timeout=60)
    assert result.returncode == 2
    assert result.error_lines == [
        f"error: unknown recipe 'no_such_recipe'; available: {', '.join(sorted(RECIPES))}"
    ]
