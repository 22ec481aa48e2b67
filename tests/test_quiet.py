"""A normal run prints the tutorial's lines only; library noise shows with --verbose."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, run_cli

TINY = (
    "--num-iterations", "2",
    "--log-interval", "1",
    "--eval-interval", "1",
    "--num-eval-episodes", "1",
    "--num-video-episodes", "1",
    "--initial-collect-steps", "1",
)
NOISE = ("[reverb/cc/", "foldr_v2", "back_prop=False", "Sanitizing to", "StructuredValue",
         "WARNING:tensorflow", "WARNING:absl", "Editable install")


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter (it rewires file descriptor 2, so not in pytest's)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, cwd=REPO, timeout=60,
        env={"PATH": "/usr/bin:/bin", **env},
    )


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    result = run_cli("tfa_recipes.dqn_cartpole", *TINY, "--run-dir",
                     str(tmp_path_factory.mktemp("quiet") / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_default_run_prints_no_library_noise(default_run):
    output = default_run.stdout + default_run.stderr
    assert [line for line in output.splitlines() if any(n in line for n in NOISE)] == []
    assert default_run.stderr == ""


def test_default_run_prints_the_tutorials_lines_and_the_final_line(default_run):
    lines = default_run.stdout.splitlines()
    assert lines[0].startswith("run directory: ")
    assert any(line.startswith("random policy: Average Return = ") for line in lines)
    assert any(line.startswith("step = 1: loss = ") for line in lines)
    assert lines[-1].startswith("done: final Average Return = ")


def test_verbose_run_shows_the_libraries_lines(tmp_path):
    result = run_cli("tfa_recipes.dqn_cartpole", *TINY, "--num-video-episodes", "0",
                     "--verbose", "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Started replay server on port" in result.stderr
    assert "back_prop=False is deprecated" in result.stderr
    assert "Sanitizing to" in result.stderr


SIEVE = textwrap.dedent("""
    import os, sys, warnings, logging
    from tfa_recipes.output import quiet
    logging.basicConfig()
    with quiet.hidden():
        os.write(2, b"[reverb/cc/platform/default/server.cc:71] Started replay server on port 1\\n")
        os.write(2, b"[reverb/cc/table.cc:1] Something failed\\n")
        print("python stderr line", file=sys.stderr)
        logging.getLogger("tensorflow").warning(
            "From x.py:1: calling foldr_v2 (from tensorflow.python.ops.functional_ops) "
            "with back_prop=False is deprecated and will be removed in a future version.")
        logging.getLogger("tensorflow").warning("a real TensorFlow warning")
        logging.getLogger("absl").warning(
            "`0/reward` is not a valid tf.function parameter name. Sanitizing to `arg_0_reward`.")
        warnings.warn_explicit(
            "Encoding a StructuredValue with type tfp.distributions.Deterministic_ACTTypeSpec; "
            "loading this StructuredValue will require that this type be imported and registered.",
            UserWarning, "nested_structure_coder.py", 458,
            module="tensorflow.python.saved_model.nested_structure_coder")
        warnings.warn("a real warning", UserWarning)
        {tail}
    print("after the block", file=sys.stderr)
""")


def test_hidden_drops_exactly_the_known_noise_and_passes_real_messages():
    result = _python(SIEVE.format(tail="pass"))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "[reverb/cc/table.cc:1] Something failed" in lines
    assert "python stderr line" in lines
    assert "WARNING:tensorflow:a real TensorFlow warning" in lines
    assert any("UserWarning: a real warning" in line for line in lines)
    assert lines[-1] == "after the block"
    hidden = ("Started replay server", "foldr_v2", "Sanitizing to", "StructuredValue")
    assert not [line for line in lines if any(text in line for text in hidden)]


def test_tfa_verbose_environment_variable_hides_nothing():
    result = _python(SIEVE.format(tail="pass"),
                     TFA_VERBOSE="1")
    assert "Started replay server on port 1" in result.stderr
    assert "back_prop=False is deprecated" in result.stderr
    assert "Sanitizing to" in result.stderr and "StructuredValue" in result.stderr


def test_what_a_crashing_run_wrote_still_reaches_stderr():
    # A C++ `Check failed` aborts the process: the filter is a process of its own, so the
    # lines written before the abort are not lost with it.
    result = _python(SIEVE.format(tail="os.write(2, b'Check failed: x\\\\n'); os.abort()"))
    assert result.returncode != 0
    assert "Check failed: x" in result.stderr
    assert "[reverb/cc/table.cc:1] Something failed" in result.stderr
    assert "Started replay server" not in result.stderr
