"""Progress bars for the long phases (tqdm, drawn only on an interactive terminal).

A bar draws on the user's terminal even while `quiet.hidden` filters stderr, and not at
all in a log, a pipe or CI, so captured output holds only the tutorials' lines.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from tqdm import tqdm

from tfa_recipes.output import quiet


@contextlib.contextmanager
def bar(
    total: int, *, initial: int = 0, desc: str | None = None, unit: str = "it"
) -> Iterator[tqdm]:
    """A tqdm bar over `total` units, starting at `initial` (a resumed run); lines printed
    with `say` while it is open do not break it."""
    fd = quiet.terminal_fd()
    stream = os.fdopen(os.dup(fd), "w", buffering=1) if fd is not None else None
    progress = tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        file=stream,
        disable=stream is None,
        leave=False,
        dynamic_ncols=True,
        mininterval=0.2,
    )
    try:
        yield progress
    finally:
        progress.close()
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def _above(progress: tqdm) -> Iterator[None]:
    """Output written inside the block lands above the bar: it is cleared, then redrawn."""
    if progress.disable:
        yield
        return
    progress.clear()
    try:
        yield
    finally:
        sys.stdout.flush()
        progress.refresh()


def say(progress: tqdm, line: str, out: Callable[[str], None] = print) -> None:
    """`out(line)` (stdout by default) above the bar."""
    with _above(progress):
        out(line)


@contextlib.contextmanager
def counting(
    report: Callable[..., None], total: int, *, desc: str, unit: str = "it"
) -> Iterator[Callable[..., None]]:
    """`report` (a training loop's per-iteration callback, which may print its line) with a
    bar that moves one unit per call."""
    with bar(total, desc=desc, unit=unit) as progress:

        def tracked(*args: object) -> None:
            with _above(progress):
                report(*args)
            progress.update(1)

        yield tracked
