"""What a user looks at: return plots, MP4/GIF videos, notebook embedding.

Every helper takes a run directory or plain arrays, so a notebook can use them on any run.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import imageio
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tf_agents.environments import py_environment  # noqa: E402
from tf_agents.policies import py_policy  # noqa: E402

from tfa_recipes.envs import render_frame  # noqa: E402
from tfa_recipes.runs import MetricsLog, RunDir  # noqa: E402

MACRO_BLOCK = 16


def pad_frame(frame: np.ndarray, block: int = MACRO_BLOCK) -> np.ndarray:
    """Pad H and W up to a multiple of `block` by repeating the edge.

    Why: H.264 works on 16x16 macro blocks; imageio otherwise resizes CartPole's 400x600
    frames to 400x608 with a warning, as the tutorials' output shows.
    """
    height, width = frame.shape[:2]
    pad_h, pad_w = (-height) % block, (-width) % block
    if not (pad_h or pad_w):
        return frame
    pads = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (frame.ndim - 2)
    return np.pad(frame, pads, mode="edge")


def write_video(frames: Iterable[np.ndarray], path: Path, fps: int = 30) -> int:
    """Write RGB frames to `path` (.mp4 or .gif); returns the number of frames written."""
    path = Path(path)
    count = 0
    if path.suffix == ".mp4":
        with imageio.get_writer(path, fps=fps, macro_block_size=MACRO_BLOCK) as writer:
            for frame in frames:
                writer.append_data(pad_frame(np.asarray(frame, dtype=np.uint8)))
                count += 1
    elif path.suffix == ".gif":
        images = [np.asarray(frame, dtype=np.uint8) for frame in frames]
        imageio.mimsave(path, images, duration=1000 / fps, loop=0)
        count = len(images)
    else:
        raise ValueError(f"video path must end in .mp4 or .gif, got {path}")
    return count


def episode_frames(
    py_env: py_environment.PyEnvironment, policy: py_policy.PyPolicy, num_episodes: int
) -> Iterator[np.ndarray]:
    """Rendered frames of `num_episodes` episodes of `policy`, reset frame included."""
    for _ in range(num_episodes):
        time_step = py_env.reset()
        policy_state = policy.get_initial_state(None)
        yield render_frame(py_env)
        while not time_step.is_last():
            action_step = policy.action(time_step, policy_state)
            policy_state = action_step.state
            time_step = py_env.step(action_step.action)
            yield render_frame(py_env)


def record_policy(
    py_env: py_environment.PyEnvironment,
    policy: py_policy.PyPolicy,
    path: Path,
    *,
    num_episodes: int = 5,
    fps: int = 30,
) -> Path:
    """The tutorials' `create_policy_eval_video`, written to `path`."""
    write_video(episode_frames(py_env, policy, num_episodes), path, fps=fps)
    return Path(path)


def plot_returns(
    iterations: Sequence[float],
    returns: Sequence[float],
    path: Path,
    *,
    title: str = "",
    xlabel: str = "Iterations",
    ylim_top: float | None = 250,
) -> Path:
    """Average return against iterations, as the tutorials plot it."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(iterations, returns, marker="o")
    axes.set_ylabel("Average Return")
    axes.set_xlabel(xlabel)
    if title:
        axes.set_title(title)
    if ylim_top is not None:
        axes.set_ylim(top=max(ylim_top, max(returns, default=0) * 1.05))
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


def plot_run_returns(run_dir: Path | RunDir, *, ylim_top: float | None = 250) -> Path:
    """returns.png of a run from its metrics.csv."""
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
    rows = [row for row in MetricsLog(run.metrics_csv).rows() if not math.isnan(row["AverageReturn"])]
    return plot_returns(
        [row["iteration"] for row in rows],
        [row["AverageReturn"] for row in rows],
        run.returns_png,
        title=run.path.parent.name,
        ylim_top=ylim_top,
    )


def embed_mp4(path: Path, width: int = 640, height: int = 480):
    """An HTML video tag with the MP4 inline, as the tutorials' `embed_mp4`."""
    from IPython.display import HTML

    encoded = base64.b64encode(Path(path).read_bytes()).decode()
    return HTML(
        f'<video width="{width}" height="{height}" controls>'
        f'<source src="data:video/mp4;base64,{encoded}" type="video/mp4">'
        "Your browser does not support the video tag.</video>"
    )


def embed_gif(path: Path):
    """The GIF inline in a notebook."""
    from IPython.display import Image

    return Image(data=Path(path).read_bytes(), format="gif")


def embed_video(path: Path):
    path = Path(path)
    return embed_gif(path) if path.suffix == ".gif" else embed_mp4(path)
