"""Every role of a run with actors on this machine: the launcher that starts the replay
server, the learner and the actors as processes, restarts an actor that dies, and stops
every process on the way out. Launchpad has no Python 3.11 wheels: these are plain
processes talking Reverb's gRPC.

What to do when a role ends (`run_roles`: the order of starting and stopping, Ctrl-C
forwarded to the learner, a dead actor restarted up to MAX_ACTOR_RESTARTS times) is the
same with Ray placing the roles (`distributed.ray_launcher`); only how a role's process
is started, watched and signalled differs (`_Child` here, `RayRole` there)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tfa_recipes.argv import without_flags
from tfa_recipes.distributed.flags import LAUNCHER_FLAGS, parse_address
from tfa_recipes.distributed.network import free_port, refuse_port_in_use, wait_for_server
from tfa_recipes.distributed.watchdog import LAUNCHER_PID_ENV, die_with_parent
from tfa_recipes.errors import RecipeError
from tfa_recipes.run.directory import RunDir
from tfa_recipes.run.lifecycle import OpenedRun
from tfa_recipes.run.lock import INHERITED_LOCK_ENV

# The exit code after Ctrl-C or SIGTERM, as a single process's.
EXIT_INTERRUPTED = 130
# Restarts of one actor the launcher allows before it stops the run.
MAX_ACTOR_RESTARTS = 5
# Seconds a process gets to stop after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 15.0

class Role(Protocol):
    """One role's process as `run_roles` sees it, wherever it runs."""

    name: str
    restarts: int

    def start(self) -> None: ...

    def describe(self) -> str:
        """Where it runs, once it runs, for the line naming it ("pid N" first)."""

    def poll(self) -> int | None:
        """Its exit code once it has ended, else None."""

    def exit_reason(self, code: int) -> str: ...

    def restart(self) -> None: ...

    def signal(self, signum: int) -> None: ...

    def wait(self, deadline: float) -> None:
        """Wait until `deadline` (time.monotonic()) for it to end, then kill it."""


@dataclass
class _Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    restarts: int = 0

    lock_fd: int | None = None

    def start(self) -> None:
        # A session of its own: a Ctrl-C at the terminal reaches the launcher only, which
        # stops the roles in order (the learner saves while the server still runs).
        env = {**os.environ, LAUNCHER_PID_ENV: str(os.getpid())}
        if self.lock_fd is not None:
            env[INHERITED_LOCK_ENV] = str(self.lock_fd)
        self.process = subprocess.Popen(
            self.argv,
            start_new_session=True,
            preexec_fn=die_with_parent,
            stdin=subprocess.DEVNULL,
            env=env,
            pass_fds=() if self.lock_fd is None else (self.lock_fd,),
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def describe(self) -> str:
        return f"pid {self.pid}"

    def poll(self) -> int | None:
        return self.process.poll()

    def exit_reason(self, code: int) -> str:
        return describe_exit(code)

    def restart(self) -> None:
        self.restarts += 1
        self.start()

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def wait(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def stop_all(children: Sequence[Role], signum: int = signal.SIGTERM) -> None:
    """Signal every child, then give them STOP_GRACE_SECONDS together before SIGKILL."""
    for child in children:
        child.signal(signum)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        child.wait(deadline)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:  # a real-time signal Python has no name for
            return f"killed by signal {-code}"
    return f"exit code {code}"


def role_argv(recipe, argv: Sequence[str], run: RunDir, address: str, role: str) -> list[str]:
    """The launcher's own command line for one role: the same flags (so the same config),
    the run directory (absolute: a Ray worker runs elsewhere) and the server's address."""
    kept = without_flags(argv, LAUNCHER_FLAGS)
    return [
        sys.executable, "-m", recipe.module, *kept,
        "--run-dir", str(run.path.absolute()), "--replay-address", address, "--role", role,
    ]


def launch(
    recipe: Any, opened: OpenedRun, argv: Sequence[str], address: str | None, connect_timeout: float
) -> int:
    """Start the replay server, the learner and `config.actors` actors on this machine;
    restart an actor that dies; stop every process on the way out. The exit code is the
    learner's (130 after Ctrl-C or SIGTERM, once the learner has saved). The learner shares
    the lock `opened` holds: a second launcher on the same run stops before it starts
    anything."""
    if address is None:
        address = f"127.0.0.1:{free_port()}"
    else:
        refuse_port_in_use(parse_address(address)[1])
    base = role_argv(recipe, argv, opened.run, address, "replay")

    def child(name: str, argv: list[str], shares_lock: bool) -> _Child:
        return _Child(name, argv, lock_fd=opened.lock.fd if shares_lock else None)

    return run_roles(opened.config, address, base, child, connect_timeout)


def run_roles(
    config: Any,
    address: str,
    base: list[str],
    make_role: Callable[[str, list[str], bool], Role],
    connect_timeout: float,
) -> int:
    """Start the server, then the learner, then the actors (`make_role(name, argv,
    shares_lock)`: `base` is the server's command line), supervise them, and stop them all
    on the way out; the learner's exit code."""
    server = make_role("replay server", base, False)
    learner = make_role("learner", base[:-1] + ["learner"], True)
    actors = [
        make_role(f"actor {i}", base[:-1] + ["actor", "--actor-id", str(i)], False)
        for i in range(config.actors)
    ]
    stopping = False

    def stop_request(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop_request) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(f"replay server: {server.describe()} on {address}", flush=True)
        if not _wait_for_own_server(server, address, connect_timeout, lambda: stopping):
            print("error: interrupted before any progress was saved", file=sys.stderr)
            return EXIT_INTERRUPTED
        # Started together, named once they run: a Ray actor takes seconds to start.
        for role in (learner, *actors):
            role.start()
        for role in (learner, *actors):
            print(f"{role.name}: {role.describe()}", flush=True)
        return _supervise(server, learner, actors, lambda: stopping)
    finally:
        # Actors first (nothing they hold needs saving), then the learner, which saves
        # while the server still runs, then the server.
        stop_all(actors)
        stop_all([learner], signal.SIGINT)
        stop_all([server])
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _wait_for_own_server(
    server: Role, address: str, timeout: float, stopping: Callable[[], bool]
) -> bool:
    """Wait until the server this launcher started answers; False on a stop request. One
    line if it stops first or stays silent (not `wait_for_server`'s "start it with --role
    replay": it was started, here)."""
    deadline = time.monotonic() + timeout
    while not stopping():
        code = server.poll()
        if code is not None:
            raise RecipeError(
                f"the replay server this command started stopped ({server.exit_reason(code)}) "
                "before it answered"
            )
        try:
            wait_for_server(address, min(1.0, max(0.1, deadline - time.monotonic())))
            return True
        except RecipeError:
            if time.monotonic() > deadline:
                raise RecipeError(
                    f"the replay server this command started ({server.describe()}) did not answer "
                    f"at {address} within {timeout:g} s (--connect-timeout)"
                ) from None
    return False


def _supervise(server: Role, learner: Role, actors: list[Role], stopping) -> int:
    forwarded = False
    while True:
        if stopping() and not forwarded:
            # The learner saves a checkpoint (the table's copy included) and exits 130.
            learner.signal(signal.SIGINT)
            forwarded = True
        code = learner.poll()
        if code is not None:
            if code < 0:
                print(
                    f"error: the learner stopped ({learner.exit_reason(code)}); its last "
                    "checkpoint is kept: run the same command to resume",
                    file=sys.stderr,
                )
                return 1
            return code
        code = server.poll()
        # Exit 0: the server saw the learner's final summary and stopped by itself.
        if code is not None and code != 0:
            print(
                f"error: the replay server stopped ({server.exit_reason(code)}); the learner "
                "saves what it can: run the same command to resume",
                file=sys.stderr,
            )
            stop_all([learner], signal.SIGINT)
            return 1
        for actor in actors:
            code = actor.poll()
            if code is None or code == 0 or forwarded:
                continue
            if actor.restarts >= MAX_ACTOR_RESTARTS:
                print(
                    f"error: {actor.name} stopped {actor.restarts + 1} times (last: "
                    f"{actor.exit_reason(code)}); stopping the run",
                    file=sys.stderr,
                )
                stop_all([learner], signal.SIGINT)
                return 1
            print(f"{actor.name} stopped ({actor.exit_reason(code)}); restarting it", flush=True)
            actor.restart()
            print(f"{actor.name}: {actor.describe()}", flush=True)
        time.sleep(0.2)
