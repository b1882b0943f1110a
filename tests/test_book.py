"""advlib.book: notebook glue stores Python numbers, rounded to the digits the prose shows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advlib import book


@pytest.fixture
def glued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "myst_nb.glue", lambda name, value, display: calls.append((name, value, display))
    )
    return calls


def test_scalars_become_rounded_python_numbers_and_are_not_displayed(glued):
    book.glue("a", torch.tensor(0.123456))
    book.glue("b", np.float64(2 / 3), digits=2)
    book.glue("c", np.int64(7))
    book.glue("d", 1 / 3, digits=None)
    assert glued == [("a", 0.1235, False), ("b", 0.67, False), ("c", 7, False), ("d", 1 / 3, False)]
    assert [type(value) for _, value, _ in glued] == [float, float, int, float]
