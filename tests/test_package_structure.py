"""The package's shape: no import circle, and what must answer before TensorFlow loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tfa_recipes.registry import RECIPES

PACKAGE = Path(__file__).resolve().parent.parent / "tfa_recipes"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every package module `path` imports, at the top or inside a function; imports
    under `if TYPE_CHECKING:` are for type checkers only and are left out."""
    tree = ast.parse(path.read_text())
    checking_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from tfa_recipes.blocks import replay` imports the module blocks.replay.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("tfa_recipes")}


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path):
            # A module, or a name in one (`from tfa_recipes.config import param`).
            target = imported if imported in modules else imported.rpartition(".")[0]
            if target in modules and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_circle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_package_parents_import_their_children_only_by_name():
    """Each folder's __init__ is a docstring (and data) only: importing `tfa_recipes.envs`
    to reach one suite must not load the others, or TensorFlow."""
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        assert {name.rpartition(".")[0] if name.count(".") > 1 else name
                for name in imports_of(init)} <= {"tfa_recipes.config"}, init


# What the command line reads before it knows what to run: each recipe's module (its
# config), the registry, the CLI, the lifecycle that opens a run.
TF_FREE = [f"tfa_recipes.{name}" for name in RECIPES] + [
    "tfa_recipes.cli",
    "tfa_recipes.registry",
    "tfa_recipes.__main__",
    "tfa_recipes.run.lifecycle",
    "tfa_recipes.distributed.flags",
    "tfa_recipes.notebooks",
    # What each Ray worker holding a role imports (the role's own process loads TensorFlow).
    "tfa_recipes.distributed.ray_role",
]


@pytest.mark.parametrize("module", TF_FREE)
def test_the_modules_that_read_flags_do_not_load_tensorflow(module):
    code = (
        f"import importlib, sys; importlib.import_module({module!r}); "
        "print(sorted(m for m in ('tensorflow', 'tf_agents', 'reverb', 'gym', 'ray') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_help_and_a_bad_flag_answer_without_tensorflow():
    """`--help` and a refused flag never reach the import of TensorFlow (their time against
    TensorFlow's own start-up: benchmarks/bench_startup.py)."""
    code = (
        "import sys, io, contextlib\n"
        "from tfa_recipes.dqn_cartpole import RECIPE\n"
        "err = io.StringIO()\n"
        "with contextlib.redirect_stderr(err):\n"
        "    code = RECIPE.main(['--seed', 'abc'])\n"
        "try:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        RECIPE.main(['--help'])\n"
        "except SystemExit as exit:\n"
        "    help_code = exit.code\n"
        "print(code, help_code, 'tensorflow' in sys.modules, err.getvalue().strip())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "2 0 False error: --seed: cannot read 'abc' as int"
