"""`pip install .` (a wheel, not the editable checkout) runs the recipes from anywhere.

The wheel is built from a copy of the package's sources, installed with `--no-deps` into a
new virtualenv that sees the project's already-installed stack through a `.pth` file, and
run from a temporary directory so that the checkout cannot be imported by accident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from setuptools import find_packages

from conftest import REPO

SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "recipes", "tfa_recipes")


def _run(*command: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("DISPLAY", None)
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel .` builds (from a copy: building writes build/ and egg-info)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
        "-w", work / "dist", source, cwd=work,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel_path,) = (work / "dist").glob("tfa_recipes-*.whl")
    return wheel_path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with only the wheel installed; the stack comes through a .pth."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    created = _run(sys._base_executable, "-m", "venv", "--without-pip", venv, cwd=venv.parent)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                cwd=venv.parent).stdout.strip()
    # Only the directory: .pth files in it (the checkout's editable install) are not run.
    Path(site, "tfa_recipes_stack.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
               "--no-index", "--quiet", wheel, cwd=venv.parent)
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working directory with no tfa_recipes in it or above it."""
    assert REPO not in tmp_path.parents
    return tmp_path


def test_wheel_holds_every_package_and_recipe_file(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.rsplit("/", 1)[0].replace("/", ".") for name in names
                if name.endswith("/__init__.py")}
    assert packages == set(find_packages(str(REPO), include=["tfa_recipes", "tfa_recipes.*"]))
    recipe_files = {Path(name).name for name in names if name.startswith("tfa_recipes/recipes/")}
    assert recipe_files == {path.name for path in (REPO / "recipes").glob("*.toml")}


def test_installed_package_is_the_wheels_and_reads_its_own_recipe_files(installed, elsewhere):
    result = _run(
        installed / "bin" / "python", "-c",
        "import tfa_recipes, tfa_recipes.config as c; print(tfa_recipes.__file__); "
        "print(c.recipe_file('dqn_cartpole'))",
        cwd=elsewhere,
    )
    assert result.returncode == 0, result.stderr
    module_file, recipe_path = result.stdout.split()
    assert Path(module_file).is_relative_to(installed)
    assert Path(recipe_path).is_relative_to(installed) and Path(recipe_path).is_file()


def test_console_script_lists_the_recipes_from_anywhere(installed, elsewhere):
    result = _run(installed / "bin" / "tfa-recipes", "list", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "dqn_cartpole"


def test_installed_recipe_help_shows_the_recipe_files_defaults(installed, elsewhere):
    result = _run(installed / "bin" / "python", "-m", "tfa_recipes.dqn_cartpole", "--help",
                  cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "(default: CartPole-v0)" in text
    assert f"Defaults come from {installed}" in text


def test_installed_recipe_trains_a_tiny_run_from_anywhere(installed, elsewhere):
    run_dir = elsewhere / "run"
    result = _run(
        installed / "bin" / "python", "-m", "tfa_recipes.dqn_cartpole",
        "--num-iterations", "2", "--eval-interval", "1", "--log-interval", "1",
        "--num-eval-episodes", "1", "--num-video-episodes", "0",
        "--initial-collect-steps", "1", "--run-dir", run_dir,
        cwd=elsewhere, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done: final Average Return" in result.stdout
    assert (run_dir / "summary.json").is_file()
    assert (run_dir / "policies" / "policy" / "saved_model.pb").is_file()
