"""CPU kernel choice, made before TensorFlow loads.

TensorFlow 2.15 turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI or
newer; on this project's AVX2 machines they are off. For convolutions they are faster:
in one `benchmarks/bench_updates.py --updates 20` run, the pixel CartPole update (batch 128
of 40x90x3) took 110.2 ms with TF's own kernels and 79.3 ms with oneDNN (87.9 and 58.2 ms
with the one-target-pass agent), Breakout's (batch 64 of 84x84x4) 95.2 and 81.2 ms (86.0
and 76.6 ms). For the small dense networks of the CartPole recipes they are ~10% slower
(15.1 against 16.6 s of loop for 3,000 `dqn_cartpole` iterations), so only the
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
