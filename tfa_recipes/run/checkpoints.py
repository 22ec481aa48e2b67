"""A run's checkpoints as transactions: everything a resume needs, published at once.

A checkpoint is the agent's TensorFlow checkpoint (with the loop's counters and any
in-graph replay buffer), the Reverb table's copy, and a copy of metrics.csv. They are
written beside the last good checkpoint, made durable (fsync), then published by one
atomic rename of a manifest that names every file with its size and CRC-32. This is
Orbax's "write to a temporary place, then finalize" and TensorFlow's CheckpointManager
state file (an atomic rename) applied to all the parts together.

A resume reads only published manifests, newest first, and takes the first whose files
are all there and intact, saying which one it took and why it skipped any newer one. The
last good checkpoint is deleted only when the save after the one that replaced it starts,
so a `kill -9`, a full disk or a second Ctrl-C anywhere in a save leaves it as it was.

train/checkpoints/
  manifest-N.json   the published checkpoint of iteration N (what the others are)
  ckpt-N.*          the agent, the loop's counters, in-graph replay (tf.train.Checkpoint)
  metrics-N.csv     metrics.csv as it was at iteration N
  checkpoint        TensorFlow's state file, for `tf.train.latest_checkpoint` (not read here)
replay/<time>/      a copy of the Reverb table (replay.ReverbReplay.save); Reverb itself
                    writes under replay/.reverb/, where its save deletes its older copies
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tfa_recipes.errors import RecipeError
from tfa_recipes.run.directory import RunDir, fsync, write_durably

MANIFEST = re.compile(r"manifest-(\d+)\.json")
# A checkpoint's files, and the `ckpt-N_temp` folder TensorFlow leaves when a write fails.
ITERATION_FILE = re.compile(r"(?:ckpt|metrics|manifest)-(\d+)[._]")


class ReplayStore(Protocol):
    """Replay contents a checkpoint holds outside the TensorFlow checkpoint."""

    def save(self) -> Path | None:
        """Write a copy; the folder it is in, or None if nothing is written outside the
        TensorFlow checkpoint (an in-graph buffer)."""

    def num_items(self) -> int: ...

    def saved_items(self) -> int | None:
        """The items of the copy `save` just wrote, when they can be known (a resume
        checks the restored table against it), else None."""


@dataclass(frozen=True)
class Manifest:
    iteration: int
    environment_steps: int
    agent: str  # the TensorFlow checkpoint's prefix, relative to the run directory
    metrics: str
    # relative path -> [size in bytes, CRC-32] of every file the checkpoint is made of
    files: dict[str, list[int]]
    replay: str | None = None
    replay_items: int | None = None
    # What the loop keeps across a resume besides TensorFlow state (random baseline, the
    # best evaluation so far): summary.json is for people and may be lost or edited.
    progress: dict[str, Any] = field(default_factory=dict)


class Damaged(Exception):
    """A published checkpoint whose files are missing or not what its manifest says."""


class Checkpoints:
    """The published checkpoints of one run directory."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.directory = run.checkpoint_dir
        # The checkpoint a resume restored or this process last published: never deleted
        # before the next one is published.
        self.last_good: Manifest | None = None

    def select(self, say: Callable[[str], None]) -> Manifest | None:
        """The newest intact published checkpoint (None for a fresh run); damaged newer
        ones are named and skipped. Raises RecipeError if there are published checkpoints
        but none is intact: the run's files are left as they are."""
        newest_problem = None
        for iteration, path in self._manifest_paths():
            try:
                manifest = self._verified(path)
            except Damaged as problem:
                say(f"the checkpoint of iteration {iteration} is damaged ({problem}); "
                    "trying the one before it")
                newest_problem = newest_problem or f"{path.name}: {problem}"
                continue
            self.last_good = manifest
            return manifest
        if newest_problem is not None:
            raise RecipeError(
                f"cannot restore the checkpoint in {self.directory}: {newest_problem}, and "
                "there is no intact one before it; the run's files were left as they are"
            )
        if any(self.directory.glob("ckpt-*")):
            say(f"no published checkpoint in {self.directory} (its first save was cut "
                "short): starting from iteration 0")
        return None

    def newest_iteration(self) -> int | None:
        """The iteration of the checkpoint `select` took or the last one published here."""
        return self.last_good.iteration if self.last_good is not None else None

    def newest_published(self) -> int | None:
        """The iteration of the newest published checkpoint, intact or not (not read)."""
        return max((iteration for iteration, _ in self._manifest_paths()), default=None)

    def stage_replay(self, keep: Manifest | None) -> None:
        """Before the recipe starts its Reverb server: make it load `keep`'s copy of the
        table, or none for a fresh run (a copy no checkpoint published is never loaded)."""
        copy = None if keep is None or keep.replay is None else self.run.path / keep.replay
        stage_reverb_copy(self.run.replay_dir, copy)

    def restore_metrics(self, manifest: Manifest) -> bool:
        """Put back metrics.csv as the checkpoint has it (rows logged after it go); True if
        the file had lost or changed any of the checkpoint's rows."""
        saved = (self.run.path / manifest.metrics).read_bytes()
        current = self.run.metrics_csv.read_bytes() if self.run.metrics_csv.is_file() else b""
        write_durably(self.run.metrics_csv, saved)
        return not current.startswith(saved)

    def save(
        self,
        write_agent: Callable[[str], Any],
        *,
        iteration: int,
        environment_steps: int,
        replay: ReplayStore | None,
        progress: dict[str, Any],
    ) -> Manifest:
        """Write every part, make it durable, then publish it with the manifest's rename.

        `write_agent(prefix)` writes the TensorFlow checkpoint (`tf.train.Checkpoint.write`).
        A checkpoint of the iteration already published is that one: it is not rewritten
        in place (the run's end saves where the last interval may have just saved).
        """
        if self.last_good is not None and self.last_good.iteration == iteration:
            return self.last_good
        self._collect_garbage()
        self.directory.mkdir(parents=True, exist_ok=True)
        replay_dir = replay.save() if replay is not None else None
        prefix = self.directory / f"ckpt-{iteration}"
        write_agent(str(prefix))
        metrics_copy = self.directory / f"metrics-{iteration}.csv"
        metrics = self.run.metrics_csv.read_bytes() if self.run.metrics_csv.is_file() else b""
        write_durably(metrics_copy, metrics)
        parts = [*self.directory.glob(f"ckpt-{iteration}.*"), metrics_copy]
        if replay_dir is not None:
            parts += sorted(path for path in replay_dir.rglob("*") if path.is_file())
        files = {}
        for path in parts:
            fsync(path)
            files[self._relative(path)] = _size_and_crc(path)
        for folder in {path.parent for path in parts}:
            fsync(folder)
        manifest = Manifest(
            iteration=iteration,
            environment_steps=environment_steps,
            agent=self._relative(prefix),
            metrics=self._relative(metrics_copy),
            files=files,
            replay=None if replay_dir is None else self._relative(replay_dir),
            replay_items=None if replay_dir is None else replay.saved_items(),
            progress=progress,
        )
        # The publish: before this rename the save does not exist for a resume.
        write_durably(self.directory / f"manifest-{iteration}.json",
                      (json.dumps(asdict(manifest), indent=1) + "\n").encode())
        self.last_good = manifest
        _write_tf_state_file(self.directory, prefix.name)
        return manifest

    def _manifest_paths(self) -> list[tuple[int, Path]]:
        if not self.directory.is_dir():
            return []
        found = [
            (int(match.group(1)), path)
            for path in self.directory.iterdir()
            if (match := MANIFEST.fullmatch(path.name))
        ]
        return sorted(found, reverse=True)

    def _verified(self, path: Path) -> Manifest:
        try:
            manifest = Manifest(**json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError) as error:
            raise Damaged(f"unreadable manifest: {type(error).__name__}") from None
        replay_gone = manifest.replay is not None and not (self.run.path / manifest.replay).exists()
        for name, (size, crc) in manifest.files.items():
            if replay_gone and name.startswith(manifest.replay + "/"):
                # A deleted replay folder is refilled by the warm-up, as a run always has.
                continue
            file = self.run.path / name
            if not file.is_file():
                raise Damaged(f"{name} is missing")
            if [size, crc] != _size_and_crc(file):
                raise Damaged(f"{name} is not the file that was saved")
        return manifest

    def _collect_garbage(self) -> None:
        """Before a save: delete what is older than the last good checkpoint, and copies of
        the table no published checkpoint names (cut-short saves). At most two
        checkpoints are on disk at once: the last good one and the one being written."""
        keep = self.last_good
        if keep is None or not self.directory.is_dir():
            return
        named = {keep.replay}
        for path in self.directory.iterdir():
            match = ITERATION_FILE.match(path.name)
            if match and int(match.group(1)) < keep.iteration:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            elif MANIFEST.fullmatch(path.name):
                try:
                    named.add(json.loads(path.read_bytes()).get("replay"))
                except (OSError, ValueError, AttributeError):
                    pass
        if self.run.replay_dir.is_dir():
            for folder in self.run.replay_dir.iterdir():
                if folder.is_dir() and self._relative(folder) not in named:
                    shutil.rmtree(folder, ignore_errors=True)

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.run.path).as_posix()


def _size_and_crc(path: Path) -> list[int]:
    crc, size = 0, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return [size, crc]


def _write_tf_state_file(directory: Path, name: str) -> None:
    # TensorFlow's CheckpointState text format, with a relative name (a moved or copied
    # run directory still reads); tf.train.latest_checkpoint and TensorBoard read it.
    state = f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n'
    write_durably(directory / "checkpoint", state.encode())


# Reverb writes its copies here, under the replay folder, and its save deletes all older
# ones in it; `blocks.replay.ReverbReplay.save` moves each new copy out, into the folder itself.
REVERB_STAGING = ".reverb"


def stage_reverb_copy(checkpoint_dir: Path, copy: Path | None) -> None:
    """Make the next server started on `checkpoint_dir` load `copy` (a folder
    `ReverbReplay.save` returned), or start empty when it is None or gone.

    Reverb loads the newest copy in its folder: that folder is emptied (it holds only
    links and saves cut short) and given links to `copy`'s files, so the copy itself
    stays where it is when Reverb's next save deletes what it finds there."""
    staging = checkpoint_dir / REVERB_STAGING
    if staging.exists():
        shutil.rmtree(staging)
    if copy is None or not copy.is_dir():
        return
    target = staging / copy.name
    target.mkdir(parents=True)
    for file in copy.iterdir():
        try:
            os.link(file, target / file.name)
        except OSError:  # a file system without hard links
            shutil.copy2(file, target / file.name)
