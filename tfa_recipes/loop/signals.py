"""Ctrl-C and SIGTERM as a request the loop answers between iterations."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any


class StopRequest:
    """SIGINT/SIGTERM set a flag the loop checks between iterations; a second SIGINT
    stops at once, except inside a checkpoint's save, which it lets finish."""

    def __init__(self) -> None:
        self.requested = False
        self._saving = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT and not self._saving:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        self._saving = True
        try:
            yield
        finally:
            self._saving = False
