"""advlib.plot.slider: precomputed figures on a slider that works on the static page."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from advlib import plot  # noqa: E402


def figures(n: int, width: float = 4.0) -> list:
    made = []
    for i in range(n):
        fig, ax = plt.subplots(figsize=(width, 3))
        ax.plot([0, i + 1])
        made.append(fig)
    return made


def test_one_image_per_frame_one_shown_and_a_range_input():
    slider = plot.slider(figures(3), ["a", "b", "c"], label="budget", alt="a line", start=1)
    page = slider._repr_html_()
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) == 3 and ["hidden" in m for m in images] == [True, False, True]
    assert all('src="data:image/png;base64,' in m and 'width="400"' in m for m in images)
    assert 'type="range" min="0" max="2"' in page and 'value="1"' in page
    assert "<output>b</output>" in page and 'alt="a line (c)"' in page
    assert "http" not in page  # nothing loaded from a network


def test_frames_rendered_at_twice_the_density_and_figures_closed():
    made = figures(2)
    slider = plot.slider(made, ["a", "b"], label="x", alt="y")
    assert int.from_bytes(slider.frames[0][16:20], "big") == 800  # PNG width: 2 x 400 px
    assert not any(plt.fignum_exists(f.number) for f in made)
    assert slider._repr_png_() == slider.frames[0]  # the PDF and plain viewers: start frame


def test_plain_text_holds_no_picture_bytes():
    """nbval compares text/plain exactly: it must not change with the pictures."""
    assert repr(plot.slider(figures(2), ["a", "b"], label="eps", alt="y")) == (
        "<Slider: 2 frames of 'eps'>"
    )


def test_labels_are_escaped():
    page = plot.slider(figures(1), ['<b>"x"</b>'], label="a & b", alt="y")._repr_html_()
    assert "<b>" not in page and "a &amp; b" in page


@pytest.mark.parametrize(
    ("n_figures", "labels", "start", "match"),
    [(0, [], 0, "non-empty"), (2, ["a"], 0, "equal length"), (2, ["a", "b"], 2, "start")],
)
def test_refuses_bad_input(n_figures, labels, start, match):
    with pytest.raises(ValueError, match=match):
        plot.slider(figures(n_figures), labels, label="x", alt="y", start=start)
