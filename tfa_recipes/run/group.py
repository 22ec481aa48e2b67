"""A seed group: one command that trains several seeds of a recipe, each an ordinary run in
`GROUP/seed<k>/`, up to `--jobs` at once, then reports them together (`output.aggregate`).

    python -m tfa_recipes.dqn_cartpole --seeds 0-4 [--jobs 2] [--run-dir GROUP] [flags]

Each seed is an ordinary run (`--seed k --run-dir GROUP/seed<k>`, the group's other
flags), its lines in `GROUP/seed<k>.log`: it checkpoints, resumes and refuses as a single
run does, so the same command again finishes the unfinished seeds (a finished one finds
nothing left to train) and recomputes the aggregate. A seed trains in a process of its
own (that command line), or, for a recipe whose TF-native iterations are one compiled
call, the seeds are dealt to `--jobs` processes that each train their share one after
another on one set of compiled calls (`runner.train_seeds`; `--process-per-seed` turns
it off): a seed's results are the same either way. Ctrl-C or SIGTERM reaches every seed
(each saves and exits 130), then the group exits 130; a seed that fails is one line naming
its log, and the others go on. The group
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


def seed_files(group: Path, seed: int) -> tuple[Path, Path, Path]:
    """A seed's run directory, its log and (a seed trained beside others in one process)
    the file its exit code goes to."""
    return group / f"seed{seed}", group / f"seed{seed}.log", group / f"seed{seed}.exit"


@dataclass
class _Seed:
    seed: int
    run: RunDir
    log: Path
    exit_file: Path
    code: int | None = None

    @classmethod
    def of(cls, group: Path, seed: int) -> _Seed:
        run, log, exit_file = seed_files(group, seed)
        return cls(seed, RunDir(run), log, exit_file)

    def iteration(self) -> int:
        rows = MetricsLog(self.run.metrics_csv).rows() if self.run.metrics_csv.is_file() else []
        return int(rows[-1]["iteration"]) if rows else 0


@dataclass
class _Task:
    """One process of the group: one seed (its own command line), or several trained one
    after another on shared compiled calls (`runner.train_seeds`)."""

    seeds: list[_Seed]
    argv: list[str]
    log: Path
    process: subprocess.Popen | None = None

    def pending(self) -> list[_Seed]:
        return [seed for seed in self.seeds if seed.code is None]


def _tasks(recipe, flags, members: list[_Seed], group: Path, jobs: int,
           shared: bool) -> list[_Task]:
    command = [sys.executable, "-m", recipe.module, *flags]
    if not shared:
        return [
            _Task([m], [*command, "--seed", str(m.seed), "--run-dir", str(m.run.path)], m.log)
            for m in members
        ]
    # The seeds dealt out to `jobs` processes, each training its share in turn.
    shares = [members[index::jobs] for index in range(min(jobs, len(members)))]
    return [
        _Task(share, [*command, "--group-seeds", ",".join(str(m.seed) for m in share),
                      "--run-dir", str(group)], group / f"process{index}.log")
        for index, share in enumerate(shares)
    ]


def run_group(
    recipe: Any,
    flags: Sequence[str],
    seeds: Sequence[int],
    group: Path,
    jobs: int,
    *,
    out: Callable[[str], None] = print,
    aggregate: Callable[[Sequence[RunDir], Path], str] | None = None,
    shared: bool = False,
) -> int:
    """Train `seeds` of `recipe` with the command-line `flags` (the group's, without
    --seeds, --jobs, --seed and --run-dir) in `group`; the exit code (0, 1 if a seed
    failed, 130 after Ctrl-C). `aggregate(runs, group)` reports the finished seeds and
    returns its one-line summary. `shared`: `jobs` processes, each training its share of
    the seeds on shared compiled calls (the TF-native recipes), instead of a process a seed."""
    group_dir = RunDir(group)
    with RunLock(group_dir):
        claim_group(group, recipe.name)
        how = f"{jobs} processes sharing compiled calls" if shared else f"{jobs} at once"
        out(f"seed group: {group} (seeds {', '.join(map(str, seeds))}, {how})")
        members = [_Seed.of(group, s) for s in seeds]
        for member in members:
            member.exit_file.unlink(missing_ok=True)
        tasks = _tasks(recipe, list(flags), members, group, jobs, shared)
        stopping = False

        def stop_request(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        previous = {s: signal.signal(s, stop_request) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            _supervise(tasks, members, jobs, lambda: stopping, out)
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


def _supervise(tasks: list[_Task], members: list[_Seed], jobs: int, stopping, out) -> None:
    waiting = list(tasks)
    running: list[_Task] = []
    forwarded = False
    next_status = time.monotonic() + STATUS_SECONDS
    while waiting or running:
        if stopping() and not forwarded:
            for task in running:
                task.process.send_signal(signal.SIGINT)
            waiting, forwarded = [], True
        while waiting and len(running) < jobs and not stopping():
            task = waiting.pop(0)
            task.log.parent.mkdir(parents=True, exist_ok=True)
            with task.log.open("a") as log:
                task.process = subprocess.Popen(
                    task.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            running.append(task)
            names = ", ".join(str(m.seed) for m in task.seeds)
            out(f"seed{'s' if len(task.seeds) > 1 else ''} {names}: started (pid "
                f"{task.process.pid}, log {task.log})")
        for task in list(running):
            code = task.process.poll()
            for member in task.pending():
                # A process training several seeds reports each as it ends.
                reported = _read_code(member.exit_file)
                if reported is None and code is not None and len(task.seeds) == 1:
                    reported = code
                if reported is not None:
                    member.code = reported
                    _report(member, out)
            if code is None:
                continue
            running.remove(task)
            for member in task.pending():
                # Never started: the process stopped (Ctrl-C) or died before its turn.
                if code != EXIT_INTERRUPTED:
                    member.code = code
                    out(f"error: seed {member.seed} failed: its process ended (exit code "
                        f"{code}) before it finished: {_last_line(task.log)} (log {task.log})")
        if running and time.monotonic() >= next_status:
            next_status = time.monotonic() + STATUS_SECONDS
            done = sum(m.code == 0 for m in members)
            at = ", ".join(f"seed {m.seed} at {m.iteration()}" for t in running
                           for m in t.pending() if m.run.metrics_csv.is_file())
            out(f"{done} of {len(members)} seeds done" + (f"; {at}" if at else ""))
        time.sleep(0.2)


def _read_code(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _report(member: _Seed, out: Callable[[str], None]) -> None:
    if member.code == 0:
        out(f"seed {member.seed}: done")
    elif member.code == EXIT_INTERRUPTED:
        out(f"seed {member.seed}: interrupted, progress saved")
    else:
        out(f"error: seed {member.seed} failed (exit code {member.code}): "
            f"{_last_line(member.log)} (log {member.log})")


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text().splitlines() if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["no output"])[-1]
