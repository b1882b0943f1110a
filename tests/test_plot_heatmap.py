"""advlib.plot.heatmap: draws the matrix, writes each value, refuses mismatched labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from advlib.plot import heatmap  # noqa: E402


def test_cells_show_the_values():
    matrix = torch.tensor([[0.98, 0.5], [0.125, 1.0], [0.0, 0.33]])
    fig, ax = plt.subplots()
    out = heatmap(
        ax, matrix, ["a", "b", "c"], ["x", "y"], xlabel="target", ylabel="source", title="T"
    )
    assert out is ax
    assert np.allclose(ax.images[0].get_array(), matrix.numpy())
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["98%", "50%", "12%", "100%", "0%", "33%"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "target" and ax.get_title() == "T"
    colors = [t.get_color() for t in ax.texts]
    assert colors[0] == "black" and colors[4] == "white"  # light cell, dark text; and the reverse
    plt.close(fig)


def test_mismatched_labels_are_refused():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="labels"):
        heatmap(ax, np.zeros((2, 3)), ["a", "b"], ["x", "y"], xlabel="", ylabel="")
    plt.close(fig)
