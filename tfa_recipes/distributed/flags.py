"""A run with actors' flags and set-up checks, read before TensorFlow loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tfa_recipes.errors import RecipeError
from tfa_recipes.run.directory import RunDir

ROLES = ("replay", "learner", "actor")
DEFAULT_CONNECT_TIMEOUT = 120.0


@dataclass(frozen=True)
class RoleFlags:
    """--role, --replay-address, --actor-id and --connect-timeout, as given."""

    role: str | None = None
    replay_address: str | None = None
    actor_id: int | None = None
    # How long a role waits for another (the server, the warm-up) before one line.
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    def check(self, config: Any) -> None:
        """Refuse flags that do not go together, before anything starts."""
        role, address, actor_id = self.role, self.replay_address, self.actor_id
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
