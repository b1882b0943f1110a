r"""Black-box attacks: attacks that query the model's scores and never its gradients.

A defence that masks gradients (rounding, randomness, saturated activations) stops a
gradient attack, not a search that only reads the scores. Carlini et al. (2019) list "a
gradient-free attack beats the gradient attack" as a sign that an evaluation is broken.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from advlib.attacks.gradient import attack_objective, budget
from advlib.contracts import check_classes, check_inputs, check_positive_int
from advlib.models import evaluated
from advlib.norms import as_p

#: The iterations (out of 10,000 queries) at which the Square attack halves p.
SQUARE_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def square_fraction(i: int, queries: int, p_init: float) -> float:
    r"""The share p of the image the Square attack changes at iteration ``i``: ``p_init``,
    halved at the iterations of :data:`SQUARE_HALVINGS`, rescaled from 10,000 queries to
    ``queries`` (Andriushchenko et al., 2020).

    >>> square_fraction(0, 10_000, 0.8), square_fraction(60, 10_000, 0.8)
    (0.8, 0.2)
    """
    rescaled = int(i / queries * 10_000)
    return p_init / 2 ** sum(rescaled > h for h in SQUARE_HALVINGS)


def _images(x: torch.Tensor) -> torch.Tensor:
    """x as images (N, C, H, W): a batch of vectors (N, d) is one row of d pixels."""
    return x if x.dim() == 4 else x.reshape(x.shape[0], 1, 1, -1)


def _window(n: int, height: int, width: int, side: int, generator, device) -> torch.Tensor:
    """Per sample, a random ``side`` × ``side`` window of an height × width image: a bool
    mask (N, 1, H, W)."""
    side_h, side_w = min(side, height), min(side, width)
    top = torch.randint(0, height - side_h + 1, (n, 1, 1, 1), generator=generator, device=device)
    left = torch.randint(0, width - side_w + 1, (n, 1, 1, 1), generator=generator, device=device)
    rows = torch.arange(height, device=device).view(1, 1, -1, 1)
    cols = torch.arange(width, device=device).view(1, 1, 1, -1)
    return (rows >= top) & (rows < top + side_h) & (cols >= left) & (cols < left + side_w)


def square(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | torch.Tensor,
    norm: str | float = "linf",
    queries: int = 5000,
    p_init: float = 0.8,
    seed: int = 0,
) -> torch.Tensor:
    r"""The Square attack (Andriushchenko, Croce, Flammarion & Hein, 2020), L∞: a random
    search that reads only the model's scores.

    It minimises the margin :math:`f_k(x') - \max_{j \ne k} f_j(x')`. The start puts
    vertical stripes of ±ε on the image (one random sign per column and channel). Each
    iteration draws a square window of side :math:`h = \max(1, \mathrm{round}(\sqrt{p H W}))`
    at a random place and sets the perturbation inside it, per channel, to ±ε with a random
    sign; the change is kept when it lowers the margin. p starts at ``p_init`` and halves on
    a fixed schedule (:func:`~advlib.attacks.blackbox.square_fraction`). A sample stops once misclassified. Every
    candidate is a vertex of the ε-cube clipped to the box, so the result is in the ball.

    Args:
        model: maps (N, C, H, W) (or (N, d)) inputs in [0, 1] to (N, K) scores.
        x, y: inputs and labels. eps: the L∞ budget, a number or one per sample.
        norm: ``"linf"`` (the only norm implemented here).
        queries: the query budget per sample, the start included.
        p_init: the initial share of the image changed (0.8, AutoAttack's standard value).
        seed: seed of the random search.

    Returns:
        ``x_adv``, shape of ``x``.

    >>> x_adv = square(model, x, y, eps=0.1, queries=1000)  # doctest: +SKIP
    """
    check_inputs(x, y, eps)
    check_positive_int(queries, "queries")
    if as_p(norm) != math.inf:
        raise ValueError(f"norm must be 'linf' for square (L2 is not implemented), got {norm!r}")
    if not 0 < p_init <= 1:
        raise ValueError(f"p_init must be in (0, 1], got {p_init}")
    images, n, device = _images(x.detach()), x.shape[0], x.device
    channels, height, width = images.shape[1:]
    eps_t = budget(eps, x, "linf").reshape(-1, 1, 1, 1)
    generator = torch.Generator(device=device).manual_seed(seed)

    def margin(candidates: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return -attack_objective(model(candidates.view(-1, *x.shape[1:])), labels, "margin")

    def signs(shape) -> torch.Tensor:
        return torch.randint(0, 2, shape, generator=generator, device=device).to(x.dtype) * 2 - 1

    with torch.no_grad(), evaluated(model):
        check_classes(model(x[:1]), y)  # (the clean forward pass is not counted as a query)
        delta = eps_t * signs((n, channels, 1, width))  # vertical stripes
        best = (images + delta).clamp(0.0, 1.0)
        best_margin = margin(best, y)
        for i in range(1, queries):
            active = (best_margin > 0).nonzero().squeeze(1)
            if len(active) == 0:
                break
            p = square_fraction(i, queries, p_init)
            side = max(1, round(math.sqrt(p * height * width)))
            window = _window(len(active), height, width, side, generator, device)
            fresh = eps_t[active] * signs((len(active), channels, 1, 1))
            delta = best[active] - images[active]
            candidate = (images[active] + torch.where(window, fresh, delta)).clamp(0.0, 1.0)
            candidate_margin = margin(candidate, y[active])
            improved = candidate_margin < best_margin[active]
            best[active[improved]] = candidate[improved]
            best_margin[active[improved]] = candidate_margin[improved]
    return best.view_as(x)
