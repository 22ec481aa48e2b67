"""What a user looks at: return plots, MP4/GIF videos, notebook embedding.

Every helper takes a run directory or plain arrays, so a notebook can use them on any run.
"""

from __future__ import annotations

import base64
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import imageio
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tf_agents.environments import py_environment  # noqa: E402
from tf_agents.policies import py_policy  # noqa: E402

from tfa_recipes.envs.gym import render_frame  # noqa: E402
from tfa_recipes.run.directory import MetricsLog, RunDir  # noqa: E402

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
    py_env: py_environment.PyEnvironment,
    policy: py_policy.PyPolicy,
    num_episodes: int,
    max_frames: int | None = None,
) -> Iterator[np.ndarray]:
    """Rendered frames of `num_episodes` episodes of `policy`, reset frame included;
    at most `max_frames` frames in all."""
    yield from itertools.islice(_episode_frames(py_env, policy, num_episodes), max_frames)


def _episode_frames(
    py_env: py_environment.PyEnvironment, policy: py_policy.PyPolicy, num_episodes: int
) -> Iterator[np.ndarray]:
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
    max_frames: int | None = None,
) -> Path:
    """The tutorials' `create_policy_eval_video`, written to `path` (at most `max_frames`)."""
    write_video(episode_frames(py_env, policy, num_episodes, max_frames), path, fps=fps)
    return Path(path)


def _reference_lines(axes: Any, references: Mapping[str, float] | None) -> None:
    """Labelled horizontal lines (a random policy's return, a tutorial's figure)."""
    for (label, value), style in zip(
        (references or {}).items(), ("--", ":", "-.", "--"), strict=False
    ):
        axes.axhline(value, linestyle=style, color="0.35", linewidth=1.2,
                     label=f"{label}: {value:g}")
    if references:
        axes.legend(loc="best", fontsize="small")


def plot_returns(
    iterations: Sequence[float],
    returns: Sequence[float],
    path: Path,
    *,
    title: str = "",
    xlabel: str = "Iterations",
    ylim_top: float | None = 250,
    references: Mapping[str, float] | None = None,
) -> Path:
    """Average return against iterations, as the tutorials plot it, with `references`
    (label -> return) as labelled horizontal lines."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(iterations, returns, marker="o", label="this run")
    axes.set_ylabel("Average Return")
    axes.set_xlabel(xlabel)
    if title:
        axes.set_title(title)
    _reference_lines(axes, references)
    if ylim_top is not None:
        highest = max([*returns, *(references or {}).values()], default=0)
        axes.set_ylim(top=max(ylim_top, highest * 1.05))
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


def plot_losses(
    iterations: Sequence[float], losses: Sequence[float], path: Path, *, title: str = ""
) -> Path:
    """The training loss against iterations on a log scale: DQN's squared TD loss grows
    by orders of magnitude while the return holds (the tutorial's own run ends near 1e8).
    A loss that goes negative (REINFORCE's) is drawn on a symmetric log scale."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(iterations, losses, linewidth=1.2)
    if len(losses) and min(losses) > 0:
        axes.set_yscale("log")
        axes.set_ylabel("Loss (log scale)")
    else:
        axes.set_yscale("symlog", linthresh=1.0)
        axes.set_ylabel("Loss (symmetric log scale)")
    axes.set_xlabel("Iterations")
    if title:
        axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


def plot_run(
    run_dir: Path | RunDir,
    *,
    ylim_top: float | None = 250,
    references: Mapping[str, float] | None = None,
) -> list[Path]:
    """returns.png (with `references`) and, when the run logged a loss, loss.png, from
    its metrics.csv."""
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
    rows = MetricsLog(run.metrics_csv).rows()
    evaluated = [row for row in rows if not math.isnan(row["AverageReturn"])]
    # The recipe's name, whatever --run-dir the run was given.
    title = run.recipe() or run.path.parent.name
    written = [
        plot_returns(
            [row["iteration"] for row in evaluated],
            [row["AverageReturn"] for row in evaluated],
            run.returns_png,
            title=title,
            ylim_top=ylim_top,
            references=references,
        )
    ]
    logged = [row for row in rows if not math.isnan(row.get("loss", math.nan))]
    if logged:
        written.append(
            plot_losses(
                [row["iteration"] for row in logged],
                [row["loss"] for row in logged],
                run.loss_png,
                title=title,
            )
        )
    return written


def stacked_frames_image(obs: np.ndarray) -> np.ndarray:
    """Hands-On ML's `plot_observation` picture of 4 stacked frames, as RGB in [0, 1].

    Three colour channels cannot show four frames, so the first three frames make the
    image and the newest frame's difference from their mean is added in pink (red and
    blue): what moved is what is pink.
    """
    obs = np.asarray(obs, dtype=np.float32)
    if obs.ndim != 3 or obs.shape[-1] != 4:
        raise ValueError(f"expected an (H, W, 4) stack of frames, got shape {obs.shape}")
    img = obs[..., :3].copy()
    current_frame_delta = np.maximum(obs[..., 3] - obs[..., :3].mean(axis=-1), 0.0)
    img[..., 0] += current_frame_delta
    img[..., 2] += current_frame_delta
    return np.clip(img / 150, 0, 1)


def plot_observation(obs: np.ndarray, path: Path) -> Path:
    """The book's preprocessed-observation figure (6x6 inches, no axes), saved to `path`."""
    figure = plt.figure(figsize=(6, 6))
    plt.imshow(stacked_frames_image(obs))
    plt.axis("off")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return Path(path)


def plot_curve(
    values: Sequence[float],
    path: Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
    references: Mapping[str, float] | None = None,
) -> Path:
    """One value per episode or iteration as a line, as the Hands-On ML notebook plots
    its rewards and losses, with `references` (label -> value) as labelled lines."""
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.plot(np.arange(len(values)), values, label="this run")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    if title:
        axes.set_title(title)
    _reference_lines(axes, references)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


def plot_q_value_comparison(
    iteration_history: Sequence[float],
    learning_history: Sequence[float],
    true_q_value: float,
    path: Path,
    *,
    ylabel: str = "Q-Value$(s_0, a_0)$",
) -> Path:
    """The notebook's `q_value_plot`: one Q-value over Q-value iteration (left) and over
    Q-learning (right), the converged value dashed on both."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    axes[0].set_ylabel(ylabel)
    axes[0].set_title("Q-Value Iteration")
    axes[1].set_title("Q-Learning")
    top = max(24.0, float(np.max(iteration_history)) * 1.1, float(np.max(learning_history)) * 1.1)
    for ax, history in zip(axes, (iteration_history, learning_history), strict=False):
        width = len(history)
        ax.plot([0, width], [true_q_value, true_q_value], "k--")
        ax.plot(np.arange(width), history, "b-", linewidth=2)
        ax.set_xlabel("Iterations")
        ax.axis([0, width, 0, top])
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


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
