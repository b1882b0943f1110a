"""advlib.plot.non_robust_balls: black balls on robust errors, R_rob over all points in the title."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advlib import models  # noqa: E402
from advlib.plot import non_robust_balls  # noqa: E402


def _points():
    X = torch.tensor([[0.2, 0.2], [0.4, 0.6], [0.7, 0.3], [0.9, 0.9]])
    y = torch.tensor([0, 1, 0, 1])
    return models.mlp((2,), 2, hidden=8, seed=0), X, y


def test_colours_shown_points_and_titles_the_risk_over_all():
    model, X, y = _points()
    errors = torch.tensor([True, False, True, True])
    fig, ax = plt.subplots()
    out = non_robust_balls(ax, model, X, y, errors, eps=0.05, norm="l2", n_show=2)
    assert out is ax
    assert len(ax.patches) == 2  # only the first two points get a ball
    edges = [tuple(p.get_edgecolor()[:3]) for p in ax.patches]
    assert edges == [(0.0, 0.0, 0.0), (0.7, 0.7, 0.7)]  # black: robust error, grey: robust
    assert ax.get_title() == "$L_2$ discs, ε = 0.05: $\\mathcal{R}_{rob}$ = 75.0%"  # 3 of 4
    plt.close(fig)


def test_numpy_flags_and_squares():
    model, X, y = _points()
    fig, ax = plt.subplots()
    non_robust_balls(ax, model, X, y, np.zeros(4, dtype=bool), eps=0.1, norm="linf")
    assert len(ax.patches) == 4
    assert ax.get_title().startswith("$L_\\infty$ squares, ε = 0.10")
    assert ax.get_title().endswith("= 0.0%")
    plt.close(fig)


def test_wrong_number_of_flags_is_refused():
    model, X, y = _points()
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="one flag per point"):
        non_robust_balls(ax, model, X, y, torch.ones(3, dtype=torch.bool), eps=0.1)
    plt.close(fig)
