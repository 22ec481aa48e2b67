"""The Ray actor that holds one role of a run with actors (`distributed.ray_launcher`).

A Ray worker imports this module to host the actor, so it imports neither TensorFlow nor
Reverb: with them (through the launcher's modules) each role's worker held ~570 MB
beside the role's own process, against ~90 MB without.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from tfa_recipes.distributed.watchdog import LAUNCHER_PID_ENV, die_with_parent


class RoleProcess:
    """The Ray actor of one role: the role's command line as a child process of this Ray
    worker, and its output kept for the launcher's `output` calls.

    The child gets SIGTERM from the kernel when this worker dies (however: Ray killing it
    to restart or stop the actor, its node shutting down), and its watchdog ends it once
    this worker is gone (`watchdog.LAUNCHER_PID_ENV`), so no role outlives its actor. Ray
    runs `__init__` on the worker's main thread, which lives as long as the worker: the
    kernel's signal follows the thread that started the child."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *argv],
            # Ctrl-C is the launcher's to forward: the learner saves while the server runs.
            start_new_session=True,
            preexec_fn=_role_preexec,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env, LAUNCHER_PID_ENV: str(os.getpid())},
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.readers = [
            threading.Thread(target=self._read, args=(stream, name), daemon=True)
            for stream, name in ((self.process.stdout, "stdout"), (self.process.stderr, "stderr"))
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: Any, name: str) -> None:
        for line in iter(stream.readline, b""):
            self.lines.put((name, line.decode(errors="replace")))

    def where(self) -> tuple[str, int, int]:
        """(node address, the role's PID, this worker's PID)."""
        import ray

        return ray.util.get_node_ip_address(), self.process.pid, os.getpid()

    def output(self, seconds: float = 1.0) -> tuple[list[tuple[str, str]], int | None]:
        """The lines written since the last call, waiting up to `seconds` for one; and the
        exit code once the role has ended and every line it wrote is in."""
        lines = []
        deadline = time.monotonic() + seconds
        with contextlib.suppress(queue.Empty):
            lines.append(self.lines.get(timeout=seconds))
            while time.monotonic() < deadline:
                lines.append(self.lines.get_nowait())
        code = self.process.poll()
        if code is None:
            return lines, None
        return lines + self._rest(), code

    def _rest(self) -> list[tuple[str, str]]:
        for reader in self.readers:
            reader.join(timeout=5)
        rest = []
        with contextlib.suppress(queue.Empty):
            while True:
                rest.append(self.lines.get_nowait())
        return rest

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def stop(self, seconds: float) -> tuple[list[tuple[str, str]], int]:
        """The role's last lines and exit code, SIGKILLed after `seconds`."""
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self._rest(), self.process.returncode


def _role_preexec() -> None:
    die_with_parent()
    # Ray starts its processes with SIGINT blocked (a Ctrl-C at the terminal is the
    # driver's), and its workers inherit the mask: the role's Ctrl-C (the learner's save)
    # would never arrive.
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
