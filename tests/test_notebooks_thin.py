"""The chapters stay thin (issue 12): no code cell over 25 lines, no notebook importing another."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
MAX_LINES = 25


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def test_no_code_cell_is_over_25_lines():
    long = [
        f"{path.relative_to(ROOT)} cell {i}: {len(source.splitlines())} lines"
        for path in NOTEBOOKS
        for i, source in enumerate(code_cells(path))
        if len(source.splitlines()) > MAX_LINES
    ]
    assert NOTEBOOKS and long == []


def test_no_notebook_imports_another():
    importing = [
        path.relative_to(ROOT).as_posix()
        for path in NOTEBOOKS
        if any("import_notebook" in s or "%run " in s or "ipynb" in s for s in code_cells(path))
    ]
    assert importing == []
