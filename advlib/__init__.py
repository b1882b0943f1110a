r"""advlib: the small PyTorch library behind the executable book on adversarial examples.

Data flows one way, floor by floor:

- :mod:`advlib.contracts` (the attack type, input checks) and :mod:`advlib.norms` (the Lp
  geometry);
- :mod:`advlib.data` and :mod:`advlib.models`;
- :mod:`advlib.train` (one ``fit`` loop and its cache) and :mod:`advlib.attacks`
  (``gradient``, ``search``, ``adaptive``);
- :mod:`advlib.metrics` and :mod:`advlib.checks`;
- :mod:`advlib.zoo` (the book's trained models) and :mod:`advlib.features`;
- :mod:`advlib.plot` and :mod:`advlib.book` (notebook set-up and glue).

This package face holds only the book's seed and thread count (from the environment)
and :func:`seeded`; importing it pulls in neither torch's plotting nor matplotlib.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

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


def book_threads() -> int:
    """The number of torch threads the book uses: ``$ADVLIB_THREADS`` when set, else 1."""
    return _environment_integer("ADVLIB_THREADS", 1, 1)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Inside the block, torch's global generators (CPU and every CUDA device) are seeded
    with ``seed``; after it, they are back where they were."""
    import torch

    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)  # seeds the CUDA generators too
        yield
