"""Library noise hidden during a run, unless asked for with `--verbose` or `TFA_VERBOSE=1`.

A first `dqn_cartpole` run printed some 25 lines of it around the tutorial's lines, none of
which a user can act on. Each is hidden by its source and its exact message, so a real
warning (or a Reverb error) still shows:

- Reverb's C++ progress lines (`[reverb/cc/...] Started replay server on port ...`).
  Reverb's own logging (`reverb/cc/platform/default/logging.h`) writes every message to
  `std::clog` with no level and no switch, so the only way to drop them is to read the
  process's stderr: `hidden()` points file descriptor 2 at a small filter process that
  passes every other line through. It is a process, not a thread, so whatever the run
  writes before it dies (a C++ `Check failed`, a traceback) still reaches the terminal.
- TensorFlow's deprecation notice for `tf.foldr(..., back_prop=False)`, which TF-Agents'
  epsilon-greedy policy calls (7 lines, once per traced policy).
- absl's "`0/step_type` is not a valid tf.function parameter name. Sanitizing to
  `arg_0_step_type`", one line per argument of each function `PolicySaver` exports.
- `tf_agents.train.Learner`'s two warnings that its own checkpoints and its optimizer
  variable trace are off: the loop checkpoints the agent with everything else it saves.
- XLA's notices when a TF-native loop compiles ("Compiled cluster using XLA!", absl's
  "All log messages before absl::InitializeLog()").
- `nested_structure_coder`'s UserWarning that loading a saved policy needs TF Probability's
  `Deterministic_ACTTypeSpec` registered (importing tf_agents registers it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator

VERBOSE_ENV = "TFA_VERBOSE"

# Reverb's progress messages as dm-reverb 0.14 words them (seen on a first run and on a
# resume); anything else it prints (errors, failed checks) is not matched and passes.
_REVERB_PROGRESS_MESSAGES = (
    r"Initializing TFRecordCheckpointer in ",
    r"Loading latest checkpoint from ",
    r"Loading checkpoint from ",
    r"Loading and verifying metadata of the checkpointed tables",
    r"Metadata for table '[^']*' was successfully loaded and verified\.",
    r"Successfully loaded ",
    r"Still reading compressed trajectory data\. ",
    r"Completed reading compressed trajectory data\. ",
    r"Table \S+ and \d+ items have been successfully loaded from checkpoint ",
    r"No checkpoint found in ",
    r"Started replay server on port ",
    r"Sampler and server are owned by the same process ",
    r"Stored checkpoint to ",
    r"Shutting down replay server",
)
REVERB_PROGRESS = re.compile(
    r"\[reverb/cc/[^\]]+\] +(?:" + "|".join(_REVERB_PROGRESS_MESSAGES) + ")"
)
# XLA's own log lines (absl's C++ logging, which TF_CPP_MIN_LOG_LEVEL does not reach) when a
# TF-native loop compiles: each is said once a process and asks nothing of the user.
XLA_NOTICES = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    r"STDERR|I\d{4} [\d:.]+ +\d+ device_compiler\.h:\d+\] Compiled cluster using XLA!"
)
STDERR_NOISE = re.compile(rf"{REVERB_PROGRESS.pattern}|{XLA_NOTICES.pattern}")
# (logger name, message pattern) of log records that say nothing a user can act on.
LOG_NOISE = (
    ("tensorflow", re.compile(r"From .*: calling foldr_v2 \(from tensorflow\.python\.ops\.func"
                              r"tional_ops\) with back_prop=False is deprecated")),
    ("absl", re.compile(r"`[^`]+` is not a valid tf\.function parameter name\. Sanitizing to")),
    # tf_agents.train.Learner's own checkpoints and optimizer-variable trace are switched
    # off on purpose (roles.TFAgentsLearner: the loop checkpoints more than the agent).
    ("absl", re.compile(r"Warning: checkpointing the training process is manually disabled\.")),
    ("absl", re.compile(r"run_optimizer_variable_init = False is Deprecated")),
)
# (message, category, module) of warnings.filterwarnings entries.
WARNING_NOISE = (
    (r"Encoding a StructuredValue with type tfp\.distributions\.\w+_ACTTypeSpec",
     UserWarning, r"tensorflow\.python\.saved_model\.nested_structure_coder"),
)

# Runs as `python -I -S -c`: no site-packages, so it starts in a few milliseconds.
_FILTER_PROGRAM = r"""
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle, not ours
hide = re.compile(sys.argv[1].encode())
out = sys.stdout.buffer
for line in iter(sys.stdin.buffer.readline, b""):
    if not hide.match(line):
        out.write(line)
        out.flush()
"""


# The user's stderr while `hidden()` has pointed file descriptor 2 at the filter: a
# progress bar redraws its line with `\r`, which a line filter would hold back until the
# end, so the bar writes here directly.
_real_stderr_fd: int | None = None


def terminal_fd() -> int | None:
    """The file descriptor of the user's terminal for stderr, or None when stderr is not
    a terminal (a log file, CI, a pipe)."""
    fd = _real_stderr_fd if _real_stderr_fd is not None else 2
    try:
        return fd if os.isatty(fd) else None
    except OSError:
        return None


def verbose_from_env() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


class _MessageFilter(logging.Filter):
    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


@contextlib.contextmanager
def hidden(*, verbose: bool = False) -> Iterator[None]:
    """Hide the libraries' noise (see the module's docstring) inside the block.

    With `verbose` (or `TFA_VERBOSE=1` in the environment) nothing is hidden.
    """
    if verbose or verbose_from_env():
        yield
        return
    filters = [(logging.getLogger(name), _MessageFilter(pattern)) for name, pattern in LOG_NOISE]
    for logger, log_filter in filters:
        logger.addFilter(log_filter)
    try:
        with warnings.catch_warnings(), _stderr_lines_hidden(STDERR_NOISE):
            for message, category, module in WARNING_NOISE:
                warnings.filterwarnings("ignore", message, category, module)
            yield
    finally:
        for logger, log_filter in filters:
            logger.removeFilter(log_filter)


@contextlib.contextmanager
def _stderr_lines_hidden(pattern: re.Pattern[str]) -> Iterator[None]:
    """File descriptor 2 through a filter process that drops the lines `pattern` matches."""
    try:
        real_stderr = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep clean
        yield
        return
    try:
        sieve = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _FILTER_PROGRAM, pattern.pattern],
            stdin=subprocess.PIPE,
            stdout=real_stderr,
            stderr=real_stderr,
        )
    except OSError:
        os.close(real_stderr)
        yield
        return
    global _real_stderr_fd
    sys.stderr.flush()
    os.dup2(sieve.stdin.fileno(), 2)
    sieve.stdin.close()
    _real_stderr_fd = real_stderr
    try:
        yield
    finally:
        _real_stderr_fd = None
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # the pipe's last writer closes: the sieve drains and exits
        os.close(real_stderr)
        with contextlib.suppress(subprocess.TimeoutExpired):
            # A child of the run (an ffmpeg still closing) may hold the pipe a moment longer.
            sieve.wait(timeout=10)
