"""A role that outlives what it depends on ends by itself, in one line.

A role's main thread spends most of its time inside TensorFlow or Reverb calls (a train
step waiting for the rate limiter, an insert waiting for the server), where no Python
signal handler runs: a killed launcher's SIGTERM (PR_SET_PDEATHSIG) or a dead replay
server's silence could leave it running for minutes, holding the run's lock (the probe of
issue 25 found learners and actors adopted by PID 1, ignoring SIGTERM). This thread runs
beside it and watches:

- the launcher that started the role (its parent): once it is gone;
- the replay server the role talks to: once, having answered, it has not answered for
  `server_grace` seconds (a server that never answered is the role's own wait's to
  report, after --connect-timeout);

then it says so in one line and ends the process, as `kill -9` would. (An actor whose
server went silent because the learner finished, and the server with it, ends quietly
with exit 0: its work is done.) No graceful save
is tried: with the launcher gone its replay server is gone too (the kernel stops it with
the launcher), and a learner's checkpoint holds the server's copy of the table, which a
dead server cannot write. What the run published before is intact (checkpoints are
transactions, tested against kill -9 at any moment): the same command resumes.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

# A role started by the launcher finds the launcher's PID here.
LAUNCHER_PID_ENV = "TFA_LAUNCHER_PID"
# The exit code of a role the watchdog ended.
EXIT_ORPHANED = 1
# `_wait_for_a_reason`'s answer when the server stopped because the run had finished.
_RUN_FINISHED = "the run has finished"

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a role's process before exec (`preexec_fn`): the kernel sends it SIGTERM if the
    process that started it (a launcher, a Ray worker) dies, however it dies (SIGKILL
    included). The watchdog is for a role blocked where SIGTERM's handler cannot run."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Watchdog(threading.Thread):
    def __init__(
        self,
        role: str,
        *,
        server_address: str | None = None,
        parent_pid: int | None = None,
        server_grace: float = 10.0,
        period: float = 0.5,
        finished: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(name=f"{role} watchdog", daemon=True)
        self.role = role
        self.server_address = server_address
        self.parent_pid = parent_pid
        self.server_grace = server_grace
        self.period = period
        self.finished = finished
        self._stopped = threading.Event()

    @classmethod
    def for_role(cls, role: str, server_address: str | None, **options: Any) -> Watchdog:
        """The watchdog of a role: of its launcher when it has one, of its server always."""
        launcher = os.environ.get(LAUNCHER_PID_ENV)
        parent = int(launcher) if launcher and launcher.isdigit() else None
        return cls(role, server_address=server_address, parent_pid=parent, **options)

    def __enter__(self) -> Watchdog:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopped.set()
        # Joined, not left as a daemon: a Reverb client torn down by the interpreter's exit
        # in another thread aborts the process ("terminate called without an active
        # exception", exit -6).
        self.join(timeout=10)

    def run(self) -> None:
        reason = self._wait_for_a_reason()
        if reason is None:
            return
        if reason is _RUN_FINISHED:
            sys.stdout.flush()
            os._exit(0)
        print(f"error: {self.role}: {reason}; stopping (the run's last checkpoint is kept: "
              "run the same command to resume)", file=sys.stderr, flush=True)
        os._exit(EXIT_ORPHANED)

    def _wait_for_a_reason(self) -> str | None:
        client = None
        if self.server_address is not None:
            import reverb

            client = reverb.Client(self.server_address)
        last_answer = None
        while not self._stopped.wait(self.period):
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                return f"the launcher (pid {self.parent_pid}) is gone"
            if client is None:
                continue
            try:
                client.server_info(timeout=2)
                last_answer = time.monotonic()
            except Exception:  # noqa: BLE001 - gRPC raises several kinds
                if last_answer is None:
                    continue
                silent = time.monotonic() - last_answer
                if silent >= self.server_grace:
                    if self.finished is not None and self.finished():
                        return _RUN_FINISHED
                    return (
                        f"the replay server at {self.server_address} has not answered for "
                        f"{silent:.0f} s"
                    )
        return None
