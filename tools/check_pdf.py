"""Check the book's PDF: every page of _toc.yml is in it, and LaTeX dropped no character.

    python tools/check_pdf.py _build/html/adversarial-examples.pdf [_build/latex/adversarial-examples.log]

Needs pdfinfo and pdftotext (Debian's poppler-utils). Run by .ci/run after the PDF build.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MIN_PAGES = 100  # the book has about 190 pages; far fewer means that chapters are missing


def toc_files(toc: dict) -> list[str]:
    """The files of _toc.yml (jb-book: root, then parts' chapters and their sections)."""
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def title(path: Path) -> str:
    """The first level-1 heading of a Markdown file or of a notebook's Markdown cells."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    match = re.search(r"^# (.+)$", text, re.MULTILINE)
    if not match:
        raise ValueError(f"{path}: no level-1 heading")
    return match.group(1).strip()


def words(text: str) -> str:
    """Plain words only: what survives typesetting of a title whatever its markup or math."""
    return " ".join(re.findall(r"[A-Za-z]{3,}", text)).lower()


def main(pdf: Path, log: Path | None) -> list[str]:
    problems = []
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE).group(1))
    print(f"{pdf}: {pages} pages, {pdf.stat().st_size / 1e6:.1f} MB")
    if pages < MIN_PAGES:
        problems.append(f"only {pages} pages (at least {MIN_PAGES} expected)")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    body = words(text)
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for name in toc_files(toc)[1:]:  # the root's title is the book's title, not a chapter
        source = next(ROOT.glob(name + ".*"))
        heading = title(source)
        found = words(heading) in body
        print(f"  {'ok     ' if found else 'MISSING'} {name}: {heading}")
        if not found:
            problems.append(f"chapter {name} ({heading!r}) is not in the PDF")
    if log is not None:
        log_text = log.read_text(errors="replace")
        missing = sorted(set(re.findall(r"Missing character: There is no (.+?) in font", log_text)))
        if missing:
            problems.append(f"characters missing from the fonts (dropped): {' '.join(missing)}")
        if "There were undefined references" in log_text:
            problems.append("LaTeX reports undefined references (see the .log)")
    return problems


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    if not 1 <= len(args) <= 2:
        sys.exit(__doc__)
    found = main(args[0], args[1] if len(args) == 2 else None)
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
