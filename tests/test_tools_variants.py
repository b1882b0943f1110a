"""tools/variants.py: the tolerances it fits and declares from measured spreads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from advlib.tolerance import Tolerance, matches

PATH = Path(__file__).resolve().parents[1] / "tools" / "variants.py"
spec = importlib.util.spec_from_file_location("variants", PATH)
variants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(variants)


@pytest.mark.parametrize(
    "value,expected", [(0.0, 0.0), (0.0123, 0.013), (0.02, 0.02), (1.234, 1.3), (87.0, 87.0)]
)
def test_round_up_keeps_two_significant_digits_and_never_rounds_down(value, expected):
    assert variants.round_up(value) == pytest.approx(expected)
    assert variants.round_up(value) >= value


def test_fitted_tolerance_uses_atol_for_fractions_and_rtol_for_larger_numbers():
    atol, rtol = variants.fitted_tolerance(
        [(0.97, 0.95), (0.5, 0.51), (110.0, 100.0), (4.0, 5.0)], margin=1.0
    )
    assert atol == pytest.approx(0.02) and rtol == pytest.approx(0.2)


def test_changes_reports_the_largest_move_and_whether_the_text_held():
    assert variants.changes("acc 98.0% n 100", "acc 97.0% n 110") == pytest.approx(
        {"numbers": 2, "same_text": True, "abs": 10.0, "rel": 0.1}
    )
    assert variants.changes("MLP 98.0%", "CNN 98.0%")["same_text"] is False


def test_declared_tolerances_admit_every_measured_variant(tmp_path, monkeypatch):
    """The tolerance written for a cell admits each variant's output against the stored one."""
    monkeypatch.setattr(variants, "ROOT", tmp_path)
    cells = [nbformat.v4.new_code_cell("print(1)"), nbformat.v4.new_code_cell("print(2)")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "nb.ipynb")
    outputs = {
        "native": ["acc 98.0% radius 0.40", "exact 7"],
        "seed1": ["acc 96.5% radius 0.44", "exact 7"],
        "seed2": ["acc 99.0% radius 0.39", "exact 7"],
    }
    results = [
        {
            "notebook": "nb.ipynb",
            "variant": name,
            "errors": [],
            "cells": [{"cell": i, "text": text} for i, text in enumerate(texts)],
        }
        for name, texts in outputs.items()
    ]
    assert variants.write_tolerances(results, margin=1.5) == []
    moved, fixed = nbformat.read(tmp_path / "nb.ipynb", as_version=4).cells
    tolerance = Tolerance.from_metadata(moved.metadata)
    assert tolerance.atol == pytest.approx(1.5 * 0.04) and "measured" in moved.metadata["tolerance"]
    assert all(matches(texts[0], outputs["native"][0], tolerance) for texts in outputs.values())
    assert not matches("acc 90.0% radius 0.40", outputs["native"][0], tolerance)
    assert "tolerance" not in fixed.metadata  # numbers that never moved stay exact
