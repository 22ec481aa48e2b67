"""Environment loading: the suites the tutorials use, with errors a user can read."""

from tfa_recipes.envs.gym import load_gym, make_gym, render_frame

__all__ = ["load_gym", "make_gym", "render_frame"]
