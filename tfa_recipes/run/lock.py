"""One owner per run directory: an exclusive `flock` on RUN/.lock.

Taken once, where a run is opened (`run.lifecycle.open_run`), and held until the run is
closed. The kernel releases a flock when its process ends however it ends, so the lock of
a killed run never blocks its resume.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from typing import Any

from tfa_recipes.errors import RecipeError
from tfa_recipes.run.directory import LOCK_NAME, RunDir

# A process started by the one that holds a run's lock (the learner of the actors'
# launcher) finds the lock's descriptor number here and shares the lock instead of
# waiting for it.
INHERITED_LOCK_ENV = "TFA_RUN_LOCK_FD"
# A process started for the holder but not by it (the learner a Ray worker starts for the
# Ray launcher, maybe on another machine that mounts the run) cannot inherit the
# descriptor: it finds the holder's PID here and goes on while that PID holds the lock.
HOLDER_PID_ENV = "TFA_RUN_LOCK_HOLDER"


class RunLock:
    """An exclusive `flock` on RUN/.lock, with the owner's PID in the file for the error a
    second owner gets; a second `RunLock` on the same run, in this process or another, is
    refused."""

    def __init__(self, run: RunDir, *, reading: bool = False) -> None:
        """reading: the holder only reads the run (an evaluation). Nobody can change a
        directory that cannot be written, so such a run is read without the lock, and
        `unwritable` says why it could not be taken."""
        self._run = run
        self._reading = reading
        self.unwritable: str | None = None
        self.fd: int | None = None
        self._inherited = False

    def __enter__(self) -> RunLock:
        lock_file = self._run.path / LOCK_NAME
        inherited = _inherited_lock(lock_file)
        if inherited is not None:
            self.fd, self._inherited = inherited, True
            return self
        try:
            self._run.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            if self._run.path.exists() and not self._run.path.is_dir():
                reason = "it is a file, not a directory"
            else:
                reason = error.strerror or str(error)
            if self._reading and error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                self.unwritable = reason
                return self
            raise RecipeError(f"cannot write to {self._run.path}: {reason}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            if owner == os.environ.get(HOLDER_PID_ENV):
                # Shared with its holder: released when the holder ends, not here.
                self.fd = fd
                return self
            os.close(fd)
            raise RecipeError(f"{self._run.path} is in use by process {owner}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None and not self._inherited:
            # Closing the descriptor releases the flock; the file stays (PROVENANCE).
            os.close(self.fd)
        self.fd = None


def _inherited_lock(lock_file: Path) -> int | None:
    """The inherited descriptor of `lock_file`'s lock (`INHERITED_LOCK_ENV`), if any."""
    value = os.environ.get(INHERITED_LOCK_ENV)
    if not value or not value.isdigit():
        return None
    try:
        held, here = os.fstat(int(value)), os.stat(lock_file)
    except OSError:
        return None
    if (held.st_dev, held.st_ino) != (here.st_dev, here.st_ino):
        return None
    return int(value)
