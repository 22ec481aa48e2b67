"""Pixel observations: the PyTorch DQN tutorial's screen patches as a TF-Agents wrapper.

The tutorial (seed 004) does not learn from CartPole's 4 numbers but from what is on the
screen: `get_screen` renders the frame, keeps rows 40%-80% (the strip with the cart and
the pole), cuts a window 60% of the width wide centred on the cart (clamped at the track
ends) and shrinks it to 40 rows with bicubic resampling; the observation is the
difference between the current patch and the previous one, so one image carries the
pole's motion. `ScreenPatchDifference` does the same on any rendered `PyEnvironment`,
so a driver, a replay buffer or a `TFPyEnvironment` see an ordinary observation.

Layout differs from torch on purpose: patches are (height, width, channels), the order
Keras' Conv2D expects; the tutorial's (channels, height, width) 3x40x90 is 40x90x3 here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pygame
from gym.envs.classic_control.cartpole import CartPoleEnv
from PIL import Image
from tf_agents.environments import py_environment, wrappers
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

from tfa_recipes.envs.gym import render_frame

# (py_env, screen_width) -> the pixel column the window is centred on.
Locate = Callable[[py_environment.PyEnvironment, int], int]


def cart_column(py_env: py_environment.PyEnvironment, screen_width: int) -> int:
    """The tutorial's `get_image_center`: the column of the middle of the cart.

    Reads the cart position from the gym CartPole under `py_env` (a `suite_gym` env,
    possibly wrapped: TF-Agents wrappers forward `gym` to the environment they wrap).
    """
    cartpole = py_env.gym.unwrapped
    scale = screen_width / (cartpole.x_threshold * 2)
    return int(cartpole.state[0] * scale + screen_width / 2.0)


# Any mode but gym's two: CartPole draws the frame on its pygame screen and returns.
_DRAW_ONLY = "draw_only"


def screen_view(py_env: py_environment.PyEnvironment) -> np.ndarray:
    """The frame `render_frame` returns, as a read-only view where that is possible.

    gym 0.23's CartPole copies the whole 600x400 screen into a new array on every
    `render("rgb_array")` (~1 ms here, a third of a pixel step), and `screen_patch` keeps
    a fifth of it. For CartPole this draws the same frame with the same pygame calls and
    returns a view of the screen (H, W, 3); other environments get `render_frame`. The
    view locks the screen: drop it before the next render.
    """
    cartpole = getattr(getattr(py_env, "gym", None), "unwrapped", None)
    if not isinstance(cartpole, CartPoleEnv):
        return render_frame(py_env)
    py_env.render(_DRAW_ONLY)
    view = pygame.surfarray.pixels3d(cartpole.screen).transpose(1, 0, 2)
    view.flags.writeable = False
    return view


def window(centre: int, screen_width: int, view_width: int) -> slice:
    """The tutorial's `slice_range`: `view_width` columns around `centre`, kept on screen."""
    if centre < view_width // 2:
        return slice(0, view_width)
    if centre > screen_width - view_width // 2:
        return slice(screen_width - view_width, screen_width)
    return slice(centre - view_width // 2, centre + view_width // 2)


def patch_shape(
    frame_height: int, frame_width: int, *, rows=(0.4, 0.8), view_width=0.6, height=40
) -> tuple[int, int, int]:
    """(height, width, 3) of `screen_patch` for frames of this size.

    torchvision's `Resize(40)` scales the shorter side to 40 and the other by the same
    factor, truncated: a 160x360 strip of a 400x600 frame becomes 40x90.
    """
    strip_height = int(frame_height * rows[1]) - int(frame_height * rows[0])
    strip_width = int(frame_width * view_width)
    if strip_height <= strip_width:
        return height, int(height * strip_width / strip_height), 3
    return int(height * strip_height / strip_width), height, 3


def screen_patch(
    frame: np.ndarray, centre: int, *, rows=(0.4, 0.8), view_width=0.6, height=40
) -> np.ndarray:
    """The tutorial's `get_screen` on an RGB frame (H, W, 3, uint8): float32 in [0, 1].

    Resampling is PIL's bicubic on the uint8 strip, which is what torchvision's
    `T.Resize(40, interpolation=Image.CUBIC)` runs on the `ToPILImage()` of the tutorial's
    tensor; OpenCV's INTER_CUBIC does not low-pass before a 4x shrink and aliases the
    10-pixel pole.
    """
    frame_height, frame_width = frame.shape[:2]
    strip = frame[int(frame_height * rows[0]) : int(frame_height * rows[1])]
    strip = strip[:, window(centre, frame_width, int(frame_width * view_width))]
    out_height, out_width, _ = patch_shape(
        frame_height, frame_width, rows=rows, view_width=view_width, height=height
    )
    resized = Image.fromarray(np.ascontiguousarray(strip)).resize(
        (out_width, out_height), Image.BICUBIC
    )
    return np.asarray(resized, dtype=np.float32) / 255.0


class ScreenPatchDifference(wrappers.PyEnvironmentBaseWrapper):
    """Observations become `screen_patch(now) - screen_patch(before)`, as the tutorial's
    `state = current_screen - last_screen`.

    After a reset the difference is all zeros: the tutorial takes two screens of the same
    frame. Values lie in [-1, 1] (patches are in [0, 1]); the spec says so. Rewards,
    discounts, step types and actions are the wrapped environment's. Rendering happens on
    every step, which is where the time of a pixel recipe goes.

    The wrapped environment is reset once here to render a frame and learn its size, so
    seed it after wrapping (`load_gym(..., env_wrappers=...)` does).
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        *,
        locate: Locate = cart_column,
        rows: tuple[float, float] = (0.4, 0.8),
        view_width: float = 0.6,
        height: int = 40,
    ) -> None:
        super().__init__(env)
        self._locate = locate
        self._patch_kwargs = {"rows": rows, "view_width": view_width, "height": height}
        self._env.reset()
        frame_height, frame_width = render_frame(self._env).shape[:2]
        self._observation_spec = array_spec.BoundedArraySpec(
            patch_shape(frame_height, frame_width, **self._patch_kwargs),
            np.float32,
            minimum=-1.0,
            maximum=1.0,
            name="screen_difference",
        )
        self._last_patch: np.ndarray | None = None

    def observation_spec(self) -> array_spec.BoundedArraySpec:
        return self._observation_spec

    def time_step_spec(self) -> ts.TimeStep:
        return ts.time_step_spec(self._observation_spec, self._env.reward_spec())

    def current_patch(self) -> np.ndarray:
        """The patch of the frame on screen now (what the next difference subtracts)."""
        frame = screen_view(self._env)
        patch = screen_patch(frame, self._locate(self._env, frame.shape[1]), **self._patch_kwargs)
        del frame  # unlocks CartPole's screen for the next render
        return patch

    def _reset(self) -> ts.TimeStep:
        return self._difference(self._env.reset())

    def _step(self, action) -> ts.TimeStep:
        return self._difference(self._env.step(action))

    def _difference(self, time_step: ts.TimeStep) -> ts.TimeStep:
        patch = self.current_patch()
        if time_step.is_first() or self._last_patch is None:
            # A new episode (a reset, or an auto-reset inside the wrapped environment).
            self._last_patch = patch
        difference = patch - self._last_patch
        self._last_patch = patch
        return time_step._replace(observation=difference)
