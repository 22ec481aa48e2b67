"""The one error type a user is meant to read.

Anything raised as `RecipeError` is a problem with the user's input (an unknown
environment, a negative budget, a run directory that belongs to another recipe); the CLI
prints its message as one line and exits non-zero. Every other exception is a bug and keeps
its traceback.
"""


def first_line(error: BaseException) -> str:
    """A library error's first line (its message, or its type when it has none)."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__


class RecipeError(Exception):
    """Bad input, explained in one line: the value given and what was expected."""


class Diverged(RecipeError, FloatingPointError):
    """The loss became NaN or infinite: one line for the user (it follows from the
    hyperparameters), a FloatingPointError for code that catches those."""


class Interrupted(Exception):
    """A SIGINT/SIGTERM stopped a run; what it had saved (if anything) can resume."""

    def __init__(self, iteration: int | None, run_path: object) -> None:
        if iteration is None:
            message = "interrupted before any progress was saved"
        else:
            message = (
                f"interrupted at iteration {iteration}; progress saved in {run_path} "
                f"(resume with --run-dir {run_path})"
            )
        super().__init__(message)
