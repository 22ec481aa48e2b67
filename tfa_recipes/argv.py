"""Command lines handed on to child processes (a seed group's seeds, the roles of a run
with actors): the parent's flags with some of them taken out."""

from __future__ import annotations

from collections.abc import Sequence


def without_flags(
    argv: Sequence[str], flags: Sequence[str], switches: Sequence[str] = ()
) -> list[str]:
    """`argv` less every `--flag VALUE` / `--flag=VALUE` of `flags` and every `switches`."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in flags:
            skip = True
            continue
        if arg in switches or arg.startswith(tuple(f"{flag}=" for flag in flags)):
            continue
        kept.append(arg)
    return kept
