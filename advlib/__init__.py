r"""advlib: the small PyTorch library behind the executable book on adversarial examples.

Data flows one way: :mod:`advlib.data` → :mod:`advlib.models` / :mod:`advlib.train` →
:mod:`advlib.attacks` → :mod:`advlib.metrics` → :mod:`advlib.plot`, with the norms'
geometry in :mod:`advlib.norms`.
"""

from __future__ import annotations

import os
import random

__version__ = "0.1.0"


def _environment_integer(name: str, default: int, minimum: int) -> int:
    """The integer in environment variable ``name`` (``default`` when unset or empty)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def book_seed() -> int:
    """The seed of the book's random choices: ``$ADVLIB_SEED`` when set, else 0.

    The stored outputs of the notebooks are those of seed 0; every claim of the text is
    an assertion that must hold for seeds 0 to 4 (``tools/variants.py`` checks it).
    """
    return _environment_integer("ADVLIB_SEED", 0, 0)


def setup_notebook(seed: int | None = None) -> int:
    """Make a notebook reproducible and quiet, and return its seed.

    Seeds Python, NumPy and torch with ``seed`` (default ``advlib.book_seed()``, i.e.
    ``$ADVLIB_SEED`` or 0), sets torch's thread count (``$ADVLIB_THREADS``, default 1: the
    book's timings are for one core) and applies the plot style of
    :func:`advlib.plot.style`. A chapter passes the returned seed to every function that
    makes a random choice (data splits, initial weights, training order, attack starts).

    Results are reproducible for a given seed, thread count and CPU; they are *not*
    bit-identical across thread counts or CPUs (torch's kernels sum in different orders),
    which is why the notebooks' numbers are compared within declared tolerances.

    >>> import advlib
    >>> SEED = advlib.setup_notebook()
    """
    import numpy as np
    import torch

    from advlib.plot import style

    seed = book_seed() if seed is None else seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(_environment_integer("ADVLIB_THREADS", 1, 1))
    style()
    return seed
