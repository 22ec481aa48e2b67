"""The randomness of a compiled training loop, drawn from one checkpointed generator.

TF-Agents' pieces draw with `tf.random.uniform`, a stateful op whose state lives in its
kernel: a fresh process (a resumed run) starts every such stream over, so a resumed run
explores and samples differently from one that was never interrupted. Traced inside
`drawn_from(generator)`, the same pieces draw from a `tf.random.Generator` instead, whose
state is a variable the checkpoint holds: the epsilon-greedy collect policy
(`EpsilonGreedyPolicy`), the random policy it falls back to (`tensor_spec.sample_spec_nest`),
`TFUniformReplayBuffer`'s sampler (and `RingReplayBuffer`'s), and TensorFlow Probability's
stateful seeds (`samplers.sanitize_seed`) all call `tf.random.uniform` by that name when
they are traced, and TFP's `Categorical.sample()` without a stateless seed (REINFORCE's
collect policy) calls `tf.random.categorical`: the two substitutions cover them, and what
they compute is unchanged (the same distributions, drawn from the generator's stream).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import tensorflow as tf


@contextlib.contextmanager
def drawn_from(generator: tf.random.Generator) -> Iterator[None]:
    """While tracing inside this block, `tf.random.uniform(shape, minval, maxval, dtype)` and
    `tf.random.categorical(logits, num_samples, dtype)` draw from `generator` (their `seed`
    and `name` arguments are ignored: the generator's state is the seed)."""
    original = tf.random.uniform

    def uniform(
        shape: Any,
        minval: Any = 0,
        maxval: Any = None,
        dtype: Any = tf.float32,
        seed: Any = None,
        name: Any = None,
    ) -> tf.Tensor:
        dtype = tf.as_dtype(dtype)
        if maxval is None:
            if dtype.is_integer:
                raise ValueError("an integer uniform draw needs maxval")
            maxval = 1.0
        return generator.uniform(shape, minval=minval, maxval=maxval, dtype=dtype)

    def categorical(
        logits: Any, num_samples: Any, dtype: Any = None, seed: Any = None, name: Any = None
    ) -> tf.Tensor:
        # The Gumbel-max trick (argmax of logits plus Gumbel noise draws each class with its
        # softmax probability): `stateless_categorical` has no XLA kernel, this has.
        logits = tf.convert_to_tensor(logits)
        shape = tf.concat([tf.shape(logits)[:1], [num_samples], tf.shape(logits)[1:]], 0)
        tiny = tf.experimental.numpy.finfo(logits.dtype.as_numpy_dtype).tiny
        uniform = generator.uniform(shape, minval=tiny, maxval=1.0, dtype=logits.dtype)
        gumbel = -tf.math.log(-tf.math.log(uniform))
        return tf.argmax(logits[:, None, :] + gumbel, axis=-1, output_type=dtype or tf.int64)

    original_categorical = tf.random.categorical
    # `tf.random` and `tf.compat.v2.random` are two module objects with the same functions.
    modules = (tf.random, tf.compat.v2.random)
    for module in modules:
        module.uniform, module.categorical = uniform, categorical
    try:
        yield
    finally:
        for module in modules:
            module.uniform, module.categorical = original, original_categorical
