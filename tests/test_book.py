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


@pytest.mark.parametrize(
    ("value", "style", "text"),
    [
        (8192, "number", "8,192"),
        (np.int64(8), "number", "8"),
        (torch.tensor(12345), "number", "12,345"),
        (0.012345, "number", "0.0123"),
        (3.14159, "number", "3.14"),
        (1234.5, "number", "1,234"),
        (0.0, "number", "0"),
        (0.846, "percent", "84.6%"),
        (0.0, "percent", "0%"),
        (1.0, "percent", "100%"),
        (0.0004, "percent", "< 0.1%"),
        (0.9996, "percent", "> 99.9%"),
        (0.0006, "percent", "0.1%"),
        (5.1e-16, "scientific", "$5.10 \\times 10^{-16}$"),
        (9.996e-5, "scientific", "$1.00 \\times 10^{-4}$"),
        (-2.5e7, "scientific", "$-2.50 \\times 10^{7}$"),
        (0.5, "scientific", "0.500"),
    ],
)
def test_numbers_read_one_way(value, style, text):
    assert book.format_number(value, style) == text


@pytest.mark.parametrize(("value", "style"), [(1.0, "fraction"), (float("nan"), "number")])
def test_format_number_refuses_bad_input(value, style):
    with pytest.raises(ValueError, match="style|finite"):
        book.format_number(value, style)


def test_glue_with_a_style_glues_markdown(glued):
    book.glue("n", 8192, style="number")
    book.glue("p", 0.0001, style="percent")
    (name, value, display), (_, percent, _) = glued
    assert (name, display) == ("n", False)
    assert value.data == "8,192" and percent.data == "< 0.1%"
