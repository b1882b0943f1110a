r"""advlib: the small PyTorch library behind the executable book on adversarial examples.

Data flows one way: :mod:`advlib.data` → :mod:`advlib.models` / :mod:`advlib.train` →
:mod:`advlib.attacks` → :mod:`advlib.metrics` → :mod:`advlib.plot`, with the norms'
geometry in :mod:`advlib.norms`.
"""

from __future__ import annotations

import random

__version__ = "0.1.0"


def setup_notebook(seed: int = 0) -> None:
    """Make a notebook deterministic and quiet: seed Python, NumPy and torch, use one torch
    thread (the book's timings are for one core, and results do not depend on the thread
    count), and apply the plot style of :func:`advlib.plot.style`.

    >>> import advlib
    >>> advlib.setup_notebook(seed=0)
    """
    import numpy as np
    import torch

    from advlib.plot import style

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    style()
