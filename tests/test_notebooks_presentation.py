"""The chapters as a reader meets them (issue 16): checked on the stored notebooks.

- every figure a chapter displays has a numbered caption and alt text (cell metadata
  ``mystnb.figure.caption``/``name`` and ``mystnb.image.alt``, or a ``{glue:figure}`` with
  ``:alt:`` and ``:name:``), and fits the column: at most :data:`MAX_FIGURE_WIDTH` CSS pixels
  wide, so that the style's 10-pt fonts are never shrunk below 9 pt;
- the story comes first: the first markdown cell poses the question and shows a figure
  (a ``{glue:figure}``), before any visible code;
- imports and parameters are collapsed, and so is every cell that only checks and glues;
- every chapter has a "You will learn" admonition, a summary and exercises with solutions;
- one notation: ``\\epsilon``, never ``\\varepsilon``;
- no saved widget state (it makes the page request scripts from a CDN it never uses).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
IDS = [str(p.relative_to(ROOT / "book")) for p in NOTEBOOKS]
#: The text column of the HTML book at 1366 px (sphinx-book-theme), in CSS pixels.
MAX_FIGURE_WIDTH = 745


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def shows_figure(cell: dict) -> bool:
    return any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def hidden(cell: dict) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return bool({"hide-input", "remove-input", "remove-cell", "hide-cell"} & set(tags))


def is_check(code: str) -> bool:
    """A cell whose every statement is an ``assert`` or a call of ``glue``."""
    try:
        statements = ast.parse(code).body
    except SyntaxError:  # IPython magics: not a check
        return False

    def glues(node: ast.stmt) -> bool:
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            return False
        func = node.value.func
        return (isinstance(func, ast.Attribute) and func.attr == "glue") or (
            isinstance(func, ast.Name) and func.id == "glue"
        )

    return bool(statements) and all(isinstance(n, ast.Assert) or glues(n) for n in statements)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_is_captioned_and_fits_the_column(path):
    problems = []
    for i, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code" or not shows_figure(cell):
            continue
        meta = cell.get("metadata", {}).get("mystnb", {})
        if not meta.get("figure", {}).get("caption") or not meta.get("figure", {}).get("name"):
            problems.append(f"cell {i}: no caption or name (mystnb.figure)")
        if not meta.get("image", {}).get("alt"):
            problems.append(f"cell {i}: no alt text (mystnb.image.alt)")
        figures = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
        if len(figures) > 1:
            problems.append(f"cell {i}: {len(figures)} figures under one caption")
        for out in figures:
            width = out.get("metadata", {}).get("image/png", {}).get("width")
            if width is not None and width > MAX_FIGURE_WIDTH:
                problems.append(f"cell {i}: {width} px wide (column: {MAX_FIGURE_WIDTH})")
    for i, cell in enumerate(cells(path)):
        if cell["cell_type"] == "markdown":
            for block in re.findall(r"```\{glue:figure\}[^\n]*\n(.*?)```", source(cell), re.S):
                if ":alt:" not in block or ":name:" not in block:
                    problems.append(f"cell {i}: a glue:figure without :alt: or :name:")
                if "{cite" in block:  # a link inside \caption breaks the PDF (hyperref)
                    problems.append(f"cell {i}: a citation in a figure caption")
        caption = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption", "")
        if "{cite" in caption:
            problems.append(f"cell {i}: a citation in a figure caption")
    assert problems == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_the_story_comes_first(path):
    nb = cells(path)
    first_markdown = next(c for c in nb if c["cell_type"] == "markdown")
    assert "{glue:figure}" in source(first_markdown), "the opening shows a teaser figure"
    assert "You will learn" in source(first_markdown)
    before = nb[: nb.index(first_markdown)]
    assert all(hidden(c) for c in before if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_imports_parameters_and_checks_are_collapsed(path):
    visible = []
    for i, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code" or hidden(cell):
            continue
        code = source(cell)
        if "setup_notebook(" in code or is_check(code):
            visible.append(f"cell {i}: {code.splitlines()[0][:60]}")
    assert visible == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_summary_and_exercises_with_solutions(path):
    text = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")
    assert re.search(r"^## Summary", text, re.M)
    assert re.search(r"^## Exercises", text, re.M)
    exercises = re.findall(r"\{exercise\}\s*\n:label: (\S+)", text)
    solved = set(re.findall(r"\{solution(?:-start)?\} (\S+)", text))
    assert len(exercises) >= 2 and set(exercises) <= solved, (exercises, solved)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_one_notation_and_no_widget_state(path):
    nb = json.loads(path.read_text())
    assert "widgets" not in nb["metadata"]
    text = "\n".join(source(c) for c in nb["cells"])
    assert "\\varepsilon" not in text
    assert "\\mathcal{R}_{std}" not in text and "\\mathcal{R}_{rob}" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_glued_math_is_pasted_as_myst(path):
    """``{glue:md}`` parses as CommonMark unless the key says ``:myst``: glued math
    (``style="scientific"``) would show its dollars and backslashes."""
    nb = cells(path)
    with_math = set()
    for cell in nb:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            markdown = out.get("data", {}).get("application/papermill.record/text/markdown", "")
            if name and "$" in markdown:
                with_math.add(name)
    text = "\n".join(source(c) for c in nb if c["cell_type"] == "markdown")
    plain = {key for key in re.findall(r"\{glue:md\}`([^`:]+)`", text) if key in with_math}
    assert plain == set(), "write {glue:md}`key:myst` for these"
