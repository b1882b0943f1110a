"""advlib.plot: the figures draw what they say (checked on the artists, not on pixels)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, Rectangle  # noqa: E402

from advlib import data, models, plot  # noqa: E402


def test_decision_boundary_draws_discs_for_l2_and_squares_for_linf():
    X, y = data.two_moons(40)
    model = models.mlp((2,), 2, hidden=8)
    for norm, patch in (("l2", Circle), ("linf", Rectangle)):
        fig, ax = plt.subplots()
        plot.decision_boundary(
            ax, model, X, y, eps=0.05, norm=norm, ball_points=X[:5], resolution=30
        )
        balls = [p for p in ax.patches if isinstance(p, patch) and p.get_fill() is False]
        assert len(balls) == 5
        assert ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)


def test_image_grid_titles_each_image_with_class_and_confidence(digits8):
    model = models.small_cnn((1, 8, 8), 10, channels=4)
    titles = plot.prediction_titles(model, digits8.X_test[:5])
    assert all(t.endswith("%)") and t.split()[0].isdigit() for t in titles)
    fig = plot.image_grid(digits8.X_test[:5], titles, ncols=3)
    assert [ax.get_title() for ax in fig.axes[:5]] == titles
    assert len(fig.axes) == 6  # 2 rows of 3, the last one empty and hidden
    plt.close(fig)


def test_curve_labels_axes_and_names_each_curve():
    fig, ax = plt.subplots()
    plot.curve(ax, [0, 1], {"a": [0, 1], "b": [1, 0]}, xlabel="eps", ylabel="error")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert ax.get_xlabel() == "eps"
    plt.close(fig)
