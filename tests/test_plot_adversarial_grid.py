"""advlib.plot.adversarial_grid: three rows, one shared colour scale for the perturbations."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from advlib import models  # noqa: E402
from advlib.attacks import pgd  # noqa: E402
from advlib.plot import adversarial_grid  # noqa: E402


def test_rows_titles_and_scale(batch):
    model = models.small_cnn((1, 8, 8), 10, channels=4)
    x, y = batch[0][:3], batch[1][:3]
    x_adv = pgd(model, x, y, eps=0.1, steps=3)
    fig = adversarial_grid(model, x, x_adv, norm="linf")
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 9
    bound = float((x_adv - x).abs().max())
    assert all(ax.images[0].get_clim() == pytest.approx((-bound, bound)) for ax in image_axes[3:6])
    assert all(ax.images[0].get_clim() == (0.0, 1.0) for ax in image_axes[:3] + image_axes[6:])
    assert image_axes[3].get_title() == "$\\|\\eta\\|_{\\infty}$ = 0.10"
    assert image_axes[0].get_title().endswith("%)")
    assert [image_axes[i].get_ylabel() for i in (0, 3, 6)] == [
        "original",
        "perturbation",
        "adversarial",
    ]
    plt.close(fig)


def test_mismatched_shapes_are_refused(batch):
    model = models.small_cnn((1, 8, 8), 10, channels=4)
    x = batch[0][:3]
    with pytest.raises(ValueError, match="shape"):
        adversarial_grid(model, x, x[:2])
