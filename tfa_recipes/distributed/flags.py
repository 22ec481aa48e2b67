"""A run with actors' flags and set-up checks, read before TensorFlow loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tfa_recipes.errors import RecipeError
from tfa_recipes.run.directory import RunDir

ROLES = ("replay", "learner", "actor")
DEFAULT_CONNECT_TIMEOUT = 120.0
# Who starts, restarts and stops the roles of `--actors N`: this package's launcher on
# this machine, or Ray (`distributed.ray_launcher`) on a local instance or a cluster.
CLUSTERS = ("local", "ray")


@dataclass(frozen=True)
class RayFlags:
    """--ray-address and the resources each role asks Ray for (None: the default,
    `distributed.ray_launcher.RESOURCE_DEFAULTS`)."""

    address: str | None = None
    replay_cpus: float | None = None
    learner_cpus: float | None = None
    # None: one GPU when the cluster has one, else none.
    learner_gpus: float | None = None
    actor_cpus: float | None = None
    # Ray's own log lines (its workers' output, its warnings) on the console (--verbose).
    verbose: bool = False

    def given(self) -> list[str]:
        """The --ray-* flags given."""
        return [
            f"--ray-{name.replace('_', '-')}"
            for name in ("address", "replay_cpus", "learner_cpus", "learner_gpus", "actor_cpus")
            if getattr(self, name) is not None
        ]


# The flags of the launcher alone: a role started for it gets its own address and run
# directory, and is one process of whatever cluster started it.
LAUNCHER_FLAGS = (
    "--run-dir", "--replay-address", "--cluster", "--ray-address", "--ray-replay-cpus",
    "--ray-learner-cpus", "--ray-learner-gpus", "--ray-actor-cpus",
)


@dataclass(frozen=True)
class RoleFlags:
    """--role, --replay-address, --actor-id and --connect-timeout, as given."""

    role: str | None = None
    replay_address: str | None = None
    actor_id: int | None = None
    # How long a role waits for another (the server, the warm-up) before one line.
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    cluster: str = "local"
    ray: RayFlags = RayFlags()

    def check(self, config: Any) -> None:
        """Refuse flags that do not go together, before anything starts."""
        role, address, actor_id = self.role, self.replay_address, self.actor_id
        if self.cluster not in CLUSTERS:
            raise RecipeError(
                f"--cluster must be one of {', '.join(CLUSTERS)}, got {self.cluster!r}"
            )
        if self.cluster == "ray" and role is not None:
            raise RecipeError("--cluster ray starts every role itself: it goes without --role")
        if self.cluster != "ray" and self.ray.given():
            raise RecipeError(f"{self.ray.given()[0]} goes with --cluster ray")
        if role is None:
            if actor_id is not None:
                raise RecipeError("--actor-id goes with --role actor")
            if address is not None:
                parse_address(address)
            return
        if role not in ROLES:
            raise RecipeError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
        if address is None:
            raise RecipeError(f"--role {role} needs --replay-address HOST:PORT")
        parse_address(address)
        if role == "actor" and actor_id is None:
            raise RecipeError("--role actor needs --actor-id N")
        if role != "actor" and actor_id is not None:
            raise RecipeError("--actor-id goes with --role actor")
        if actor_id is not None and actor_id < 0:
            raise RecipeError(f"--actor-id must be >= 0, got {actor_id}")


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RecipeError(f"--replay-address must be HOST:PORT, got {text!r}")
    return host, int(port)


def refuse_mode_change(started: Any, config: Any, run: RunDir) -> None:
    """A run keeps whether it has actors: its checkpoints' copy of the table holds the
    tables of that set-up (with actors, a rate-limited table and the weights' table), which
    the other set-up's server cannot load. The number of actors may change."""
    if (started.actors == 0) != (config.actors == 0):
        then, now = ("with", "--actors N (N >= 1)") if started.actors else ("without", "--actors 0")
        raise RecipeError(
            f"{run.path} was started {then} actors, and its checkpoints' replay table is for "
            f"that set-up: resume it with {now}"
        )
