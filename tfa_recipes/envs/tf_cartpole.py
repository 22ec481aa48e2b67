"""gym 0.23's CartPole as a batched, pure-TensorFlow `TFEnvironment` (`tf:CartPole-v0/v1`).

The tutorials step CartPole through `TFPyEnvironment(suite_gym.load(...))`: every step leaves
the graph for Python (`tf.numpy_function`), so a training loop can never be one compiled
program. Here, as gymnax does for JAX, the environment is TensorFlow ops on variables, so
environment, policy and replay can run inside one `tf.function` (even `jit_compile=True`).

Design, and why:
- The whole environment is five variables with one row per batch element (physical state,
  steps taken in the episode, the current time step's type, reward and discount), a
  started flag and a seeded `tf.random.Generator`. Variables (not Python attributes) are
  what a compiled loop can update, and what `tf.train.Checkpoint(env=env)` saves: the class
  is also a `tf.Module`, so restoring a checkpoint restores the episode in progress *and*
  the random stream of the start states to come.
- The state is float64 because gym's is (Python floats and `np_random.uniform` are double):
  float32 physics drifts from gym's (observations 1e-6 apart after 20 random steps, 3e-4
  after 100, measured), so it could only be compared with gym approximately. Observations
  are that state cast to float32, as gym's `np.array(self.state, dtype=np.float32)`.
  The arithmetic keeps gym's order of operations: run eagerly, a step from a given state
  is gym's to the bit. In a `tf.function`, Grappler rewrites some divisions by constants
  into multiplications (and XLA fuses multiply-adds), so a step can differ from gym's in
  the last bit: at most 8.9e-16 over 20,000 random states, observations still
  float32-equal (the tests bound the state at 1e-12).
- Auto-reset without Python: every step computes both the physics step and a fresh start
  state for the whole batch, and `tf.where` picks, per element, the start where the previous
  time step was LAST (TF-Agents' contract: that step ignores the action and returns FIRST,
  reward 0, discount 1). Drawing starts every step costs a few random numbers and keeps
  shapes static, which XLA needs; one seed still gives the same episodes on every run.
- suite_gym's episode limit (`wrappers.TimeLimit`): the step that reaches
  `max_episode_steps` is LAST. A pole that falls gives discount 0; a step that only runs
  out of time keeps discount 1 (a truncation, not a terminal state), and a fall on the
  limit step is a fall (TF-Agents' TimeLimit keeps the inner environment's discount).
  Note that `suite_gym.load("CartPole-v0")` under gym 0.23 gives discount 0 on the limit
  step too: `gym.spec(...).make()` already wraps the env in gym's own TimeLimit, whose
  `done=True` GymWrapper turns into `ts.termination`. That is a bug of the tutorials'
  stack this environment does not copy.
- `jit_compile=True` compiles the step, reset and a whole loop. The start states are drawn
  from the generator's integer stream (as numpy turns bits into doubles) because
  `Generator.uniform`'s float conversion differs between TF's kernel and XLA's: this way a
  jit-compiled loop and a plain `tf.function` give the same episodes. A compiled loop of
  random actions ran ~19,000 env steps/s at batch 1 as a `tf.function` and ~7.9 million
  with XLA (2 cores, load average 1.5).
- `render()` draws gym's picture (cart, pole, axle, track) with NumPy from the state, by
  the same integer algorithms pygame's gfxdraw (SDL_gfx) uses, so a frame equals gym's
  `render(mode="rgb_array")` pixel for pixel. It is Python: videos, not the training loop.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from tf_agents.environments import tf_environment
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from tfa_recipes.envs.names import TF_ENVIRONMENTS, check_tf_native
from tfa_recipes.errors import RecipeError

# gym 0.23's CartPoleEnv.__init__, the derived constants computed as gym computes them so
# the doubles are the same.
GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD_RADIANS = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
START_LOW, START_HIGH = -0.05, 0.05

# The registered ids' TimeLimits (gym's CartPole-v0 and CartPole-v1 specs).
MAX_EPISODE_STEPS = TF_ENVIRONMENTS

_FIRST, _MID, _LAST = (int(t) for t in (ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST))


def _observation_spec() -> tensor_spec.BoundedTensorSpec:
    """gym's `observation_space` as suite_gym turns it into a spec."""
    high = np.array(
        [X_THRESHOLD * 2, np.finfo(np.float32).max, THETA_THRESHOLD_RADIANS * 2,
         np.finfo(np.float32).max],
        dtype=np.float32,
    )
    return tensor_spec.BoundedTensorSpec((4,), tf.float32, -high, high, name="observation")


def _action_spec() -> tensor_spec.BoundedTensorSpec:
    """gym's `Discrete(2)` as suite_gym turns it into a spec: 0 pushes left, 1 right."""
    return tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")


def cartpole_step(state: tf.Tensor, action: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One step of gym 0.23's physics (euler) for states [batch, 4] float64 and actions
    [batch]: (next states, terminated), in gym's order of operations.

    Any action but 1 pushes left: gym asserts the action is in its space, which a compiled
    loop cannot do for free, and TF-Agents' policies keep to the action spec anyway.
    """
    x, x_dot, theta, theta_dot = tf.unstack(state, axis=1)
    force = tf.where(tf.equal(action, tf.cast(1, action.dtype)),
                     tf.constant(FORCE_MAG, tf.float64), tf.constant(-FORCE_MAG, tf.float64))
    costheta = tf.cos(theta)
    sintheta = tf.sin(theta)
    temp = (force + POLEMASS_LENGTH * tf.square(theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * tf.square(costheta) / TOTAL_MASS)
    )
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    x = x + TAU * x_dot
    x_dot = x_dot + TAU * xacc
    theta = theta + TAU * theta_dot
    theta_dot = theta_dot + TAU * thetaacc
    terminated = (
        (x < -X_THRESHOLD) | (x > X_THRESHOLD)
        | (theta < -THETA_THRESHOLD_RADIANS) | (theta > THETA_THRESHOLD_RADIANS)
    )
    return tf.stack([x, x_dot, theta, theta_dot], axis=1), terminated


class TFCartPole(tf_environment.TFEnvironment, tf.Module):
    """`batch_size` CartPoles stepped together, each with its own episode; `tf:CartPole-v0`
    with the default `max_episode_steps=200`, `tf:CartPole-v1` with 500."""

    def __init__(self, batch_size: int, *, max_episode_steps: int = 200, seed: int = 0) -> None:
        if batch_size < 1:
            raise RecipeError(f"batch_size={batch_size}: expected at least 1")
        if max_episode_steps < 1:
            raise RecipeError(f"max_episode_steps={max_episode_steps}: expected at least 1")
        tf.Module.__init__(self, name="tf_cartpole")
        tf_environment.TFEnvironment.__init__(
            self, ts.time_step_spec(_observation_spec()), _action_spec(), batch_size=batch_size
        )
        self._max_episode_steps = max_episode_steps
        self._generator = tf.random.Generator.from_seed(seed)
        self._state = tf.Variable(tf.zeros([batch_size, 4], tf.float64), name="state")
        self._elapsed_steps = tf.Variable(
            tf.zeros([batch_size], tf.int32), name="elapsed_steps"
        )
        # LAST until the first reset: a step() before any reset() starts episodes and
        # ignores its action, as a PyEnvironment does.
        self._step_type = tf.Variable(tf.fill([batch_size], _LAST), name="step_type")
        self._reward = tf.Variable(tf.zeros([batch_size], tf.float32), name="reward")
        self._discount = tf.Variable(tf.ones([batch_size], tf.float32), name="discount")
        # current_time_step() before any reset() resets, as TFPyEnvironment's does.
        self._started = tf.Variable(False, name="started")

    @property
    def max_episode_steps(self) -> int:
        return self._max_episode_steps

    @property
    def generator(self) -> tf.random.Generator:
        """The start states' random stream (checkpointed with the environment)."""
        return self._generator

    @property
    def state(self) -> tf.Variable:
        """[batch, 4] float64: x, x_dot, theta, theta_dot, gym's `env.unwrapped.state`."""
        return self._state

    @property
    def elapsed_steps(self) -> tf.Variable:
        """[batch] int32: steps taken in each episode (the TimeLimit's count)."""
        return self._elapsed_steps

    def _draw_starts(self) -> tf.Tensor:
        # numpy's `uniform` (what gym's reset calls): low + (high - low) * (53 random bits
        # as a double in [0, 1)). Generator.uniform's own float64 conversion differs between
        # TF's kernel and XLA's, which would give a jit-compiled loop other episodes; the
        # integer stream is the same in both.
        bits = self._generator.uniform_full_int([self.batch_size, 4], tf.uint64)
        unit = tf.cast(tf.bitwise.right_shift(bits, tf.constant(11, tf.uint64)), tf.float64)
        return START_LOW + (START_HIGH - START_LOW) * (unit * 2.0**-53)

    def _time_step(self) -> ts.TimeStep:
        return ts.TimeStep(
            step_type=self._step_type.read_value(),
            reward=self._reward.read_value(),
            discount=self._discount.read_value(),
            observation=tf.cast(self._state.read_value(), tf.float32),
        )

    @tf.function(autograph=False)
    def _current_time_step(self) -> ts.TimeStep:
        return tf.cond(self._started, self._time_step, self._reset)

    @tf.function(autograph=False)
    def _reset(self) -> ts.TimeStep:
        self._state.assign(self._draw_starts())
        self._elapsed_steps.assign(tf.zeros_like(self._elapsed_steps))
        self._step_type.assign(tf.fill([self.batch_size], _FIRST))
        self._reward.assign(tf.zeros_like(self._reward))
        self._discount.assign(tf.ones_like(self._discount))
        self._started.assign(True)
        return self._time_step()

    @tf.function(autograph=False)
    def _step(self, action: tf.Tensor) -> ts.TimeStep:
        action = tf.convert_to_tensor(action)
        restart = tf.equal(self._step_type, _LAST)
        moved, terminated = cartpole_step(self._state, action)
        elapsed = self._elapsed_steps + 1
        last = terminated | (elapsed >= self._max_episode_steps)
        self._state.assign(tf.where(restart[:, None], self._draw_starts(), moved))
        self._elapsed_steps.assign(tf.where(restart, 0, elapsed))
        self._step_type.assign(tf.where(restart, _FIRST, tf.where(last, _LAST, _MID)))
        # gym pays 1.0 on every step, the falling one included.
        self._reward.assign(tf.where(restart, 0.0, 1.0))
        self._discount.assign(tf.where(terminated & ~restart, 0.0, 1.0))
        self._started.assign(True)
        return self._time_step()

    def render(self, mode: str = "rgb_array") -> np.ndarray:
        """[batch, 400, 600, 3] uint8 frames of the current states, gym's picture (eager)."""
        if mode != "rgb_array":
            raise RecipeError(f"render(mode={mode!r}): tf:CartPole renders only 'rgb_array'")
        return np.stack([render_state(state) for state in self._state.numpy()])


def load_tf_env(env_name: str, *, batch_size: int = 1, seed: int = 0) -> TFCartPole:
    """The TF-native environment `env_name` ("tf:CartPole-v0" or "tf:CartPole-v1")."""
    check_tf_native(env_name, required=True)
    return TFCartPole(batch_size, max_episode_steps=MAX_EPISODE_STEPS[env_name], seed=seed)


# --- Rendering: gym 0.23's CartPoleEnv.render on pygame 2.1.3's SDL_gfx, ported to NumPy.
# The picture is drawn as gym draws it, on a 32-bit XRGB surface (the dummy SDL driver's
# format), then flipped upside down. Antialiased edges blend with SDL_gfx's unsigned 32-bit
# arithmetic (its wrap-around makes the red channel differ from a plain lerp), so every
# integer step below is the C code's, or the frames would differ along the edges.

SCREEN_WIDTH, SCREEN_HEIGHT = 600, 400
_WHITE, _BLACK = 0xFFFFFF, 0x000000
_POLE_COLOUR, _AXLE_COLOUR = 0xCA9865, 0x8184CB  # (202, 152, 101), (129, 132, 203)
_U32 = 0xFFFFFFFF


def render_state(state: np.ndarray) -> np.ndarray:
    """gym's `render(mode="rgb_array")` frame [400, 600, 3] uint8 for one state."""
    x = [float(value) for value in state]
    world_width = X_THRESHOLD * 2
    scale = SCREEN_WIDTH / world_width
    polewidth = 10.0
    polelen = scale * (2 * LENGTH)
    cartwidth = 50.0
    cartheight = 30.0
    surface = np.full((SCREEN_HEIGHT, SCREEN_WIDTH), _WHITE, dtype=np.int64)

    left, right, top, bottom = -cartwidth / 2, cartwidth / 2, cartheight / 2, -cartheight / 2
    axleoffset = cartheight / 4.0
    cartx = x[0] * scale + SCREEN_WIDTH / 2.0
    carty = 100
    cart = [(left + cartx, bottom + carty), (left + cartx, top + carty),
            (right + cartx, top + carty), (right + cartx, bottom + carty)]
    _aapolygon(surface, cart, _BLACK)
    _filled_polygon(surface, cart, _BLACK)

    left, right = -polewidth / 2, polewidth / 2
    top, bottom = polelen - polewidth / 2, -polewidth / 2
    pole = []
    for corner in [(left, bottom), (left, top), (right, top), (right, bottom)]:
        rotated = _rotate_rad(corner, -x[2])
        pole.append((rotated[0] + cartx, rotated[1] + carty + axleoffset))
    _aapolygon(surface, pole, _POLE_COLOUR)
    _filled_polygon(surface, pole, _POLE_COLOUR)

    _aacircle(surface, int(cartx), int(carty + axleoffset), int(polewidth / 2), _AXLE_COLOUR)
    _filled_circle(surface, int(cartx), int(carty + axleoffset), int(polewidth / 2),
                   _AXLE_COLOUR)
    _hline(surface, 0, SCREEN_WIDTH, carty, _BLACK)

    flipped = surface[::-1]
    return np.stack([(flipped >> 16) & 255, (flipped >> 8) & 255, flipped & 255],
                    axis=-1).astype(np.uint8)


def _rotate_rad(vector: tuple[float, float], angle: float) -> tuple[float, float]:
    """pygame's `Vector2.rotate_rad`, exact right angles included."""
    epsilon = 1e-6
    angle = math.fmod(angle, 2.0 * math.pi)
    if angle < 0:
        angle += 2.0 * math.pi
    if math.fmod(angle + epsilon, math.pi / 2.0) < 2 * epsilon:
        quarter = int((angle + epsilon) / (math.pi / 2.0)) % 4
        return [(vector[0], vector[1]), (-vector[1], vector[0]),
                (-vector[0], -vector[1]), (vector[1], -vector[0])][quarter]
    sin, cos = math.sin(angle), math.cos(angle)
    return cos * vector[0] - sin * vector[1], sin * vector[0] + cos * vector[1]


def _sint16(value: float) -> int:
    """gfxdraw's point conversion: `(Sint16)PyLong_AsLong(PyNumber_Long(value))`."""
    return ((int(value) + 0x8000) & 0xFFFF) - 0x8000


def _put_pixel(surface: np.ndarray, x: int, y: int, colour: int, alpha: int = 255) -> None:
    """SDL_gfx's `_putPixelAlpha` on a 32-bit surface without an alpha channel."""
    if not (0 <= x < SCREEN_WIDTH and 0 <= y < SCREEN_HEIGHT):
        return
    if alpha == 255:
        surface[y, x] = colour
        return
    old = int(surface[y, x])
    new = 0
    for shift in (16, 8, 0):
        mask = 0xFF << shift
        difference = ((colour & mask) - (old & mask)) & _U32
        step = ((((difference >> shift) * alpha) & _U32) >> 8) << shift
        new |= ((old & mask) + step) & mask
    surface[y, x] = new


def _put_weighted(surface: np.ndarray, x: int, y: int, colour: int, weight: int) -> None:
    """`pixelColorWeightNolock` with the opaque colours gym draws: alpha = 255*weight >> 8."""
    _put_pixel(surface, x, y, colour, (255 * weight) >> 8)


def _hline(surface: np.ndarray, x1: int, x2: int, y: int, colour: int) -> None:
    x1, x2 = min(x1, x2), max(x1, x2)
    if 0 <= y < SCREEN_HEIGHT and x2 >= 0 and x1 < SCREEN_WIDTH:
        surface[y, max(x1, 0) : min(x2, SCREEN_WIDTH - 1) + 1] = colour


def _vline(surface: np.ndarray, x: int, y1: int, y2: int, colour: int) -> None:
    y1, y2 = min(y1, y2), max(y1, y2)
    if 0 <= x < SCREEN_WIDTH and y2 >= 0 and y1 < SCREEN_HEIGHT:
        surface[max(y1, 0) : min(y2, SCREEN_HEIGHT - 1) + 1, x] = colour


def _clip_code(x: int, y: int) -> int:
    code = 1 if x < 0 else 2 if x > SCREEN_WIDTH - 1 else 0
    return code | (8 if y < 0 else 4 if y > SCREEN_HEIGHT - 1 else 0)


def _clip_line(x1: int, y1: int, x2: int, y2: int) -> tuple[int, int, int, int] | None:
    """SDL_gfx's `_clipLine` (Cohen-Sutherland with a float32 slope)."""
    right, bottom = SCREEN_WIDTH - 1, SCREEN_HEIGHT - 1
    while True:
        code1, code2 = _clip_code(x1, y1), _clip_code(x2, y2)
        if not (code1 | code2):
            return x1, y1, x2, y2
        if code1 & code2:
            return None
        if not code1:
            x1, y1, x2, y2, code1 = x2, y2, x1, y1, code2
        m = np.float32(y2 - y1) / np.float32(x2 - x1) if x2 != x1 else np.float32(1.0)
        if code1 & 1:
            y1, x1 = y1 + int(np.float32(0 - x1) * m), 0
        elif code1 & 2:
            y1, x1 = y1 + int(np.float32(right - x1) * m), right
        elif code1 & 4:
            if x2 != x1:
                x1 += int(np.float32(bottom - y1) / m)
            y1 = bottom
        elif code1 & 8:
            if x2 != x1:
                x1 += int(np.float32(0 - y1) / m)
            y1 = 0


def _aaline(surface: np.ndarray, x1: int, y1: int, x2: int, y2: int, colour: int) -> None:
    """SDL_gfx's `_aalineColor` without the end point (Wu's line, 8-bit weights)."""
    clipped = _clip_line(x1, y1, x2, y2)
    if clipped is None:
        return
    x1, y1, x2, y2 = clipped
    xx0, yy0, xx1, yy1 = x1, y1, x2, y2
    if yy0 > yy1:
        xx0, yy0, xx1, yy1 = xx1, yy1, xx0, yy0
    dx, dy = xx1 - xx0, yy1 - yy0
    if dx == 0:
        if dy > 0:
            _vline(surface, x1, yy0, yy0 + dy, colour)
        else:
            _put_pixel(surface, x1, y1, colour)
        return
    if dy == 0:
        _hline(surface, xx0, xx0 + dx, y1, colour)
        return
    xdir = 1 if dx >= 0 else -1
    dx = abs(dx)
    erracc = 0
    _put_pixel(surface, x1, y1, colour)
    if dy > dx:
        erradj = (((dx << 16) // dy) << 16) & _U32
        x0pxdir = xx0 + xdir
        for _ in range(dy - 1):
            previous, erracc = erracc, (erracc + erradj) & _U32
            if erracc <= previous:
                xx0 = x0pxdir
                x0pxdir += xdir
            yy0 += 1
            weight = erracc >> 24
            _put_weighted(surface, xx0, yy0, colour, 255 - weight)
            _put_weighted(surface, x0pxdir, yy0, colour, weight)
    else:
        erradj = (((dy << 16) // dx) << 16) & _U32
        y0p1 = yy0 + 1
        for _ in range(dx - 1):
            previous, erracc = erracc, (erracc + erradj) & _U32
            if erracc <= previous:
                yy0 = y0p1
                y0p1 += 1
            xx0 += xdir
            weight = erracc >> 24
            _put_weighted(surface, xx0, yy0, colour, 255 - weight)
            _put_weighted(surface, xx0, y0p1, colour, weight)


def _aapolygon(surface: np.ndarray, points: list[tuple[float, float]], colour: int) -> None:
    corners = [(_sint16(x), _sint16(y)) for x, y in points]
    for (x1, y1), (x2, y2) in zip(corners, corners[1:] + corners[:1], strict=True):
        _aaline(surface, x1, y1, x2, y2, colour)


def _filled_polygon(surface: np.ndarray, points: list[tuple[float, float]], colour: int) -> None:
    """SDL_gfx's `filledPolygonColorMT`: 16.16 fixed-point scanline intersections."""
    vx = [_sint16(x) for x, _ in points]
    vy = [_sint16(y) for _, y in points]
    n = len(points)
    miny, maxy = min(vy), max(vy)
    for y in range(miny, maxy + 1):
        crossings = []
        for i in range(n):
            ind1, ind2 = (n - 1, 0) if i == 0 else (i - 1, i)
            if vy[ind1] < vy[ind2]:
                x1, y1, x2, y2 = vx[ind1], vy[ind1], vx[ind2], vy[ind2]
            elif vy[ind1] > vy[ind2]:
                x1, y1, x2, y2 = vx[ind2], vy[ind2], vx[ind1], vy[ind1]
            else:
                continue
            if y1 <= y < y2 or (y == maxy and y1 < y <= y2):
                crossings.append((65536 * (y - y1)) // (y2 - y1) * (x2 - x1) + 65536 * x1)
        crossings.sort()
        for start, end in zip(crossings[::2], crossings[1::2], strict=True):
            xa, xb = start + 1, end - 1
            _hline(surface, (xa >> 16) + ((xa & 32768) >> 15), (xb >> 16) + ((xb & 32768) >> 15),
                   y, colour)


def _aacircle(surface: np.ndarray, x: int, y: int, rad: int, colour: int) -> None:
    """SDL_gfx's `aaellipseColor` with rx = ry = rad (float32 weights, as in C)."""
    if x + rad < 0 or x - rad > SCREEN_WIDTH - 1 or y + rad < 0 or y - rad > SCREEN_HEIGHT - 1:
        return
    a2 = b2 = rad * rad
    ds, dt = 2 * a2, 2 * b2
    xc2, yc2 = 2 * x, 2 * y
    sab = math.sqrt(a2 + b2)
    dxt = round(a2 / sab)  # lrint: to nearest, ties to even, as Python's round
    t, s, d = 0, -2 * a2 * rad, 0
    xp, yp = x, y - rad
    for px, py in ((xp, yp), (xc2 - xp, yp), (xp, yc2 - yp), (xc2 - xp, yc2 - yp)):
        _put_pixel(surface, px, py, colour)

    def weights(numerator: int, denominator: int) -> tuple[int, int]:
        cp = np.float32(1.0)
        if denominator != 0:
            cp = min(np.float32(abs(numerator)) / np.float32(abs(denominator)), np.float32(1.0))
        weight = int(cp * np.float32(255))
        return weight, 255 - weight

    for _ in range(dxt):
        xp -= 1
        d += t - b2
        if d >= 0:
            ys = yp - 1
        elif d - s - a2 > 0:
            if 2 * d - s - a2 >= 0:
                ys = yp + 1
            else:
                ys = yp
                yp += 1
                d -= s + a2
                s += ds
        else:
            yp += 1
            ys = yp + 1
            d -= s + a2
            s += ds
        t -= dt
        weight, iweight = weights(d, s)
        xx = xc2 - xp
        for px, py, w in ((xp, yp, iweight), (xx, yp, iweight), (xp, ys, weight),
                          (xx, ys, weight), (xp, yc2 - yp, iweight), (xx, yc2 - yp, iweight),
                          (xp, yc2 - ys, weight), (xx, yc2 - ys, weight)):
            _put_weighted(surface, px, py, colour, w)

    dyt = round(b2 / sab)
    for _ in range(dyt):
        yp += 1
        d -= s + a2
        if d <= 0:
            xs = xp + 1
        elif d + t - b2 < 0:
            if 2 * d + t - b2 <= 0:
                xs = xp - 1
            else:
                xs = xp
                xp -= 1
                d += t - b2
                t -= dt
        else:
            xp -= 1
            xs = xp - 1
            d += t - b2
            t -= dt
        s += ds
        weight, iweight = weights(d, t)
        xx, yy = xc2 - xp, yc2 - yp
        for px, py, w in ((xp, yp, iweight), (xx, yp, iweight), (xp, yy, iweight),
                          (xx, yy, iweight), (xs, yp, weight), (xc2 - xs, yp, weight),
                          (xs, yy, weight), (xc2 - xs, yy, weight)):
            _put_weighted(surface, px, py, colour, w)


def _filled_circle(surface: np.ndarray, x: int, y: int, rad: int, colour: int) -> None:
    """SDL_gfx's `filledCircleColor` (midpoint circle, one hline per row)."""
    if x + rad < 0 or x - rad > SCREEN_WIDTH - 1 or y + rad < 0 or y - rad > SCREEN_HEIGHT - 1:
        return
    cx, cy, ocx, ocy = 0, rad, -1, -1
    df, d_e, d_se = 1 - rad, 3, -2 * rad + 5
    while True:
        if ocy != cy:
            if cy > 0:
                _hline(surface, x - cx, x + cx, y + cy, colour)
                _hline(surface, x - cx, x + cx, y - cy, colour)
            else:
                _hline(surface, x - cx, x + cx, y, colour)
            ocy = cy
        if ocx != cx:
            if cx != cy:
                if cx > 0:
                    _hline(surface, x - cy, x + cy, y - cx, colour)
                    _hline(surface, x - cy, x + cy, y + cx, colour)
                else:
                    _hline(surface, x - cy, x + cy, y, colour)
            ocx = cx
        if df < 0:
            df += d_e
            d_e += 2
            d_se += 2
        else:
            df += d_se
            d_e += 2
            d_se += 4
            cy -= 1
        cx += 1
        if cx > cy:
            break
