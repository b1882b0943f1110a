"""Root conftest: how pytest checks the book's notebooks with nbval.

``pytest`` (see ``[tool.pytest.ini_options]`` in pyproject.toml) runs the unit tests in
``tests/`` and re-executes every notebook under ``book/`` with ``--nbval``: each code cell
is a test item, and its fresh outputs must equal the outputs stored in the notebook.

Text outputs (stdout, stderr, ``text/plain``, ``text/html``, glued numbers and strings)
are compared strictly, after the substitutions in ``nbval_sanitize.cfg``. Pictures are
not compared: a figure is re-rendered and checked to exist (its ``text/plain`` part,
e.g. ``<Figure size 640x480 with 1 Axes>``, is still compared), but PNG bytes differ
between machines and library versions for reasons that have nothing to do with the
result. nbval 0.11 already skips ``image/png`` and ``image/jpeg`` (unless ``--nbdime``),
but not the copies that myst-nb's ``glue`` stores under
``application/papermill.record/<mime type>``; those are added here. The claims a
figure illustrates are checked by ``assert`` statements in the notebook instead.

A cell whose numbers come from training or attacks declares a tolerance in its metadata
(``"tolerance": {"atol": ..., "rtol": ..., "measured": ...}``, see
:mod:`advlib.tolerance`): its text outputs must then match the stored ones word for word,
and each number within that tolerance. Every other cell is compared exactly.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

# No progress bars (advlib.progress) in the tests, nor in the notebooks' kernels, which
# inherit this environment when nbval starts them: their outputs must stay byte-stable.
os.environ["ADVLIB_PROGRESS"] = "0"

from advlib.tolerance import Tolerance, accept_within_tolerance  # noqa: E402 (after the environment)

pytest_plugins = ["pytester"]  # tests/test_tolerance.py runs nbval on small notebooks

try:
    from nbval.plugin import IPyNbCell, IPyNbFile
except ImportError:  # nbval not installed: the notebooks are simply not collected
    IPyNbCell = IPyNbFile = None

#: Image MIME types that are never compared byte for byte, plain and glued.
IMAGE_MIME_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "application/pdf")
GLUE_PREFIX = "application/papermill.record/"  # myst_nb.ext.glue.GLUE_PREFIX
NBVAL_SKIP_COMPARE = IMAGE_MIME_TYPES + tuple(GLUE_PREFIX + m for m in IMAGE_MIME_TYPES)


def pytest_configure(config: pytest.Config) -> None:
    # The sanitize file is named relative to the repository root in pyproject.toml;
    # resolve it so that pytest also works when started from a subfolder.
    name = getattr(config.option, "nbval_sanitize_with", None)
    if name and not Path(name).is_absolute() and not Path(name).exists():
        candidate = config.rootpath / name
        if candidate.exists():
            config.option.nbval_sanitize_with = str(candidate)


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Extend nbval's ``skip_compare`` for every collected notebook."""
    if IPyNbFile is not None and isinstance(collector, IPyNbFile):
        extra = tuple(m for m in NBVAL_SKIP_COMPARE if m not in collector.skip_compare)
        collector.skip_compare = tuple(collector.skip_compare) + extra


def _compare_within_declared_tolerance(compare_outputs):
    """nbval's exact comparison, after accepting the numbers that lie within the cell's
    declared tolerance (a cell without one is compared exactly)."""

    def compare(self, test, ref, skip_compare=None):
        tolerance = Tolerance.from_metadata(self.cell.get("metadata", {}))
        if tolerance is not None:
            accept_within_tolerance(test, ref, tolerance)
        return compare_outputs(self, test, ref, skip_compare)

    return compare


if IPyNbCell is not None:
    IPyNbCell.compare_outputs = _compare_within_declared_tolerance(IPyNbCell.compare_outputs)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the wall time of each notebook (kernel start-up and all of its cells)."""
    totals: dict[str, float] = defaultdict(float)
    for reports in terminalreporter.stats.values():
        for report in reports:
            nodeid = getattr(report, "nodeid", "")
            path = nodeid.split("::", 1)[0]
            if path.endswith(".ipynb") and hasattr(report, "duration"):
                totals[path] += report.duration
    if not totals:
        return
    terminalreporter.write_sep("=", "notebook timings")
    for path, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:8.2f}s  {path}")
    terminalreporter.write_line(f"{sum(totals.values()):8.2f}s  total (summed over notebooks)")
