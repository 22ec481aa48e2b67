"""Videos, GIFs and plots a user can open."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from tfa_recipes import media


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
