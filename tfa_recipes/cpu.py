"""CPU kernel choice, made before TensorFlow loads.

TensorFlow 2.15 turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI or
newer; on this project's AVX2 machines they are off. For convolutions they are much
faster: the pixel CartPole update (batch 128 of 40x90x3) took 105 ms with TF's own
kernels and 64 ms with oneDNN, Breakout's (batch 64 of 84x84x4) 92 ms and 89 ms (69 ms
with the one-target-pass agent), measured with `benchmarks/bench_updates.py`. For the
small dense networks of the CartPole recipes they are ~10% slower, so only the
convolutional recipes ask for them.
"""

from __future__ import annotations

import os
import sys

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


def prefer_onednn() -> bool:
    """Ask for oneDNN kernels unless the user chose (the variable is set) or TensorFlow is
    already loaded (then the choice is made); returns whether this call set it."""
    if ONEDNN_ENV in os.environ or "tensorflow" in sys.modules:
        return False
    os.environ[ONEDNN_ENV] = "1"
    return True
