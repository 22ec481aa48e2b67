"""Prefixes of `--env-name` that pick a suite other than gym 0.23's suite_gym."""

# Gymnasium ids (envs/gymnasium.py keeps Gymnasium out of gym-only runs).
GYMNASIUM_PREFIX = "gymnasium:"

# TF-native environments, pure TensorFlow (envs/tf_cartpole.py): `tf:CartPole-v0`.
TF_PREFIX = "tf:"
