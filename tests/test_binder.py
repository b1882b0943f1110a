"""The Binder configuration stays in step with requirements.txt and the launch buttons."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
    section = config[config.index("launch_buttons:"):].split("\n\n")[0]
    for key in ("binderhub_url: https://mybinder.org", "colab_url: https://colab.research.google.com", "thebe: true"):
        assert key in section, key
