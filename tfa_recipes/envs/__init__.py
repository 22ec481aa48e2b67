"""Environment loading: the suites the tutorials use, with errors a user can read."""

from tf_agents.environments import tf_py_environment

from tfa_recipes.envs.gym import load_gym, make_gym, render_frame

__all__ = ["load_gym", "make_gym", "render_frame", "tf_environment"]


def tf_environment(py_env, resources) -> tf_py_environment.TFPyEnvironment:
    """The tutorials' `TFPyEnvironment(py_env)`, closed with the run's other resources:
    it steps `py_env` through a thread pool of its own, and a pool left to the
    interpreter's exit printed a traceback (a run with no iteration left to train)."""
    tf_env = tf_py_environment.TFPyEnvironment(py_env)
    resources.callback(tf_env.close)
    return tf_env
