"""The best-known TensorFlow RL tutorials as runnable, tested, fast recipes.

Importing the package prepares a headless process before TensorFlow or pygame load:
gym 0.23 renders CartPole through pygame, which needs an SDL video driver, and the
tutorials' colab cells started an X server for that. A dummy SDL driver renders the same
pixels with no display at all; a user who has a real display keeps it.
"""

import os
import warnings

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# TensorFlow's C++ start-up lines (CUDA stubs, TensorRT) are noise on a CPU machine.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# tf-agents 0.19 is written against Keras 2; keep it even if Keras 3 is ever installed.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# gym-notices >= 0.1.0 makes `import gym` print a three-line "Gym has been unmaintained"
# banner to stderr. The gym pin is deliberate (tf-agents 0.19 is built on gym 0.23), so the
# banner is noise, and it would turn every one-line error of the CLI into four lines.
try:
    from gym_notices import notices as _gym_notices

    _gym_notices.notices.clear()
except ImportError:
    pass

# AutoGraph compiles TF-Agents' `x is ()` checks into temporary files, and Python 3.8+
# warns about each as it compiles; the warnings are about library code and mean nothing here.
warnings.filterwarnings("ignore", category=SyntaxWarning, message=r'"is( not)?" with a literal')

__version__ = "0.1.0"
