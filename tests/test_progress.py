"""Progress bars: drawn on a terminal (even while stderr is filtered), absent elsewhere."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap

from conftest import REPO

PROGRAM = textwrap.dedent(
    """
    from tfa_recipes.output import progress, quiet

    with quiet.hidden():
        with progress.bar(40, desc="probe", unit="step") as bar:
            for index in range(40):
                bar.update(1)
                if index == 20:
                    progress.say(bar, "a tutorial line")
    print("done")
    """
)


def _run_on_a_terminal(program: str) -> str:
    """`program` with stdout and stderr on a pseudo-terminal 100 columns wide."""
    controller, terminal = pty.openpty()
    os.system(f"stty cols 100 rows 30 < {os.ttyname(terminal)}")
    process = subprocess.Popen(
        [sys.executable, "-c", program], stdout=terminal, stderr=terminal,
        stdin=subprocess.DEVNULL, cwd=REPO,
    )
    os.close(terminal)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the program ended
                break
            if not chunk:
                break
            output += chunk
    finally:
        process.wait(timeout=30)
        os.close(controller)
    return output.decode(errors="replace")


def test_a_terminal_gets_the_bar_and_the_lines():
    output = _run_on_a_terminal(PROGRAM)
    assert "probe:" in output and "/40" in output, output
    assert "a tutorial line" in output
    assert "done" in output


def test_captured_output_has_no_bar():
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "a tutorial line\ndone\n"
    assert completed.stderr == ""
