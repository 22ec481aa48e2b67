"""Addresses and ports of a run with actors, and waiting for its replay server."""

from __future__ import annotations

import errno
import math
import socket
import time

import reverb

from tfa_recipes.errors import RecipeError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refuse_port_in_use(port: int) -> None:
    """gRPC binds with SO_REUSEPORT, so a second Reverb server on a busy port starts and
    shares it silently; a plain bind finds the port taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise RecipeError(
                    f"port {port} is in use: pick another --replay-address"
                ) from None
            raise


def wait_for_server(address: str, timeout: float) -> reverb.Client:
    """A client of the replay server at `address` once it answers, or one line."""
    client = reverb.Client(address)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.server_info(timeout=max(1, min(5, math.ceil(timeout))))
            return client
        except Exception as error:  # noqa: BLE001 - gRPC raises several kinds
            if time.monotonic() > deadline:
                raise RecipeError(
                    f"no replay server answers at {address} after {timeout:.0f} s "
                    f"({str(error).splitlines()[0][:120]}); start it with --role replay"
                ) from None
            time.sleep(0.5)


def server_answers(address: str) -> bool:
    try:
        reverb.Client(address).server_info(timeout=2)
    except Exception:  # noqa: BLE001 - gRPC raises several kinds
        return False
    return True
