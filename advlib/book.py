r"""Notebook set-up and glue: what every chapter's first cell and its glued numbers use.

A chapter starts with ``SEED = book.setup_notebook()`` and glues the numbers its prose
quotes with :func:`glue` (Python numbers, rounded, not displayed in the cell).
"""

from __future__ import annotations

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


def glue(name: str, value, digits: int | None = 4) -> None:
    """Glue a value for the prose (myst-nb's ``glue``, not displayed in the cell).

    numpy and torch scalars become Python numbers (myst-nb's ``{glue:text}`` formats only
    those), and floats are rounded to ``digits`` decimals (None: not rounded), so that the
    stored value is stable to the digits the prose shows.

    >>> glue("clean_accuracy", torch.tensor(0.98765))  # doctest: +SKIP
    """
    from myst_nb import glue as myst_glue

    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and digits is not None:
        value = float(round(value, digits))
    myst_glue(name, value, display=False)
