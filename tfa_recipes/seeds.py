"""Seeds: the run's seed, and the offsets that give each use of it a stream of its own."""

from __future__ import annotations

# Evaluation episodes (every evaluation replays the same starts), videos, the from-scratch
# recipes' random baselines (the TF-Agents loop's uses the eval seeds), actor i's
# environment and exploration (the run's seed + ACTOR_SEED_OFFSET + i), and a compiled
# loop's own generator.
EVAL_SEED_OFFSET = 10_000
VIDEO_SEED_OFFSET = 20_000
RANDOM_SEED_OFFSET = 30_000
ACTOR_SEED_OFFSET = 40_000
# The randomness of a compiled loop drawn from one generator (`blocks.randomness`).
LOOP_SEED_OFFSET = 50_000


def set_seeds(seed: int) -> None:
    """Python, NumPy and TensorFlow's global seed (graph-level op seeds follow from it)."""
    import tensorflow as tf  # only once a run starts: flags are read before TensorFlow loads

    tf.keras.utils.set_random_seed(seed)
