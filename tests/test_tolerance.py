"""advlib.tolerance and its use in the root conftest: numbers within a declared tolerance,
everything else exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from advlib.tolerance import Tolerance, accept_within_tolerance, matches, split_numbers

ROOT = Path(__file__).resolve().parents[1]


def test_numbers_are_split_from_the_text_and_percentages_read_as_fractions():
    assert split_numbers("linear:  96.5%\n   MLP: 98.1%") == ("linear: # MLP: #", [0.965, 0.981])
    assert split_numbers("eps = 1e-3, -0.25, .5") == ("eps = #, #, #", [1e-3, -0.25, 0.5])
    assert split_numbers("Linf 0.1, radius inf") == (
        "Linf #, radius #",
        [0.1, float("inf")],
    )  # a word is no number


@pytest.mark.parametrize(
    "new,stored,tolerance,expected",
    [
        ("acc 98.7%", "acc 98.6%", Tolerance(atol=0.002), True),
        ("acc 99.0%", "acc 98.6%", Tolerance(atol=0.002), False),  # moved too far
        ("acc 98.7% (MLP)", "acc 98.6% (CNN)", Tolerance(atol=1.0), False),  # words must match
        ("a 1 b 2", "a 1 b", Tolerance(atol=1.0), False),  # so must the count
        ("  97.1%  100.0%", " 100.0%   97.1%", Tolerance(atol=0.03), True),  # padding is ignored
        ("0.514907", "0.512956", Tolerance(rtol=0.01), True),
        ("0.52", "0.50", Tolerance(rtol=0.01), False),
        ("nan", "nan", Tolerance(), True),
        ("1.0", "nan", Tolerance(atol=10.0), False),
        ("text only", "text only", Tolerance(), True),
    ],
)
def test_matches(new, stored, tolerance, expected):
    assert matches(new, stored, tolerance) is expected


@pytest.mark.parametrize("declared", [{"atol": -1}, {"atol": float("nan")}, {"tol": 1}, 0.1])
def test_bad_declarations_are_refused(declared):
    with pytest.raises(ValueError, match="tolerance|atol"):
        Tolerance.from_metadata({"tolerance": declared})


def test_a_cell_without_a_declaration_has_no_tolerance():
    assert Tolerance.from_metadata({"tags": ["hide-input"]}) is None


def test_only_matching_texts_are_replaced_by_the_stored_ones():
    stored = [
        {"output_type": "stream", "name": "stdout", "text": "acc 98.6%\n"},
        {"output_type": "display_data", "data": {"text/plain": "0.986", "image/png": "AAA"}},
    ]
    new = [
        {"output_type": "stream", "name": "stdout", "text": "acc 98.8%\n"},
        {"output_type": "display_data", "data": {"text/plain": "0.900", "image/png": "BBB"}},
    ]
    assert accept_within_tolerance(new, stored, Tolerance(atol=0.005)) == 1
    assert new[0]["text"] == "acc 98.6%\n"  # within: accepted
    assert new[1]["data"]["text/plain"] == "0.900"  # too far: left for nbval to report
    assert new[1]["data"]["image/png"] == "BBB"  # not text: untouched


def notebook(stored: str, printed: str, tolerance: dict | None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(f"print('accuracy {printed}')", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"accuracy {stored}\n")]
    if tolerance is not None:
        cell.metadata["tolerance"] = tolerance
    return nbformat.v4.new_notebook(
        cells=[cell],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


@pytest.mark.parametrize(
    "printed,tolerance,passes",
    [
        ("98.7%", {"atol": 0.002, "measured": "test"}, True),
        ("99.7%", {"atol": 0.002, "measured": "test"}, False),
        ("98.7%", None, False),  # no declaration: exact
        ("98.6%", None, True),
    ],
)
def test_nbval_compares_within_the_cells_declared_tolerance(pytester, printed, tolerance, passes):
    shutil.copy(ROOT / "conftest.py", pytester.path / "conftest.py")
    nbformat.write(notebook("98.6%", printed, tolerance), pytester.path / "check.ipynb")
    result = pytester.runpytest_subprocess(
        "--nbval", "--nbval-current-env", "-p", "no:cacheprovider", "-p", "no:xdist", "check.ipynb"
    )
    assert result.ret == (0 if passes else 1), result.stdout.str()
