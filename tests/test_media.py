"""Videos, GIFs and plots a user can open."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from tfa_recipes.output import media


def frames(count: int, height: int = 30, width: int = 50):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(count)]


def test_pad_frame_reaches_the_macro_block_by_repeating_edges():
    frame = np.zeros((400, 600, 3), np.uint8)
    frame[:, -1] = 200
    padded = media.pad_frame(frame)
    assert padded.shape == (400, 608, 3)
    assert (padded[:, 600:] == 200).all()
    assert media.pad_frame(padded) is padded


def test_mp4_decodes_to_the_padded_size(tmp_path):
    path = tmp_path / "clip.mp4"
    assert media.write_video(frames(12), path, fps=10) == 12
    decoded = iio.imread(path)
    assert decoded.shape == (12, 32, 64, 3)


def test_gif_keeps_frame_count_and_size(tmp_path):
    path = tmp_path / "clip.gif"
    media.write_video(frames(5), path, fps=10)
    decoded = iio.imread(path)
    assert decoded.shape[0] == 5 and decoded.shape[1:3] == (30, 50)


def test_unknown_video_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=".mp4 or .gif"):
        media.write_video(frames(2), tmp_path / "clip.avi")


def test_plot_returns_writes_a_png(tmp_path):
    path = media.plot_returns([0, 1000, 2000], [22.0, 46.4, 200.0], tmp_path / "r.png")
    with Image.open(path) as image:
        assert image.format == "PNG"


def test_embed_helpers_inline_the_file(tmp_path):
    mp4, gif = tmp_path / "a.mp4", tmp_path / "a.gif"
    media.write_video(frames(3), mp4)
    media.write_video(frames(3), gif)
    assert "data:video/mp4;base64," in media.embed_mp4(mp4).data
    assert media.embed_video(gif).format == "gif"


def _legend_and_lines(path_writer):
    """Run a plot writer with matplotlib's savefig captured: the figure's legend labels,
    its horizontal reference values and the y scale."""
    import matplotlib.pyplot as plt

    captured = {}
    original = plt.Figure.savefig

    def capture(figure, *args, **kwargs):
        axes = figure.axes[0]
        legend = axes.get_legend()
        captured["labels"] = [text.get_text() for text in legend.get_texts()] if legend else []
        captured["yscale"] = axes.get_yscale()
        captured["hlines"] = [
            line.get_ydata()[0]
            for line in axes.get_lines()
            if len(set(line.get_ydata())) == 1 and len(line.get_ydata()) == 2
        ]
        return original(figure, *args, **kwargs)

    plt.Figure.savefig = capture
    try:
        path = path_writer()
    finally:
        plt.Figure.savefig = original
    return path, captured


def test_returns_plot_draws_the_random_and_published_references(tmp_path):
    path, seen = _legend_and_lines(
        lambda: media.plot_returns(
            [0, 1000, 2000], [22.0, 46.4, 200.0], tmp_path / "r.png",
            references={"random policy": 21.8, "tutorial, iterations 2,000-20,000": 200.0},
        )
    )
    assert Image.open(path).format == "PNG"
    assert seen["labels"] == [
        "this run", "random policy: 21.8", "tutorial, iterations 2,000-20,000: 200",
    ]
    assert sorted(seen["hlines"]) == [21.8, 200.0]


@pytest.mark.parametrize(
    ("losses", "scale"), [([3.0, 400.0, 1e8], "log"), ([0.8, -0.2, 1.5], "symlog")]
)
def test_loss_plot_is_log_scale_and_symmetric_for_negative_losses(tmp_path, losses, scale):
    path, seen = _legend_and_lines(
        lambda: media.plot_losses([100, 200, 300], losses, tmp_path / "loss.png")
    )
    assert Image.open(path).format == "PNG"
    assert seen["yscale"] == scale


def test_plot_run_writes_returns_and_loss_from_metrics_csv(tmp_path):
    from tfa_recipes.run.directory import MetricsLog, RunDir

    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    metrics = MetricsLog(run.metrics_csv, [])
    metrics.append(iteration=0, AverageReturn=20.0, EnvironmentSteps=100, wall_seconds=1.0)
    metrics.append(iteration=100, loss=5.0, EnvironmentSteps=200, wall_seconds=2.0)
    metrics.append(
        iteration=200, loss=50.0, AverageReturn=90.0, EnvironmentSteps=300, wall_seconds=3.0
    )
    written = media.plot_run(run, references={"random policy": 21.0})
    assert written == [run.returns_png, run.loss_png]
    assert all(Image.open(path).format == "PNG" for path in written)


def test_curve_plot_draws_references(tmp_path):
    path, seen = _legend_and_lines(
        lambda: media.plot_curve(
            [10.0, 50.0, 130.0], tmp_path / "c.png", xlabel="Iteration", ylabel="Mean reward",
            references={"random policy": -180.0, "book at iteration 200": 134.2},
        )
    )
    assert seen["labels"] == ["this run", "random policy: -180", "book at iteration 200: 134.2"]
