"""The tutorials' `TFPyEnvironment`, closed with the run's other resources."""

from __future__ import annotations

from contextlib import ExitStack

from tf_agents.environments import py_environment, tf_py_environment


def tf_environment(
    py_env: py_environment.PyEnvironment, resources: ExitStack
) -> tf_py_environment.TFPyEnvironment:
    """The tutorials' `TFPyEnvironment(py_env)`, closed with the run's other resources:
    it steps `py_env` through a thread pool of its own, and a pool left to the
    interpreter's exit printed a traceback (a run with no iteration left to train)."""
    tf_env = tf_py_environment.TFPyEnvironment(py_env)
    resources.callback(tf_env.close)
    return tf_env
