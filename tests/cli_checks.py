"""Checks every recipe's CLI tests make on a run directory and on a command's output."""

from __future__ import annotations

import atexit
import csv
import functools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

from conftest import REPO, CliResult, read_summary, run_cli


def metrics_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def assert_numeric_metrics(run_dir: Path, *, iterations: list[int], max_return: float) -> None:
    """metrics.csv rows at `iterations`, every filled cell a finite number in range."""
    rows = metrics_rows(run_dir)
    assert [int(row["iteration"]) for row in rows] == iterations
    steps = [int(row["EnvironmentSteps"]) for row in rows]
    assert steps == sorted(steps)
    for row in rows:
        values = {key: float(value) for key, value in row.items() if value != ""}
        assert all(math.isfinite(value) for value in values.values()), row
        assert values["wall_seconds"] >= 0
        if "AverageReturn" in values:
            assert 1 <= values["AverageReturn"] <= max_return
            assert values["AverageEpisodeLength"] >= 1
    assert any(row["loss"] for row in rows) and any(row["AverageReturn"] for row in rows)


def assert_png(path: Path) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] > 300 and image.size[1] > 200


def assert_cartpole_video(path: Path, *, min_frames: int) -> np.ndarray:
    """The video decodes to padded 400x608 RGB CartPole frames."""
    frames = iio.imread(path)
    assert frames.ndim == 4 and frames.shape[0] >= min_frames
    assert frames.shape[1:] == (400, 608, 3) and frames.dtype == np.uint8
    assert 50 < frames.mean() < 255
    return frames


def assert_one_line_error(result: CliResult, expected: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.error_lines) == 1, result.stderr[-2000:]
    assert expected in result.error_lines[0]
    assert "Traceback" not in result.stderr


# Each command of a batch: `RECIPE.main(argv)` as `python -m` calls it, its file
# descriptors 1 and 2 (the C++ libraries' too) caught in files of its own.
_BATCH = r"""
import importlib, json, os, sys, tempfile, traceback
results = []
for module, argv in json.loads(sys.argv[1]):
    recipe = importlib.import_module(module).RECIPE
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush(), sys.stderr.flush()
        kept = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)
        try:
            code = recipe.main(argv)
        except SystemExit as stop:  # argparse's own exits, as the interpreter reports them
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(kept[0], 1), os.dup2(kept[1], 2)
            os.close(kept[0]), os.close(kept[1])
        out.seek(0), err.seek(0)
        results.append([code, out.read().decode(), err.read().decode()])
with open(sys.argv[2], "w") as handle:
    json.dump(results, handle)
"""


def run_cli_batch(
    commands: list[tuple[str, list[str]]], timeout: float = 300
) -> list[CliResult]:
    """`python -m module *argv` for each (module, argv), in one process: what a user sees
    of each (exit code, stdout, stderr) for commands that stop before training (bad input).
    One TensorFlow start-up for the lot instead of one each, about 3.5 s a command."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DISPLAY", None)
    with tempfile.NamedTemporaryFile(suffix=".json") as results:
        completed = subprocess.run(
            [sys.executable, "-c", _BATCH, json.dumps(commands), results.name],
            capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
            stdin=subprocess.DEVNULL,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        return [CliResult(*result) for result in json.loads(Path(results.name).read_text())]


@functools.cache
def batched(module: str, cases: tuple, *, run_dirs: bool = False) -> dict:
    """`run_cli_batch` over a file's (flags, expected) bad-input cases, once per module and
    cases in this process; the results by flags, each parametrized test looking up its
    own. With `run_dirs`, every command gets a `--run-dir` of its own (in a scratch
    folder)."""
    folder = None
    if run_dirs:
        folder = Path(tempfile.mkdtemp(prefix="bad_input_"))
        atexit.register(shutil.rmtree, folder, True)
    flags = [case[0] for case in cases]
    commands = [
        (module, [*f, *(("--run-dir", str(folder / f"case{i}")) if folder else ())])
        for i, f in enumerate(flags)
    ]
    return dict(zip(flags, run_cli_batch(commands), strict=True))


def interrupt_when(
    module: str, args: list[str], line_prefix: str, timeout: float = 300
) -> tuple[int, str]:
    """Start `python -m module args`, send SIGINT once stdout shows `line_prefix`; the
    exit code and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(line_prefix) or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def interrupted_iteration(stderr: str) -> int:
    """The iteration a run saved on SIGINT, from its one `error:` line."""
    message = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "interrupted at iteration" in message[0], stderr[-2000:]
    return int(message[0].split("interrupted at iteration ")[1].split(";")[0])


def seeded_run(module: str, run_dir: Path, seed: int, *flags: str) -> dict:
    """summary.json of a short run of `module` with `seed`."""
    result = run_cli(
        module, *flags, "--num-video-episodes", "0", "--seed", str(seed), "--run-dir", str(run_dir)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return read_summary(run_dir)


def seed_group(module: str, group: Path, seeds: str, *flags: str, timeout: float) -> dict:
    """Train `seeds` (`--seeds` text) of `module` as one seed group in `group`, without
    videos; each seed's summary.json by seed. The group's aggregate is checked to cover
    them all."""
    result = run_cli(module, *flags, "--seeds", seeds, "--num-video-episodes", "0",
                     "--run-dir", str(group), timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    aggregate = json.loads((group / "aggregate.json").read_text())
    summaries = {row["seed"]: read_summary(Path(row["run"])) for row in aggregate["per_seed"]}
    assert len(summaries) == aggregate["seeds"], aggregate
    return summaries


def config_json(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())


# One TensorFlow thread (intra-op and inter-op pool) per process, as TensorFlow reads
# them from the environment: a run with actors puts 3-4 processes on the 2 cores. Not for
# Breakout's: its convolutional learner took 56 s for the two-actor test against 33 s.
ONE_TF_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}

# A run with actors: the launcher's line naming each role's process.
PID_LINE = re.compile(r"^(replay server|learner|actor \d+): pid (\d+)", re.MULTILINE)


def role_pids(stdout: str) -> dict[str, list[int]]:
    pids: dict[str, list[int]] = {}
    for name, pid in PID_LINE.findall(stdout):
        pids.setdefault(name, []).append(int(pid))
    return pids


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for good: it only waits for its parent to read its status.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def assert_all_gone(pids: dict[str, list[int]], within: float = 10.0) -> None:
    every = [pid for group in pids.values() for pid in group]
    assert every, "the launcher printed no PIDs"
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in every) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in every if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {left} of {pids}"


class Launcher:
    """`python -m tfa_recipes.dqn_cartpole --actors N ...` whose stdout is read line by line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tfa_recipes.dqn_cartpole", *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []

    def read_until(self, prefix: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith(prefix):
                return
            if time.monotonic() > deadline:
                break
        self.process.kill()
        raise AssertionError(f"no line starting {prefix!r}: {''.join(self.lines)[-3000:]}")

    def finish(self, timeout: float = 240) -> tuple[int, str, str]:
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
        stdout = "".join(self.lines) + stdout
        return self.process.returncode, stdout, stderr

    def pids(self) -> dict[str, list[int]]:
        return role_pids("".join(self.lines))
