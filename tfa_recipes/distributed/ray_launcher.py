"""`--actors N --cluster ray`: the replay server, the learner and the actors as Ray actors,
on a local Ray instance started for the run or on the cluster of `--ray-address`.

Ray places the roles (each asks for the CPUs and GPUs of its `--ray-*` flag; the replay
server on the driver's node, whose address the others are given), restarts an actor
that dies (Ray's `max_restarts`), and stops them with the run. What a role does and says
is unchanged: each Ray actor (`ray_role.RoleProcess`) runs the role's own command line
(`--role ...`) as a child process, as the local launcher does, so a role's signal
handling (Ctrl-C saves and exits 130), its one-line errors, its watchdog and the run's
lock work as they do there. Its lines reach this console through the actor, not through
Ray's log streaming, so Ray's own lines stay out unless --verbose. The supervision
(`launcher.run_roles`) is the local launcher's. Reverb carries experience and weights;
nothing passes through Ray's object store.

Ray is imported only here (and by `ray_role` in the workers), only for `--cluster ray`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from tfa_recipes.distributed.flags import RayFlags, parse_address
from tfa_recipes.distributed.launcher import (
    MAX_ACTOR_RESTARTS,
    describe_exit,
    role_argv,
    run_roles,
)
from tfa_recipes.distributed.network import free_port, refuse_port_in_use
from tfa_recipes.distributed.ray_role import RoleProcess
from tfa_recipes.errors import RecipeError, first_line
from tfa_recipes.run.lifecycle import OpenedRun
from tfa_recipes.run.lock import HOLDER_PID_ENV

RAY_PIN = "ray==2.60.0"
# CPUs per role when its --ray-*-cpus flag is not given.
DEFAULT_CPUS = 1.0
# A local instance's object store. The roles put nothing in it (Reverb carries the data),
# and Ray's default takes 30% of the machine's memory.
LOCAL_OBJECT_STORE_BYTES = 100 * 2**20
# The environment of a local instance started for the run:
LOCAL_INSTANCE_ENV = {
    # Ray binds a cluster to the machine's outward address; an instance for one run on one
    # machine listens on 127.0.0.1 only, as Ray does by default on macOS and Windows.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    # No usage report sent from a run.
    "RAY_USAGE_STATS_ENABLED": "0",
}
# Seconds a local instance's processes get to end after ray.shutdown(), or after the
# launcher died, before `_GUARD_PROGRAM` kills them.
SHUTDOWN_GRACE_SECONDS = 10.0
# A role whose Ray worker died (killed, its node lost) has no exit code of its own.
WORKER_LOST = -1


def cluster_address(flags: RayFlags) -> str | None:
    """The cluster to run on, or None for a local instance started for the run."""
    return flags.address or os.environ.get("RAY_ADDRESS") or None


def _on_loopback(address: str | None) -> bool:
    """A local instance, or a cluster whose head listens on 127.0.0.1 (started with
    LOCAL_INSTANCE_ENV): Ray would rewrite 127.0.0.1 to the machine's outward address,
    where such a head does not answer (ray.init then retried for minutes)."""
    host = None if address is None else address.rpartition(":")[0]
    return host is None or host.startswith("127.") or host in ("localhost", "[::1]")


def import_ray(flags: RayFlags) -> Any:
    if _on_loopback(cluster_address(flags)):
        # Read when Ray is imported.
        os.environ.update(LOCAL_INSTANCE_ENV)
    try:
        import ray
    except ImportError:
        raise RecipeError(
            "--cluster ray needs Ray, which is not installed here: pip install "
            f"'tfa_recipes[ray]' (or pip install {RAY_PIN})"
        ) from None
    return ray


def launch_on_ray(
    recipe: Any, opened: OpenedRun, argv: list[str], flags: Any
) -> int:
    """`launcher.launch` with Ray placing, restarting and stopping the roles (`flags`:
    `distributed.flags.RoleFlags`, with `cluster == "ray"`); the learner's exit code."""
    ray = import_ray(flags.ray)
    config = opened.config
    with ray_session(ray, flags.ray, config.actors, flags.connect_timeout) as cluster:
        needs = role_resources(flags.ray, config.actors, cluster["GPU"])
        refuse_unfit(ray, needs, config.actors, cluster["where"])
        node_ip = ray.util.get_node_ip_address()
        if flags.replay_address is None:
            address = f"{node_ip}:{free_port()}"
        else:
            address = flags.replay_address
            refuse_port_in_use(parse_address(address)[1])
        base = role_argv(recipe, argv, opened.run, address, "replay")
        actor_class = ray.remote(RoleProcess)
        here = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
            ray.get_runtime_context().get_node_id(), soft=False
        )

        def make_role(name: str, command: list[str], shares_lock: bool) -> RayRole:
            kind = name.split()[0]
            cpus, gpus = needs[kind]
            options: dict[str, Any] = {
                "num_cpus": cpus,
                "num_gpus": gpus,
                # Each role's output arrives through its own calls (`output`) while
                # the run's calls (`signal`, `stop`) still get through.
                "max_concurrency": 4,
                "max_restarts": MAX_ACTOR_RESTARTS if kind == "actor" else 0,
            }
            if kind == "replay":
                # The address the others are given is this node's.
                options["scheduling_strategy"] = here
            env = {HOLDER_PID_ENV: str(os.getpid())} if shares_lock else {}
            # Each node runs the roles with its own Python, not this one's path.
            return RayRole(
                ray, actor_class, name, command[1:], env, options, flags.connect_timeout
            )

        return run_roles(config, address, base, make_role, flags.connect_timeout)


@contextlib.contextmanager
def ray_session(
    ray: Any, flags: RayFlags, actors: int, connect_timeout: float
) -> Iterator[dict[str, Any]]:
    """Connected to the cluster of `flags.address` (or $RAY_ADDRESS), else to a local
    instance started here, sized to host every role; disconnected, and a local instance
    and every process it started gone, on every way out. Yields where it is and its GPUs."""
    address = cluster_address(flags)
    ray_logger = logging.getLogger("ray")
    level = ray_logger.level
    if not flags.verbose:
        # Ray's warnings (token authentication, a worker it restarted) are its own.
        ray_logger.setLevel(logging.ERROR)
    common = {"log_to_driver": flags.verbose, "configure_logging": flags.verbose}
    guard = None
    try:
        if address is None:
            guard = _guard()
            cpus, _ = asked(role_resources(flags, actors, 0), actors)
            ray.init(
                # A new instance even where `ray start` left one (or its address file,
                # /tmp/ray/ray_current_cluster), which ray.init() would join.
                address="local",
                # Logical CPUs, not cores: the local launcher also runs its processes on
                # however many cores there are.
                num_cpus=max(os.cpu_count() or 1, int(-(-cpus // 1))),
                include_dashboard=False,
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                **common,
            )
            where = "the local Ray instance"
        else:
            _refuse_silent_address(address)
            # A port that answers but is no Ray head's keeps ray.init retrying for minutes.
            give_up = threading.Timer(connect_timeout, _no_answer, (address, connect_timeout))
            give_up.start()
            try:
                ray.init(address=address, **common)
            except Exception as error:  # noqa: BLE001 - Ray raises several kinds
                # An explicit address never turns Ray's token authentication on.
                hint = "" if os.environ.get("RAY_AUTH_MODE") else (
                    "; a cluster with token authentication (Ray's default when a token "
                    "exists) also needs RAY_AUTH_MODE=token here"
                )
                raise RecipeError(
                    f"cannot connect to the Ray cluster at {address} "
                    f"({first_line(error)[:160]}){hint}"
                ) from None
            finally:
                give_up.cancel()
            where = f"the Ray cluster at {address}"
        yield {"where": where, "GPU": ray.cluster_resources().get("GPU", 0.0)}
    finally:
        ray.shutdown()
        if guard is not None:
            guard.stdin.close()
            guard.wait()
        ray_logger.setLevel(level)


# Kills what a local instance leaves. Killed with the launcher (kill -9), the instance's
# servers die with it (Ray's own fate sharing: PR_SET_PDEATHSIG), its workers and so the
# roles within seconds, but its two agents (ray::DashboardAgent, ray::RuntimeEnvAgent)
# lived on for about a minute, trying to flush their logs to the dead GCS. This process
# notes every process below the launcher while the launcher lives; once its stdin closes
# (the launcher shut Ray down, or died) it gives them SHUTDOWN_GRACE_SECONDS, then
# SIGKILL. It runs as `python -I -S -c`: no site-packages, started in milliseconds.
_GUARD_PROGRAM = r"""
import os, select, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the launcher's to handle
launcher, grace, spared = int(sys.argv[1]), float(sys.argv[2]), set(map(int, sys.argv[3:]))
spared.add(os.getpid())

def stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None

def below_launcher():
    children = {}
    for entry in os.listdir("/proc"):
        fields = entry.isdigit() and stat(entry)
        if fields:
            children.setdefault(int(fields[1]), []).append((int(entry), fields[19]))
    found, todo = {}, [launcher]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            if pid not in spared:
                found[pid] = started
                todo.append(pid)
    return found

def alive(pid, started):
    fields = stat(pid)  # the same start time: not a new process under a reused PID
    return bool(fields) and fields[0] != "Z" and fields[19] == started

seen = {}
while not select.select([sys.stdin], [], [], 0.5)[0]:
    seen.update(below_launcher())
deadline = time.monotonic() + grace
while any(alive(*p) for p in seen.items()) and time.monotonic() < deadline:
    time.sleep(0.1)
for pid, started in seen.items():
    if alive(pid, started):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
"""


def _guard() -> subprocess.Popen:
    """`_GUARD_PROGRAM` over this process; its children so far (the console's noise
    filter) are not Ray's and are spared."""
    mine = [
        entry for entry in os.listdir("/proc")
        if entry.isdigit() and _parent(entry) == os.getpid()
    ]
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _GUARD_PROGRAM, str(os.getpid()),
         str(SHUTDOWN_GRACE_SECONDS), *mine],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _parent(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _no_answer(address: str, seconds: float) -> None:
    """ray.init cannot be interrupted: one line, and the process ends (it holds nothing of
    the run but its lock, which the kernel releases)."""
    print(
        f"error: the Ray cluster at {address} did not answer within {seconds:g} s "
        "(--connect-timeout): is it a Ray head's address (ray start --head prints it)?",
        file=sys.stderr, flush=True,
    )
    os._exit(2)


def _refuse_silent_address(address: str) -> None:
    """One line at once for a HOST:PORT where nothing listens: ray.init retries such an
    address for a minute before it gives up."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", "ray://...": Ray's to read
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise RecipeError(
            f"no Ray cluster answers at {address} ({error.strerror or error}): start one "
            "with `ray start --head`, or leave --ray-address out for a local instance"
        ) from None


def role_resources(
    flags: RayFlags, actors: int, cluster_gpus: float
) -> dict[str, tuple[float, float]]:
    """(CPUs, GPUs) each role asks for, by the first word of its name."""
    gpus = flags.learner_gpus if flags.learner_gpus is not None else min(1.0, cluster_gpus)
    resources = {
        "replay": (_or_default(flags.replay_cpus), 0.0),
        "learner": (_or_default(flags.learner_cpus), gpus),
        "actor": (_or_default(flags.actor_cpus), 0.0),
    }
    if actors == 0:
        del resources["actor"]
    return resources


def asked(needs: dict[str, tuple[float, float]], actors: int) -> tuple[float, float]:
    """(CPUs, GPUs) the roles ask for together."""
    count = {"replay": 1, "learner": 1, "actor": actors}
    return tuple(sum(need[i] * count[kind] for kind, need in needs.items()) for i in (0, 1))


def _or_default(cpus: float | None) -> float:
    return DEFAULT_CPUS if cpus is None else cpus


def refuse_unfit(
    ray: Any, needs: dict[str, tuple[float, float]], actors: int, where: str
) -> None:
    """One line when the cluster cannot run every role at once: a role bigger than any of
    its nodes, or more than it has in all. Ray would wait for such resources forever."""
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    for kind, (cpus, gpus) in needs.items():
        if not any(n.get("CPU", 0) >= cpus and n.get("GPU", 0) >= gpus for n in nodes):
            raise RecipeError(
                f"{where} cannot host the {kind} role: it asks for {cpus:g} CPUs and "
                f"{gpus:g} GPUs (--ray-{kind}-{'gpus' if gpus else 'cpus'}), and no node "
                f"has that many"
            )
    total = ray.cluster_resources()
    for resource, wanted in zip(("CPU", "GPU"), asked(needs, actors), strict=True):
        if wanted > total.get(resource, 0.0):
            raise RecipeError(
                f"{where} cannot host the roles at once: they ask for {wanted:g} "
                f"{resource}s and it has {total.get(resource, 0.0):g}; ask for less with "
                "--ray-actor-cpus (fractions work) or add nodes"
            )


class RayRole:
    """A role as `launcher.run_roles` drives it, run by a `RoleProcess` Ray actor."""

    def __init__(
        self,
        ray: Any,
        actor_class: Any,
        name: str,
        argv: list[str],
        env: dict[str, str],
        options: dict[str, Any],
        start_timeout: float,
    ) -> None:
        self.ray, self.actor_class, self.name = ray, actor_class, name
        self.argv, self.env, self.options = argv, env, options
        self.start_timeout = start_timeout
        self.restarts = 0
        self.handle: Any = None
        self.pending: Any = None
        self.node, self.pid, self.worker_pid = "", 0, 0
        self.code: int | None = None

    def start(self) -> None:
        self.handle = self.actor_class.options(**self.options).remote(self.argv, self.env)
        self.pid = 0

    def _started(self, previous_pid: int | None) -> None:
        """Wait until Ray has started the role (again, with a new PID after a restart)."""
        errors = self.ray.exceptions
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                where = self.ray.get(
                    self.handle.where.remote(), timeout=max(0.1, deadline - time.monotonic())
                )
            except errors.GetTimeoutError:
                raise RecipeError(
                    f"Ray did not start the {self.name} within {self.start_timeout:g} s "
                    "(--connect-timeout): the cluster's resources are taken by other work"
                ) from None
            except errors.ActorUnavailableError:
                where = None  # being restarted
            except errors.RayActorError as error:
                raise RecipeError(
                    f"Ray could not start the {self.name} ({first_line(error)[:160]})"
                ) from None
            if where is not None and where[1] != previous_pid:
                break
            if time.monotonic() > deadline:
                raise RecipeError(f"Ray did not restart the {self.name} within "
                                  f"{self.start_timeout:g} s (--connect-timeout)")
            time.sleep(0.2)
        self.node, self.pid, self.worker_pid = where
        self.code = None
        self.pending = self.handle.output.remote()

    def describe(self) -> str:
        if not self.pid:
            self._started(previous_pid=None)
        return f"pid {self.pid} (Ray worker {self.worker_pid}, node {self.node})"

    def poll(self) -> int | None:
        if self.code is not None or self.pending is None:
            return self.code
        ready, _ = self.ray.wait([self.pending], timeout=0)
        if not ready:
            return None
        try:
            lines, code = self.ray.get(self.pending)
        except self.ray.exceptions.RayActorError:
            self.code = WORKER_LOST
            return self.code
        _show(lines)
        if code is None:
            self.pending = self.handle.output.remote()
        self.code = code
        return code

    def exit_reason(self, code: int) -> str:
        return "its Ray worker died" if code == WORKER_LOST else describe_exit(code)

    def restart(self) -> None:
        """Ray restarts the actor (`max_restarts`), which starts the role again."""
        self.restarts += 1
        if self.code != WORKER_LOST:
            # The role ended, its worker did not: Ray restarts a killed actor.
            self.ray.kill(self.handle, no_restart=False)
        self._started(previous_pid=self.pid)

    def signal(self, signum: int) -> None:
        if self.handle is not None and self.code is None:
            self.handle.signal.remote(signum)

    def wait(self, deadline: float) -> None:
        if self.handle is None:
            return
        seconds = max(0.0, deadline - time.monotonic())
        errors = self.ray.exceptions
        with contextlib.suppress(errors.RayActorError, errors.GetTimeoutError):
            if self.pending is not None and self.code is None:
                _show(self.ray.get(self.pending, timeout=seconds + 5)[0])
            if self.code != WORKER_LOST:
                _show(self.ray.get(self.handle.stop.remote(seconds), timeout=seconds + 10)[0])
        self.ray.kill(self.handle, no_restart=True)
        self.handle = None


def _show(lines: list[tuple[str, str]]) -> None:
    for stream, line in lines:
        out = sys.stdout if stream == "stdout" else sys.stderr
        out.write(line)
        out.flush()
