"""The Binder configuration stays in step with requirements.txt and the launch buttons."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import repository  # noqa: E402 (tools/ is not a package; the address is _config.yml's)


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line (local version labels dropped)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s#+]+)", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_binder_pins_match_requirements():
    binder, main = pins(ROOT / "binder" / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert {"torch", "numpy", "scikit-learn", "matplotlib", "ipywidgets", "tqdm"} <= binder.keys()
    assert {name: version for name, version in binder.items() if main.get(name) != version} == {}


def test_binder_installs_cpu_torch_and_advlib():
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert re.search(r"^torch==[\d.]+\+cpu$", requirements, re.MULTILINE)
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert "pip install --no-cache-dir --no-deps -e ." in post_build.read_text()


def test_launch_buttons_configured():
    config = (ROOT / "_config.yml").read_text()
    section = config[config.index("launch_buttons:") :].split("\n\n")[0]
    for key in (
        "binderhub_url: https://mybinder.org",
        "colab_url: https://colab.research.google.com",
        "thebe: true",
    ):
        assert key in section, key


COLAB_CELL = """# On Colab, install advlib (the book's library); elsewhere it is already installed.
import sys

if "google.colab" in sys.modules:
    import subprocess

    REPOSITORY = "git+{url}"
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, f"advlib @ {{REPOSITORY}}"], check=True)""".format(
    url=repository.configured_url()
)


def test_every_notebook_starts_with_the_colab_cell():
    """On Colab advlib is missing: the first code cell of every chapter installs it there
    (and does nothing elsewhere); it is hidden in the HTML (tag remove-cell)."""
    notebooks = sorted((ROOT / "book").rglob("*.ipynb"))
    wrong = []
    for path in notebooks:
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        source = "".join(cells[0]["source"]).strip() if cells else ""
        if source != COLAB_CELL or "remove-cell" not in cells[0].get("metadata", {}).get(
            "tags", []
        ):
            wrong.append(path.relative_to(ROOT).as_posix())
        elif sum(COLAB_CELL in "".join(c["source"]) for c in cells) != 1:
            wrong.append(path.relative_to(ROOT).as_posix() + " (more than once)")
    assert wrong == []
