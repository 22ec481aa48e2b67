"""Bad input through the real command line: one `error:` line, exit code 2, nothing written.

Each case is refused before the run writes anything beyond its provenance, so every test
checks the exit code, the one error line (the last line printed), that no traceback was
printed, and that no run directory was left behind or an existing one was not changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_checks import assert_one_line_error, run_cli_batch

from tfa_recipes.registry import RECIPES

from conftest import REPO, CliResult, run_cli

RECIPE = "tfa_recipes.dqn_cartpole"
TINY = (
    "--num-iterations", "3", "--eval-interval", "3", "--log-interval", "1",
    "--num-eval-episodes", "2", "--num-video-episodes", "0",
)
BAD_LEARNING_RATES = ("nan", "inf", "-1", "0", "1e6")
LEARNING_RATE_RULE = "must be a finite number > 0 and <= 1 (a learning rate above 1 only diverges)"


def assert_refused(result: CliResult, expected: str) -> None:
    assert_one_line_error(result, expected)
    assert result.stderr.strip().splitlines()[-1] == result.error_lines[0], result.stderr[-2000:]


def snapshot(path: Path) -> dict[str, tuple[int, int]]:
    """Names, sizes and modification times of `path` and everything under it."""
    return {
        str(entry.relative_to(path)): (entry.lstat().st_size, entry.lstat().st_mtime_ns)
        for entry in [path, *path.rglob("*")]
    }


def run_in(cwd: Path, *args: str) -> CliResult:
    """`python -m <args>` from `cwd`, so a run that lands in the current directory lands
    in a scratch folder, not in the checkout."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DISPLAY", None)
    completed = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=300, cwd=cwd,
        env=env, stdin=subprocess.DEVNULL,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def _run(*command: str) -> bool:
    return subprocess.run(command, capture_output=True).returncode == 0


@contextlib.contextmanager
def unwritable(path: Path, how: str) -> Iterator[None]:
    """`path` made unwritable for this process, root included (root ignores permission
    bits): "read-only" is a read-only bind mount for root and permission bits for anyone
    else, "immutable" is `chattr +i`. Skips where this machine cannot do it."""
    if how == "immutable":
        made, undo = _run("chattr", "-R", "+i", str(path)), ("chattr", "-R", "-i", str(path))
    elif os.geteuid() == 0:
        made = _run("mount", "--bind", str(path), str(path))
        undo = ("umount", str(path))
        if made and not _run("mount", "-o", "remount,ro,bind", str(path)):
            _run(*undo)
            made = False
    else:
        made, undo = _run("chmod", "-R", "a-w", str(path)), ("chmod", "-R", "u+w", str(path))
    if not made:
        pytest.skip(f"cannot make a {how} directory here")
    try:
        try:
            (path / ".probe").touch()
        except OSError:
            pass
        else:
            (path / ".probe").unlink()
            pytest.skip(f"a {how} directory is still writable here")
        yield
    finally:
        _run(*undo)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    result = run_cli(RECIPE, *TINY, "--run-dir", str(run_dir), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return run_dir


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    """A finished run of its own for a test that damages or locks it."""
    return Path(shutil.copytree(finished_run, tmp_path / "run", symlinks=True))


# Every recipe's config, checked in a process of its own, as the command line checks it:
# the recipe modules and their configs load no TensorFlow (tests/test_package_structure.py).
CONFIG_CHECKS = """
import json, sys
from tfa_recipes.config import build_config, read_recipe_file
from tfa_recipes.errors import RecipeError
from tfa_recipes.registry import RECIPES, get

seeds, rates = json.loads(sys.argv[1]), json.loads(sys.argv[2])
outcome = {}
for name in RECIPES:
    config_cls = get(name).config_cls
    defaults = read_recipe_file(name)
    trials = [("seed", value) for value in seeds] + [
        (field, value) for field in defaults if field.endswith("learning_rate") for value in rates
    ]
    for field, value in trials:
        try:
            build_config(config_cls, {**defaults, field: value})
            outcome[f"{name} {field} {value}"] = None
        except RecipeError as error:
            outcome[f"{name} {field} {value}"] = str(error)
print(json.dumps(outcome))
"""


@pytest.fixture(scope="module")
def config_outcomes() -> dict[str, str | None]:
    seeds = [-1, 2**32, 2**32 - 1, 0]
    completed = subprocess.run(
        [sys.executable, "-c", CONFIG_CHECKS, json.dumps(seeds), json.dumps(BAD_LEARNING_RATES)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_every_recipe_takes_seeds_in_numpys_range_only(config_outcomes):
    for name in RECIPES:
        for seed in (-1, 2**32):
            assert config_outcomes[f"{name} seed {seed}"] == (
                f"--seed must be in 0 .. {2**32 - 1} (NumPy's seed range, 2**32 - 1 at most), "
                f"got {seed}"
            )
        assert config_outcomes[f"{name} seed {2**32 - 1}"] is None
        assert config_outcomes[f"{name} seed 0"] is None


def test_every_learning_rate_is_finite_positive_and_at_most_1(config_outcomes):
    checked = {key.split()[0] for key in config_outcomes if "learning_rate" in key}
    assert {"dqn_cartpole", "reinforce_cartpole", "dqn_scratch", "policy_gradients"} <= checked
    for key, message in config_outcomes.items():
        if "learning_rate" in key:
            flag = "--" + key.split()[1].replace("_", "-")
            assert message is not None and message.startswith(f"{flag} {LEARNING_RATE_RULE}"), key


# Commands refused before anything is written, run in one process (`run_cli_batch`):
# (module, flags) -> its run directory and what it printed.
SEEDS = ("-1", str(2**32))
RATES = ((RECIPE, "nan"), ("tfa_recipes.reinforce_cartpole", "1e6"))
DQN_MODULES = (RECIPE, "tfa_recipes.dqn_cartpole_classic")
REFUSED = (
    [(RECIPE, ("--seed", seed)) for seed in SEEDS]
    + [(module, ("--learning-rate", rate)) for module, rate in RATES]
    + [(module, ("--env-name", "Pendulum-v1")) for module in DQN_MODULES]
    + [(RECIPE, ("--num-iterations", str(2**63)))]
)


@pytest.fixture(scope="module")
def refused(tmp_path_factory) -> dict[tuple, tuple[Path, CliResult]]:
    folder = tmp_path_factory.mktemp("refused")
    run_dirs = [folder / f"run{i}" for i in range(len(REFUSED))]
    results = run_cli_batch([
        (module, [*TINY, *flags, "--run-dir", str(run_dir)])
        for (module, flags), run_dir in zip(REFUSED, run_dirs, strict=True)
    ])
    return dict(zip(REFUSED, zip(run_dirs, results, strict=True), strict=True))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seed_outside_numpys_range_is_one_line(refused, seed):
    run_dir, result = refused[(RECIPE, ("--seed", seed))]
    assert_refused(result, f"error: --seed must be in 0 .. {2**32 - 1}")
    assert f"got {seed}" in result.error_lines[0]
    assert not run_dir.exists()


@pytest.mark.parametrize("module, rate", RATES)
def test_a_learning_rate_outside_0_to_1_is_one_line(refused, module, rate):
    run_dir, result = refused[(module, ("--learning-rate", rate))]
    assert_refused(result, f"error: --learning-rate {LEARNING_RATE_RULE}, got {float(rate)}")
    assert not run_dir.exists()


def test_a_budget_beyond_int64_is_one_line(refused):
    run_dir, result = refused[(RECIPE, ("--num-iterations", str(2**63)))]
    assert_refused(
        result,
        f"error: --num-iterations must be <= 2**63 - 1 (TensorFlow counts in int64), got {2**63}",
    )
    assert not run_dir.exists()


@pytest.mark.parametrize("module", DQN_MODULES)
def test_dqn_on_continuous_actions_is_one_line(refused, module):
    run_dir, result = refused[(module, ("--env-name", "Pendulum-v1"))]
    assert_refused(
        result,
        "error: DQN needs a discrete action space (one integer action in 0 .. n-1); "
        "Pendulum-v1 has actions of shape (1,) and dtype float32 in -2.0 .. 2.0",
    )
    assert not run_dir.exists()


@pytest.mark.parametrize(
    "module, steps, expected",
    [
        (RECIPE, "0", ">= 1 (the table holds 2-step items: the first train step needs one"),
        ("tfa_recipes.dqn_breakout", "1", ">= 2 (the prefetching dataset draws its first 2-step"),
    ],
)
def test_too_few_initial_collect_steps_for_a_first_sample_is_one_line(
    tmp_path, module, steps, expected
):
    run_dir = tmp_path / "run"
    result = run_cli(module, "--initial-collect-steps", steps, "--run-dir", str(run_dir))
    assert_refused(result, f"error: --initial-collect-steps must be {expected}")
    assert result.error_lines[0].endswith(f"got {steps}")
    assert not run_dir.exists()


@pytest.mark.parametrize(
    "args",
    [
        (RECIPE, *TINY),
        ("tfa_recipes.basic_policy", "--n-episodes", "1"),
        ("tfa_recipes", "evaluate"),
    ],
    ids=["recipe", "script", "evaluate"],
)
def test_an_empty_run_dir_is_one_line_and_writes_nothing_here(tmp_path, args):
    result = run_in(tmp_path, *args, "--run-dir", "")
    assert_refused(result, "error: --run-dir must name a directory, got an empty string")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "run_dir, locked",
    [
        ("/proc/no-such-process/run", None),
        ("file", None),
        ("locked/run", "read-only"),
        ("locked/run", "immutable"),
        ("locked", "read-only"),
    ],
    ids=["in-proc", "a-regular-file", "in-a-read-only-dir", "in-an-immutable-dir", "read-only"],
)
def test_an_unwritable_run_dir_is_one_line_and_writes_nothing(tmp_path, run_dir, locked):
    (tmp_path / "file").write_text("the user's\n")
    (tmp_path / "locked").mkdir()
    run_dir = tmp_path / run_dir
    before = snapshot(tmp_path)
    with unwritable(tmp_path / "locked", locked) if locked else contextlib.nullcontext():
        result = run_cli(RECIPE, *TINY, "--run-dir", str(run_dir))
    assert_refused(result, f"error: cannot write to {run_dir}: ")
    if run_dir.name == "file":
        assert result.error_lines[0].endswith(": it is a file, not a directory")
    else:
        assert not run_dir.exists() or run_dir == tmp_path / "locked"
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["evaluate", "eval-only"])
def test_a_read_only_run_is_evaluated_without_writing(run_copy, command):
    args = (
        ("tfa_recipes", "evaluate", "--run-dir", str(run_copy))
        if command == "evaluate"
        else (RECIPE, "--eval-only", "--run-dir", str(run_copy))
    )
    before = snapshot(run_copy)
    with unwritable(run_copy, "read-only"):
        result = run_cli(*args, "--num-video-episodes", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and not result.error_lines, result.stderr[-2000:]
    assert f"{run_copy} cannot be written (" in result.stdout
    assert "): evaluating it without a lock and without its video\n" in result.stdout
    assert "saved policy: Average Return = " in result.stdout
    assert snapshot(run_copy) == before


def test_training_a_read_only_run_is_one_line(run_copy):
    before = snapshot(run_copy)
    with unwritable(run_copy, "read-only"):
        result = run_cli(RECIPE, "--run-dir", str(run_copy), "--num-iterations", "6")
    assert_refused(result, f"error: cannot write to {run_copy}: ")
    assert snapshot(run_copy) == before


def test_evaluate_refuses_a_from_scratch_run_in_one_line(tmp_path):
    run_dir = tmp_path / "run"
    made = run_cli("tfa_recipes.basic_policy", "--n-episodes", "1", "--run-dir", str(run_dir))
    assert made.returncode == 0, made.stderr[-2000:]
    before = snapshot(run_dir)
    result = run_cli("tfa_recipes", "evaluate", "--run-dir", str(run_dir))
    assert_refused(
        result,
        f"error: {run_dir} holds a basic_policy run, and basic_policy is a from-scratch script "
        "that exports no policy to evaluate",
    )
    assert snapshot(run_dir) == before


DAMAGED_CONFIGS = {
    "not-json": ("garbage\n", "is not a readable run config (not JSON: Expecting value"),
    "a-list": ("[1, 2]\n", "is not a run config (a JSON list, not an object of settings)"),
    "unknown-key": ('{"gamma": 0.9}\n', "is not a valid run config (unknown setting(s) gamma"),
    "wrong-type": (
        '{"seed": "zero"}\n', "is not a valid run config (--seed: cannot read 'zero' as int)"
    ),
    "wrong-shape": (
        '{"fc_layer_params": 64}\n', "is not a valid run config (--fc-layer-params: cannot"
    ),
}


@pytest.fixture(scope="module")
def damaged_resumes(finished_run, tmp_path_factory) -> dict[str, tuple[Path, dict, CliResult]]:
    """Each damage in a copy of its own, all resumed in one process (`run_cli_batch`)."""
    folder = tmp_path_factory.mktemp("damaged")
    copies = {}
    for name, (content, _) in DAMAGED_CONFIGS.items():
        copy = Path(shutil.copytree(finished_run, folder / name, symlinks=True))
        (copy / "config.json").write_text(content)
        copies[name] = (copy, snapshot(copy))
    results = run_cli_batch([
        (RECIPE, ["--run-dir", str(copy), "--num-iterations", "6"]) for copy, _ in copies.values()
    ])
    return {
        name: (copy, before, result)
        for (name, (copy, before)), result in zip(copies.items(), results, strict=True)
    }


@pytest.mark.parametrize("damage", DAMAGED_CONFIGS)
def test_a_damaged_config_json_is_named_when_resuming(damaged_resumes, damage):
    run_copy, before, result = damaged_resumes[damage]
    assert_refused(result, f"error: {run_copy / 'config.json'} {DAMAGED_CONFIGS[damage][1]}")
    assert snapshot(run_copy) == before


def test_a_damaged_config_json_is_named_when_evaluating(run_copy):
    (run_copy / "config.json").write_text("garbage\n")
    before = snapshot(run_copy)
    result = run_cli("tfa_recipes", "evaluate", "--run-dir", str(run_copy))
    assert_refused(result, f"error: {run_copy / 'config.json'} is not a readable run config")
    assert snapshot(run_copy) == before


FIXED_CHANGES = [
    ("--fc-layer-params", "64", "100,50"),
    ("--env-name", "CartPole-v1", "CartPole-v0"),
    ("--replay-buffer-max-length", "500", "100000"),
    # The Keras optimizer's learning rate is restored from the checkpoint.
    ("--learning-rate", "0.0005", "0.001"),
]


@pytest.fixture(scope="module")
def fixed_change_resumes(finished_run, tmp_path_factory) -> tuple[Path, dict, dict]:
    """Every change tried on one copy, in one process (`run_cli_batch`); none may write."""
    run_copy = Path(
        shutil.copytree(finished_run, tmp_path_factory.mktemp("fixed") / "run", symlinks=True)
    )
    before = snapshot(run_copy)
    results = run_cli_batch([
        (RECIPE, ["--run-dir", str(run_copy), "--num-iterations", "6", flag, value])
        for flag, value, _ in FIXED_CHANGES
    ])
    return run_copy, before, dict(zip(FIXED_CHANGES, results, strict=True))


@pytest.mark.parametrize("flag, value, saved", FIXED_CHANGES)
def test_a_resume_cannot_change_what_its_checkpoint_holds(
    fixed_change_resumes, flag, value, saved
):
    run_copy, before, results = fixed_change_resumes
    result = results[(flag, value, saved)]
    assert_refused(
        result,
        f"error: {flag} cannot change when a run resumes: {run_copy} was started with "
        f"{flag} {saved}, not {value} ",
    )
    assert snapshot(run_copy) == before


@pytest.mark.parametrize("damage", ["deleted", "emptied"])
def test_a_trained_run_whose_config_is_gone_is_refused_not_resumed_on_the_defaults(
    run_copy, damage
):
    """A resume whose config.json is missing or `{}` once the run has checkpoints would have
    gone on with the recipe file's values (another environment, another network)."""
    config = run_copy / "config.json"
    if damage == "deleted":
        config.unlink()
    else:
        config.write_text("{}\n")
    before = {path.name: path.stat().st_mtime_ns for path in run_copy.iterdir()}
    result = run_cli(RECIPE, "--run-dir", str(run_copy), "--num-iterations", "20")
    assert_one_line_error(result, f"{config} is {'missing' if damage == 'deleted' else 'empty'}")
    assert {path.name: path.stat().st_mtime_ns for path in run_copy.iterdir()} == before
