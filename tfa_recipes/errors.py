"""The one error type a user is meant to read.

Anything raised as `RecipeError` is a problem with the user's input (an unknown
environment, a negative budget, a run directory that belongs to another recipe); the CLI
prints its message as one line and exits non-zero. Every other exception is a bug and keeps
its traceback.
"""


class RecipeError(Exception):
    """Bad input, explained in one line: the value given and what was expected."""


class Interrupted(Exception):
    """A SIGINT/SIGTERM stopped a run after its progress was saved; it can resume."""

    def __init__(self, iteration: int, run_path: object) -> None:
        super().__init__(
            f"interrupted at iteration {iteration}; progress saved in {run_path} "
            f"(resume with --run-dir {run_path})"
        )
