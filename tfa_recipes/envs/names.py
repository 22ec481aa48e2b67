"""Prefixes of `--env-name` that pick a suite other than gym 0.23's suite_gym, and the
TF-native ids: read when flags are, before TensorFlow loads."""

from __future__ import annotations

from tfa_recipes.errors import RecipeError

# Gymnasium ids (envs/gymnasium.py keeps Gymnasium out of gym-only runs).
GYMNASIUM_PREFIX = "gymnasium:"

# TF-native environments, pure TensorFlow (envs/tf_cartpole.py): `tf:CartPole-v0`.
TF_PREFIX = "tf:"
# Their ids and episode limits (gym's CartPole-v0 and CartPole-v1 specs).
TF_ENVIRONMENTS = {f"{TF_PREFIX}CartPole-v0": 200, f"{TF_PREFIX}CartPole-v1": 500}


def is_tf_native(env_name: str) -> bool:
    return env_name.startswith(TF_PREFIX)


def check_tf_native(env_name: str, *, required: bool = False) -> None:
    """One line for a `tf:` id (or, `required`, any id) that names no TF-native
    environment."""
    if (required or is_tf_native(env_name)) and env_name not in TF_ENVIRONMENTS:
        raise RecipeError(
            f"unknown TF-native environment {env_name!r}: expected one of "
            + ", ".join(TF_ENVIRONMENTS)
        )


def tf_native_name(config: object) -> str | None:
    """The config's `env_name` when it names a TF-native environment, else None."""
    name = getattr(config, "env_name", "")
    return name if is_tf_native(name) else None
