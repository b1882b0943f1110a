r"""Run the book's notebooks as other machines and other seeds would, and print a table.

The stored outputs of the notebooks are those of seed 0 on one machine. Another machine
differs in torch's vectorised CPU kernels and perhaps its thread count, which changes the
last bits of every trained model; another seed changes every random choice. This script
executes every chapter under such *variants*, each in a fresh kernel whose environment
selects it before Python starts:

=========  ===================================================
native     this machine as it is (seed 0, one thread)
default    ``ATEN_CPU_CAPABILITY=default`` (no vector kernels)
avx2       ``ATEN_CPU_CAPABILITY=avx2``
avx512     ``ATEN_CPU_CAPABILITY=avx512`` (where the CPU has it)
threads2   ``ADVLIB_THREADS=2``
seed1..4   ``ADVLIB_SEED=1`` ... ``4``
=========  ===================================================

For each notebook and variant it records whether every cell ran (every assertion of the
text held) and, for each cell, how far each printed or glued number moved from the stored
one (percentages as fractions, as :mod:`advlib.tolerance` reads them). It prints

1. the claims table: per notebook, the number of ``assert`` statements and the variants
   under which all of them held (all must);
2. with ``--spread``, per cell that prints numbers: the largest change over the variants,
   absolute and relative, next to the cell's declared tolerance, and the cells whose text
   around the numbers changed (which no tolerance can describe).

All variants share one fresh model cache (its key covers the CPU kernels, the thread count
and the seed, so they never see each other's models). Run from the repository root:

    python tools/variants.py                        # every notebook, every variant
    python tools/variants.py --variants native seed3 --notebooks book/part1/definitions.ipynb
    python tools/variants.py --spread --json variants.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from advlib.tolerance import Tolerance, split_numbers  # noqa: E402

VARIANTS = {
    "native": {},
    "default": {"ATEN_CPU_CAPABILITY": "default"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512"},
    "threads2": {"ADVLIB_THREADS": "2"},
    **{f"seed{k}": {"ADVLIB_SEED": str(k)} for k in range(1, 5)},
}
SETTINGS = ("ATEN_CPU_CAPABILITY", "ADVLIB_THREADS", "ADVLIB_SEED", "MPLBACKEND")


def notebooks() -> list[Path]:
    """The chapters, in the order of the table of contents."""
    return sorted((ROOT / "book").rglob("*.ipynb"), key=lambda p: p.relative_to(ROOT).as_posix())


def texts(cell) -> list[str]:
    """The cell's text outputs (streams and text MIME types, glued values included)."""
    found = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            found.append(output["text"])
        for mime, value in output.get("data", {}).items():
            if mime.endswith("text/plain") or mime.endswith("text/html"):
                found.append(value if isinstance(value, str) else "".join(value))
    return found


def changes(stored: str, new: str) -> dict:
    """How the numbers of one cell's text moved: largest absolute and relative change, and
    whether the text around them stayed the same."""
    stored_text, stored_numbers = split_numbers(stored)
    new_text, new_numbers = split_numbers(new)
    same_text = stored_text == new_text and len(stored_numbers) == len(new_numbers)
    pairs = list(zip(new_numbers, stored_numbers)) if same_text else []
    absolute = max((abs(a - b) for a, b in pairs), default=0.0)
    relative = max((abs(a - b) / abs(b) for a, b in pairs if b != 0), default=0.0)
    return {
        "numbers": len(stored_numbers),
        "same_text": same_text,
        "abs": absolute,
        "rel": relative,
    }


def run(notebook: str, variant: str, cache: str, inplace: bool = False) -> dict:
    """Execute one notebook under one variant: its errors and each code cell's texts (with
    ``inplace``, the executed notebook is written back, as ``jupyter execute --inplace``)."""
    path = ROOT / notebook
    fresh = nbformat.read(path, as_version=4)
    stored = {i: "\n".join(texts(c)) for i, c in enumerate(fresh.cells) if c.cell_type == "code"}
    tolerances = {
        i: Tolerance.from_metadata(c.get("metadata", {})) for i, c in enumerate(fresh.cells)
    }
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(
        VARIANTS[variant], ADVLIB_CACHE=cache, ADVLIB_PROGRESS="0", PYTHONDONTWRITEBYTECODE="1"
    )
    client = NotebookClient(
        fresh,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=env)
    seconds = time.perf_counter() - start
    cells, errors = [], []
    for index, cell in enumerate(fresh.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(
                    {"cell": index, "error": f"{output['ename']}: {output['evalue']}"[:300]}
                )
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                errors.append({"cell": index, "error": "stderr: " + output["text"][:300]})
        tolerance = tolerances[index]
        cells.append(
            {
                "cell": index,
                "stored": stored[index],
                "text": "\n".join(texts(cell)),
                "tolerance": None if tolerance is None else [tolerance.atol, tolerance.rtol],
            }
        )
    if inplace and not errors:
        for cell in fresh.cells:  # no timestamps: a re-run that changes nothing leaves no diff
            cell.metadata.pop("execution", None)
        nbformat.write(fresh, path)
    asserts = sum("".join(c.source).count("assert ") for c in fresh.cells if c.cell_type == "code")
    return {
        "notebook": notebook,
        "variant": variant,
        "seconds": seconds,
        "asserts": asserts,
        "errors": errors,
        "cells": cells,
    }


def claims_table(results: list[dict], variants: list[str]) -> str:
    """Markdown: per notebook, its assertions and the variants under which all held."""
    lines = [
        "| notebook | assertions | variants passed | failed under |",
        "| --- | ---: | ---: | --- |",
    ]
    for notebook in dict.fromkeys(r["notebook"] for r in results):
        mine = [r for r in results if r["notebook"] == notebook]
        failed = [r["variant"] for r in mine if r["errors"]]
        name = Path(notebook).relative_to("book").with_suffix("").as_posix()
        lines.append(
            f"| {name} | {mine[0]['asserts']} | {len(mine) - len(failed)} / {len(mine)} "
            f"| {', '.join(failed) or '-'} |"
        )
    return "\n".join(lines)


def spread_table(results: list[dict]) -> str:
    """Per cell that prints numbers: the largest change over the variants, measured from
    the native run of this invocation when there is one, else from the stored outputs."""
    lines = [
        "| notebook | cell | numbers | max abs change | max rel change | declared (atol, rtol) | text changed under |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    native = {
        (r["notebook"], c["cell"]): c["text"]
        for r in results
        if r["variant"] == "native"
        for c in r["cells"]
    }
    by_cell: dict[tuple[str, int], list[tuple[str, dict]]] = {}
    for r in results:
        for cell in r["cells"]:
            key = (r["notebook"], cell["cell"])
            reference = native.get(key, cell["stored"])
            by_cell.setdefault(key, []).append(
                (r["variant"], {**changes(reference, cell["text"]), "tolerance": cell["tolerance"]})
            )
    for (notebook, index), entries in by_cell.items():
        if not entries[0][1]["numbers"]:
            continue
        absolute = max(c["abs"] for _, c in entries)
        relative = max(c["rel"] for _, c in entries)
        changed = [v for v, c in entries if not c["same_text"]]
        declared = entries[0][1]["tolerance"]
        if absolute == relative == 0 and not changed and declared is None:
            continue
        lines.append(
            f"| {Path(notebook).stem} | {index} | {entries[0][1]['numbers']} | {absolute:.4g} "
            f"| {relative:.3g} | {declared or 'exact'} | {', '.join(changed) or '-'} |"
        )
    return "\n".join(lines)


def fitted_tolerance(pairs: list[tuple[float, float]], margin: float) -> tuple[float, float]:
    """The (atol, rtol) that admit every (new, reference) pair with room ``margin``:
    atol for the numbers up to 1 in size (fractions, percentages read as fractions),
    rtol for the larger ones (counts, norms, times)."""
    small = [abs(a - b) for a, b in pairs if abs(b) <= 1]
    large = [abs(a - b) / abs(b) for a, b in pairs if abs(b) > 1]
    return margin * max(small, default=0.0), margin * max(large, default=0.0)


def round_up(value: float) -> float:
    """``value`` rounded up to two significant digits (0 stays 0)."""
    if value == 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / scale - 1e-9) * scale


def write_tolerances(results: list[dict], margin: float) -> list[str]:
    """Declare in each notebook, for every cell whose numbers moved under some variant
    (and whose text did not), the fitted tolerance and the measurement behind it; a cell
    whose numbers never moved is compared exactly. Returns the cells whose text changed."""
    native = {
        (r["notebook"], c["cell"]): c["text"]
        for r in results
        if r["variant"] == "native" and not r["errors"]
        for c in r["cells"]
    }
    variants = sorted({r["variant"] for r in results})
    pairs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    changed = []
    for r in results:
        if (r["notebook"], r["cells"][0]["cell"]) not in native:
            changed.append(
                f"{Path(r['notebook']).stem}: no successful native run, no tolerance written"
            )
            continue
        for cell in r["cells"]:
            key = (r["notebook"], cell["cell"])
            reference_text, reference = split_numbers(native[key])
            text, numbers = split_numbers(cell["text"])
            if text != reference_text or len(numbers) != len(reference):
                changed.append(
                    f"{Path(r['notebook']).stem} cell {cell['cell']} under {r['variant']}"
                )
                continue
            pairs.setdefault(key, []).extend(zip(numbers, reference))
    for notebook in dict.fromkeys(notebook for notebook, _ in native):
        path = ROOT / notebook
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            moved = [(a, b) for a, b in pairs.get((notebook, index), []) if a != b]
            cell.metadata.pop("tolerance", None)
            if cell.cell_type != "code" or not moved:
                continue
            atol, rtol = fitted_tolerance(moved, 1.0)
            cell.metadata["tolerance"] = {
                "atol": round_up(margin * atol),
                "rtol": round_up(margin * rtol),
                "measured": f"max change {atol:.3g} (numbers up to 1), relative {rtol:.3g} (larger ones) "
                f"over {len(variants)} variants ({', '.join(variants)}); declared {margin:g} times that",
            }
        nbformat.write(nb, path)
    return changed


def report(result: dict) -> None:
    """One line per run: variant, time, notebook, and what failed."""
    failures = "; ".join(f"cell {e['cell']}: {e['error']}" for e in result["errors"])
    print(
        f"{result['variant']:>8}  {result['seconds']:6.1f} s  {result['notebook']}  "
        f"{'FAILED: ' + failures if failures else 'ok'}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument(
        "--notebooks", nargs="+", default=None, help="paths relative to the repository root"
    )
    parser.add_argument("--workers", type=int, default=2, help="notebooks executed at once")
    parser.add_argument(
        "--spread", action="store_true", help="also print how far each cell's numbers moved"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="model cache to use and keep (default: a fresh one, deleted at the end)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write every result to this file")
    parser.add_argument(
        "--write-tolerances",
        type=float,
        default=None,
        metavar="MARGIN",
        help="declare in each cell the measured spread times MARGIN (needs the native variant)",
    )
    parser.add_argument(
        "--inplace",
        action="store_true",
        help="write the native run's executed notebooks back (the stored outputs)",
    )
    args = parser.parse_args()
    chosen = args.notebooks or [p.relative_to(ROOT).as_posix() for p in notebooks()]
    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="advlib-variants-") as fresh_cache:
        cache = str(args.cache or fresh_cache)
        # Variants with more torch threads run alone: two of them at once oversubscribe the cores.
        for threads, workers in ((False, args.workers), (True, 1)):
            variants = [v for v in args.variants if ("ADVLIB_THREADS" in VARIANTS[v]) == threads]
            with ProcessPoolExecutor(workers) as pool:
                jobs = [
                    pool.submit(run, nb, variant, cache, args.inplace and variant == "native")
                    for variant in variants
                    for nb in chosen
                ]
                for job in jobs:
                    results.append(job.result())
                    report(results[-1])
                    if args.json:  # written as the runs finish, so an interrupted check keeps them
                        args.json.write_text(json.dumps(results, indent=1))
    elapsed = time.perf_counter() - start
    print()
    print(claims_table(results, args.variants))
    if args.spread:
        print()
        print(spread_table(results))
    if args.write_tolerances is not None:
        changed = write_tolerances(results, args.write_tolerances)
        print("\ntolerances written; cells whose text changed (no tolerance can describe them):")
        print("\n".join(changed) or "none")
    print(
        f"\n{len(results)} runs of {len(chosen)} notebooks under {len(args.variants)} variants "
        f"in {elapsed:.0f} s with {args.workers} workers"
    )
    sys.exit(1 if any(r["errors"] for r in results) else 0)


if __name__ == "__main__":
    main()
