"""A failed write of the run directory (a full disk, a read-only folder) as one line that
says what failed and what is still intact for a resume."""

from __future__ import annotations

import errno
import re

import tensorflow as tf

from tfa_recipes.run.checkpoints import Checkpoints
from tfa_recipes.run.directory import RunDir

# What a failed write of the run directory raises: a full disk or quota, a read-only or
# protected folder, a failing device (other OSErrors are not the run directory's).
WRITE_FAULTS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
)


def is_write_fault(error: BaseException) -> bool:
    if isinstance(error, OSError):
        return error.errno in WRITE_FAULTS
    if isinstance(error, tf.errors.OpError):
        return isinstance(
            error, tf.errors.ResourceExhaustedError | tf.errors.PermissionDeniedError
        ) or "No space left on device" in (error.message or "")
    return False


def write_fault_line(error: Exception, run: RunDir, checkpoints: Checkpoints) -> str:
    """One line for a failed write: what failed, and what is still intact for a resume."""
    if isinstance(error, OSError):
        what = f"{error.strerror or error}" + (f" ({error.filename})" if error.filename else "")
    else:
        # TF prefixes the failing op ("{{function_node __wrapped__...}} "): not the user's.
        message = re.sub(r"^\{\{[^}]*\}\}\s*", "", getattr(error, "message", "") or "")
        what = (message or type(error).__name__).splitlines()[0]
    saved = checkpoints.newest_iteration()
    kept = (
        f"the checkpoint of iteration {saved} is intact: resume with --run-dir {run.path} "
        "once the cause is fixed"
        if saved is not None
        else "nothing was checkpointed yet"
    )
    return f"cannot write to {run.path}: {what}; {kept}"
