"""What a recipe's agent needs of an environment, checked when it is loaded: an environment
it cannot use is refused in one line naming it, not a failure deep inside Keras or DqnAgent."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfa_recipes.errors import RecipeError


def require_discrete_actions(action_spec, env_name: str) -> None:
    """Refuse, in one line, an environment whose actions DqnAgent cannot pick: it scores
    each of n actions with one Q-value, so it needs one integer action in 0 .. n-1."""
    specs = tf.nest.flatten(action_spec)
    spec = specs[0]
    discrete = (
        len(specs) == 1
        and len(spec.shape) == 0
        and tf.as_dtype(spec.dtype).is_integer
        and np.all(getattr(spec, "minimum", None) == 0)
    )
    if not discrete:
        raise RecipeError(
            f"DQN needs a discrete action space (one integer action in 0 .. n-1); {env_name} "
            f"has {_described(action_spec)}"
        )


def require_vector_observations(observation_spec, env_name: str, network: str) -> None:
    """Refuse, in one line, an environment whose observations the tutorials' Dense networks
    cannot read: they take one vector of numbers. A discrete observation (FrozenLake's
    state index) or an image (raw Atari frames) failed deep inside Keras instead."""
    specs = tf.nest.flatten(observation_spec)
    spec = specs[0]
    if len(specs) == 1 and len(spec.shape) == 1 and tf.as_dtype(spec.dtype).is_floating:
        return
    if len(specs) != 1:
        what = f"{len(specs)} observations at once"
    elif len(spec.shape) == 0:
        what = f"a single {tf.as_dtype(spec.dtype).name} observation (a discrete state)"
    else:
        what = f"{tf.as_dtype(spec.dtype).name} observations of shape {tuple(spec.shape)}"
    raise RecipeError(
        f"{network} reads one vector of floats per observation; {env_name} has {what}"
    )


def _described(action_spec) -> str:
    specs = tf.nest.flatten(action_spec)
    if len(specs) != 1:
        return f"{len(specs)} actions at once"
    spec = specs[0]
    text = f"actions of shape {tuple(spec.shape)} and dtype {tf.as_dtype(spec.dtype).name}"
    if hasattr(spec, "minimum"):
        low, high = np.asarray(spec.minimum).tolist(), np.asarray(spec.maximum).tolist()
        text += f" in {low} .. {high}"
    return text
