"""One place for the repository's address (tools/repository.py): _config.yml's repository.url."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import repository  # noqa: E402 (tools/ is not a package)


def test_every_place_names_the_configured_repository():
    assert repository.disagreements() == []


def test_rewrite_follows_the_config_and_check_catches_a_lone_change(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("_build", "*.png"))
    config = (ROOT / "_config.yml").read_text()
    old = repository.configured_url()
    (tmp_path / "_config.yml").write_text(config.replace(old, "https://github.com/me/fork"))
    assert len(repository.disagreements(tmp_path)) == len(repository.places(tmp_path))
    changed = repository.rewrite(tmp_path)
    assert set(changed) == set(repository.places(tmp_path))
    assert repository.disagreements(tmp_path) == []
    assert "git+https://github.com/me/fork" in (book / "intro.md").read_text()
    notebook = next(book.rglob("*.ipynb"))
    assert notebook.read_text() == (ROOT / notebook.relative_to(tmp_path)).read_text().replace(
        old, "https://github.com/me/fork"
    )
