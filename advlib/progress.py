r"""Progress bars for advlib's long loops: shown to a person, silent under tests and builds.

Training (:func:`advlib.train.train_epochs`, one step per epoch), the bisection of
:func:`advlib.attacks.minimal_perturbation` and the budgets of
:func:`advlib.metrics.robustness_curve` wrap their loops in :func:`bar`, a
``tqdm.auto`` bar (a widget in Jupyter, text in a terminal). Whether a bar is shown is
decided, in this order, by

1. ``advlib.progress.SHOW = True`` or ``False``, set from Python;
2. the environment variable ``ADVLIB_PROGRESS``: ``1`` shows bars, ``0`` hides them;
3. otherwise, automatically: bars are shown to a person, that is in a terminal (standard
   error is a terminal), in a notebook opened in Jupyter (its kernel was started by a
   Jupyter server, which sets ``JPY_SESSION_NAME``) and on Colab; they are hidden under
   pytest and in notebooks executed by a program (nbval, ``jupyter-book build``,
   ``jupyter execute``: nbclient starts those kernels without ``JPY_SESSION_NAME``).

The stored outputs of the book's notebooks must stay byte for byte the same for nbval,
and the HTML book must not show bars, hence the quiet default wherever nobody watches.
The root ``conftest.py`` also sets ``ADVLIB_PROGRESS=0`` for the notebooks' kernels.

>>> import advlib.progress
>>> advlib.progress.SHOW = False  # never show bars in this session
"""

from __future__ import annotations

import os
import sys
from typing import Iterable

SHOW: bool | None = None
"""``True``/``False`` forces bars on/off; ``None`` (the default) leaves the choice to
``ADVLIB_PROGRESS`` and then to :func:`watched`."""


def watched() -> bool:
    """Whether a person is probably watching this process (the automatic choice)."""
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    if "google.colab" in sys.modules:
        return True
    if "ipykernel" in sys.modules:  # a Jupyter kernel: started by a Jupyter server, or by nbclient?
        return bool(os.environ.get("JPY_SESSION_NAME"))
    return sys.stderr is not None and sys.stderr.isatty()


def enabled() -> bool:
    """Whether :func:`bar` shows a bar now: :data:`SHOW`, else ``ADVLIB_PROGRESS``, else
    :func:`watched`."""
    if SHOW is not None:
        return SHOW
    setting = os.environ.get("ADVLIB_PROGRESS", "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return watched()


def bar(
    iterable: Iterable, *, desc: str | None = None, total: int | None = None, unit: str = "it"
) -> Iterable:
    """``iterable`` wrapped in a ``tqdm.auto`` progress bar when :func:`enabled`, else
    ``iterable`` itself (then nothing is printed and tqdm is not even imported).

    >>> for epoch in bar(range(3), desc="training", unit="epoch"):  # doctest: +SKIP
    ...     pass
    """
    if not enabled():
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is pinned in requirements.txt, but advlib runs without it
        return iterable
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=False)
