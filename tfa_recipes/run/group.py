"""A seed group: one command that trains several seeds of a recipe, each an ordinary run in
`GROUP/seed<k>/`, up to `--jobs` at once, then reports them together (`output.aggregate`).

    python -m tfa_recipes.dqn_cartpole --seeds 0-4 [--jobs 2] [--run-dir GROUP] [flags]

Each seed is the recipe's own command line in a process of its own (`--seed k --run-dir
GROUP/seed<k>`, the group's other flags), its lines in `GROUP/seed<k>.log`: it checkpoints,
resumes and refuses as a single run does, so the same command again finishes the
unfinished seeds (a finished one finds nothing left to train) and recomputes the
aggregate. Ctrl-C or SIGTERM reaches every seed (each saves and exits 130), then the group
exits 130; a seed that fails is one line naming its log, and the others go on. The group
directory has one owner (`GROUP/.lock`). TensorFlow is not imported here: the seeds'
processes import it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfa_recipes.errors import Interrupted, RecipeError
from tfa_recipes.run.directory import MetricsLog, RunDir
from tfa_recipes.run.lock import RunLock

GROUP_MARKER = "group.json"
EXIT_INTERRUPTED = 130
# A TF-Agents recipe's process holds ~0.7-0.9 GB (the benchmarks' peak RSS).
MEMORY_PER_SEED = 1.0e9
STATUS_SECONDS = 10.0
# More seeds than this in one group is a typing mistake (a group runs them all).
MAX_SEEDS = 1000


def parse_seeds(text: str) -> list[int]:
    """`0-4` (a range, both ends included) or `0,3,7`; one line for anything else."""
    text = text.strip()
    range_match = re.fullmatch(r"(\d+)-(\d+)", text)
    seeds: list[int] = []
    if range_match:
        low, high = map(int, range_match.groups())
        if high - low < MAX_SEEDS:
            seeds = list(range(low, high + 1))
    elif re.fullmatch(r"\d+(,\d+)*", text):
        seeds = [int(part) for part in text.split(",")]
    if (
        not seeds
        or len(seeds) > MAX_SEEDS
        or len(set(seeds)) != len(seeds)
        or max(seeds) > 2**32 - 1
    ):
        raise RecipeError(
            f"--seeds must be a range such as 0-4 or a list such as 0,3,7 of at most "
            f"{MAX_SEEDS} distinct seeds in 0 .. {2**32 - 1}, got {text!r}"
        )
    return seeds


def default_jobs() -> int:
    """As many seeds at once as the cores, and the memory at ~1 GB a seed, allow."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        available = MEMORY_PER_SEED * (cores or 1)
    return max(1, min(cores or 1, int(available // MEMORY_PER_SEED)))


def group_path(recipe_name: str, seeds: Sequence[int], base: Path = Path("runs")) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    label = f"{seeds[0]}-{seeds[-1]}" if list(seeds) == list(
        range(seeds[0], seeds[-1] + 1)
    ) else ",".join(map(str, seeds))
    return base / recipe_name / f"{stamp}_seeds{label}"


def claim_group(path: Path, recipe_name: str) -> None:
    """Mark `path` as a seed group of `recipe_name`; refuse a single run's directory or
    another recipe's group."""
    if (path / "run.json").is_file():
        raise RecipeError(f"{path} is a single run's directory, not a seed group: pick "
                          "another --run-dir")
    marker = path / GROUP_MARKER
    if marker.is_file():
        try:
            owner = json.loads(marker.read_text())["recipe"]
        except (OSError, ValueError, KeyError, TypeError):
            raise RecipeError(f"{marker} is not a seed group marker") from None
        if owner != recipe_name:
            raise RecipeError(f"{path} holds a {owner!r} seed group, not {recipe_name!r}; "
                              "pick another --run-dir")
        return
    path.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"recipe": recipe_name}) + "\n")


@dataclass
class _Seed:
    seed: int
    run: RunDir
    log: Path
    process: subprocess.Popen | None = None
    code: int | None = None

    def iteration(self) -> int:
        rows = MetricsLog(self.run.metrics_csv).rows() if self.run.metrics_csv.is_file() else []
        return int(rows[-1]["iteration"]) if rows else 0


def run_group(
    recipe: Any,
    flags: Sequence[str],
    seeds: Sequence[int],
    group: Path,
    jobs: int,
    *,
    out: Callable[[str], None] = print,
    aggregate: Callable[[Sequence[RunDir], Path], str] | None = None,
) -> int:
    """Train `seeds` of `recipe` with the command-line `flags` (the group's, without
    --seeds, --jobs, --seed and --run-dir) in `group`; the exit code (0, 1 if a seed
    failed, 130 after Ctrl-C). `aggregate(runs, group)` reports the finished seeds and
    returns its one-line summary."""
    group_dir = RunDir(group)
    with RunLock(group_dir):
        claim_group(group, recipe.name)
        out(f"seed group: {group} (seeds {', '.join(map(str, seeds))}, {jobs} at once)")
        members = [_Seed(s, RunDir(group / f"seed{s}"), group / f"seed{s}.log") for s in seeds]
        stopping = False

        def stop_request(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        previous = {s: signal.signal(s, stop_request) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            _supervise(recipe, flags, members, jobs, lambda: stopping, out)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if stopping:
            raise GroupInterrupted(group)
        finished = [m for m in members if m.code == 0]
        failed = [m for m in members if m.code not in (0, None)]
        if finished and aggregate is not None:
            line = aggregate([m.run for m in finished], group)
            out(f"done: {len(finished)} of {len(members)} seeds; {line}; outputs in {group}")
        return 1 if failed else 0


class GroupInterrupted(Interrupted):
    """Ctrl-C or SIGTERM stopped a seed group; each seed saved what it had."""

    def __init__(self, group: Path) -> None:
        Exception.__init__(
            self, f"interrupted; each seed saved its progress in {group} (run the same "
            "command to finish the group)"
        )


def _supervise(recipe, flags, members, jobs, stopping, out) -> None:
    waiting = list(members)
    running: list[_Seed] = []
    forwarded = False
    next_status = time.monotonic() + STATUS_SECONDS
    while waiting or running:
        if stopping() and not forwarded:
            for member in running:
                member.process.send_signal(signal.SIGINT)
            waiting, forwarded = [], True
        while waiting and len(running) < jobs and not stopping():
            member = waiting.pop(0)
            member.log.parent.mkdir(parents=True, exist_ok=True)
            with member.log.open("a") as log:
                member.process = subprocess.Popen(
                    [sys.executable, "-m", recipe.module, *flags, "--seed", str(member.seed),
                     "--run-dir", str(member.run.path)],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            running.append(member)
            out(f"seed {member.seed}: started (pid {member.process.pid}, log {member.log})")
        for member in list(running):
            code = member.process.poll()
            if code is None:
                continue
            running.remove(member)
            member.code = code
            if code == 0:
                out(f"seed {member.seed}: done")
            elif code == EXIT_INTERRUPTED:
                out(f"seed {member.seed}: interrupted, progress saved")
            else:
                out(f"error: seed {member.seed} failed (exit code {code}): {_last_line(member.log)}"
                    f" (log {member.log})")
        if running and time.monotonic() >= next_status:
            next_status = time.monotonic() + STATUS_SECONDS
            done = sum(m.code == 0 for m in members)
            at = ", ".join(f"seed {m.seed} at {m.iteration()}" for m in running)
            out(f"{done} of {len(members)} seeds done; {at}")
        time.sleep(0.2)


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text().splitlines() if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["no output"])[-1]
