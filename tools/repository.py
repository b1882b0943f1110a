r"""One place for the repository's address: ``repository.url`` in ``_config.yml``.

Jupyter Book builds the launch buttons (Binder, Colab) and the repository button from it.
Two other places must name the same repository, and this script writes them from it:

- the first cell of every chapter notebook, which installs advlib on Colab
  (``REPOSITORY = "git+<url>"``);
- the Colab instructions of ``book/intro.md`` (``pip install "git+<url>"``).

To publish the book under another address, change ``repository.url`` in ``_config.yml``
and run, from the repository root::

    python tools/repository.py          # rewrite the notebooks and the intro
    python tools/repository.py --check  # exit 1, listing them, if any place disagrees

``tests/test_repository.py`` runs the check, so a change to one place alone fails the tests.
Only the address is rewritten: the notebooks' outputs and every other byte stay as they are.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: ``git+https://host/owner/name`` as written in the Colab cell and in the intro.
GIT_URL = re.compile(r"git\+(https://[A-Za-z0-9.\-]+/[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+)")


def configured_url(root: Path = ROOT) -> str:
    """``repository.url`` of ``_config.yml``, without a trailing slash or ``.git``."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    url = str(config["repository"]["url"]).rstrip("/")
    return url[: -len(".git")] if url.endswith(".git") else url


def places(root: Path = ROOT) -> list[Path]:
    """The files that name the repository besides ``_config.yml``."""
    notebooks = sorted(
        p for p in (root / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    return [root / "book" / "intro.md", *notebooks]


def disagreements(root: Path = ROOT) -> list[str]:
    """Every place whose address differs from the configured one, or that names none."""
    url, wrong = configured_url(root), []
    for path in places(root):
        found = set(GIT_URL.findall(path.read_text()))
        if found != {url}:
            wrong.append(f"{path.relative_to(root)}: {sorted(found) or 'no address'}")
    return wrong


def rewrite(root: Path = ROOT) -> list[Path]:
    """Write the configured address into every place; return the files that changed."""
    url, changed = configured_url(root), []
    for path in places(root):
        text = path.read_text()
        new = GIT_URL.sub(f"git+{url}", text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 on a mismatch")
    args = parser.parse_args(argv)
    if args.check:
        wrong = disagreements()
        for line in wrong:
            print(f"disagrees with _config.yml ({configured_url()}): {line}")
        return 1 if wrong else 0
    for path in rewrite():
        print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
