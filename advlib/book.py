r"""Notebook set-up and glue: what every chapter's first cell and its glued numbers use.

A chapter starts with ``SEED = book.setup_notebook()`` and glues the numbers its prose
quotes with :func:`glue` (Python numbers, rounded, not displayed in the cell), or, where a
number must read well whatever its size ("8,192", "< 0.1%", :math:`5 \times 10^{-16}`),
formatted by :func:`format_number` (``glue(name, value, style=...)``).
"""

from __future__ import annotations

import math
import random

from advlib import book_seed, book_threads


def setup_notebook(seed: int | None = None) -> int:
    """Make a notebook reproducible and quiet, and return its seed.

    Seeds Python, NumPy and torch with ``seed`` (default ``advlib.book_seed()``, i.e.
    ``$ADVLIB_SEED`` or 0), sets torch's thread count (``$ADVLIB_THREADS``, default 1: the
    book's timings are for one core) and applies the plot style of
    :func:`advlib.plot.style`, with figures rendered sharp ("retina") in a Jupyter kernel.
    A chapter passes the returned seed to every function that makes a random choice (data
    splits, initial weights, training order, attack starts).

    Results are reproducible for a given seed, thread count and CPU; they are *not*
    bit-identical across thread counts or CPUs (torch's kernels sum in different orders),
    which is why the notebooks' numbers are compared within declared tolerances.

    >>> from advlib import book
    >>> SEED = book.setup_notebook()
    """
    import numpy as np
    import torch

    from advlib.plot import style

    seed = book_seed() if seed is None else seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(book_threads())
    style()
    _sharp_inline_figures()
    return seed


def _sharp_inline_figures() -> None:
    """In a Jupyter kernel, render figures at twice their pixel density ("retina"), so that
    they stay sharp on high-density screens and in the HTML book (displayed at the same size)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python without IPython: no inline figures to configure
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def format_number(value: float, style: str = "number", sig: int = 3) -> str:
    r"""A number as the prose shows it: one rule for the whole book.

    - ``"number"``: an integer in full, a float to ``sig`` significant digits (never fewer
      than its integer part), with a thousands separator: 8192 → "8,192", 8 → "8",
      0.012345 → "0.0123", 3.14159 → "3.14".
    - ``"percent"`` (``value`` a share in [0, 1]): one decimal, "84.6%"; exactly 0 and 1 read
      "0%" and "100%", and shares that would round to them read "< 0.1%" and "> 99.9%".
    - ``"scientific"``: Markdown math with ``sig`` significant digits,
      :math:`5.1 \times 10^{-16}`; numbers between 0.001 and 10,000 are written plainly.

    >>> format_number(8192), format_number(0.0004, "percent")
    ('8,192', '< 0.1%')
    >>> format_number(5.1e-16, "scientific", sig=2)
    '$5.1 \\times 10^{-16}$'
    """
    if hasattr(value, "item"):  # numpy and torch scalars: Python int or float
        value = value.item()
    if style not in ("number", "percent", "scientific"):
        raise ValueError(f"style must be 'number', 'percent' or 'scientific', got {style!r}")
    if style == "number" and isinstance(value, int) and not isinstance(value, bool):
        return f"{int(value):,}"
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value}")
    if style == "percent":
        return _percent(value)
    if style == "scientific" and value != 0 and not 1e-3 <= abs(value) < 1e4:
        exponent = math.floor(math.log10(abs(value)))
        mantissa = round(value / 10**exponent, sig - 1)
        if abs(mantissa) >= 10:  # 9.99 rounded up to 10.0
            mantissa, exponent = mantissa / 10, exponent + 1
        return f"${mantissa:.{sig - 1}f} \\times 10^{{{exponent}}}$"
    if value == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def _percent(share: float) -> str:
    """A share in [0, 1] as a percentage with one decimal (see :func:`format_number`)."""
    if share == 0 or share == 1:
        return f"{share * 100:.0f}%"
    if 0 < share < 0.0005:
        return "< 0.1%"
    if 0.9995 <= share < 1:
        return "> 99.9%"
    return f"{share * 100:.1f}%"


def glue(
    name: str, value, digits: int | None = 4, *, style: str | None = None, sig: int = 3
) -> None:
    r"""Glue a value for the prose (myst-nb's ``glue``, not displayed in the cell).

    Without ``style``: numpy and torch scalars become Python numbers (myst-nb's
    ``{glue:text}`` formats only those), and floats are rounded to ``digits`` decimals
    (None: not rounded), so that the stored value is stable to the digits the prose shows.

    With ``style`` (see :func:`format_number`): the value is glued as formatted Markdown,
    for the prose's ``{glue:md}`name``` ("8,192", "< 0.1%"), or ``{glue:md}`name:myst``` where it
    holds math (``"scientific"``: :math:`5.1 \times 10^{-16}`; without ``:myst`` myst-nb
    parses it as CommonMark and shows the dollars).

    >>> glue("clean_accuracy", torch.tensor(0.98765))  # doctest: +SKIP
    >>> glue("grid_points", 8192, style="number")  # doctest: +SKIP
    """
    from myst_nb import glue as myst_glue

    if style is not None:
        from IPython.display import Markdown

        myst_glue(name, Markdown(format_number(value, style, sig)), display=False)
        return
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and digits is not None:
        value = float(round(value, digits))
    myst_glue(name, value, display=False)
