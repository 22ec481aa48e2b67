"""The best-known TensorFlow RL tutorials as runnable, tested, fast recipes.

Importing the package prepares a headless process before TensorFlow or pygame load:
gym 0.23 renders CartPole through pygame, which needs an SDL video driver, and the
tutorials' colab cells started an X server for that. A dummy SDL driver renders the same
pixels with no display at all; a user who has a real display keeps it.
"""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# TensorFlow's C++ start-up lines (CUDA stubs, TensorRT) are noise on a CPU machine.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# tf-agents 0.19 is written against Keras 2; keep it even if Keras 3 is ever installed.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

__version__ = "0.1.0"
