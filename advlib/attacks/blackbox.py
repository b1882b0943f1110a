r"""Black-box attacks: attacks that query the model's scores and never its gradients.

A defence that masks gradients (rounding, randomness, saturated activations) stops a
gradient attack, not a search that only reads the scores. Carlini et al. (2019) list "a
gradient-free attack beats the gradient attack" as a sign that an evaluation is broken
(:func:`advlib.checks.gradient_free_gap` runs that check).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from advlib.attacks.gradient import attack_objective, budget, improves, is_success
from advlib.contracts import check_classes, check_inputs, check_positive_int
from advlib.models import evaluated
from advlib.norms import as_p, lp_norm

#: The iterations (out of 10,000 queries) at which the Square attack halves p.
SQUARE_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)

#: A norm below which a perturbation counts as zero (it is not divided by).
_TINY = 1e-12


def square_fraction(i: int, queries: int, p_init: float) -> float:
    r"""The share p of the image the Square attack changes at iteration ``i``: ``p_init``,
    halved at the iterations of :data:`SQUARE_HALVINGS`, rescaled from 10,000 queries to
    ``queries`` (Andriushchenko et al., 2020).

    >>> square_fraction(0, 10_000, 0.8), square_fraction(60, 10_000, 0.8)
    (0.8, 0.2)
    """
    rescaled = int(i / queries * 10_000)
    return p_init / 2 ** sum(rescaled > h for h in SQUARE_HALVINGS)


def square_side(p: float, height: int, width: int, norm: str | float = "linf") -> int:
    r"""The side h of the Square attack's window for a share p of an height × width image:
    :math:`h = \max(1, \mathrm{round}(\sqrt{p H W}))` for L∞; for L2 at least 3 and odd, so
    that each half of the window's pattern (:func:`~advlib.attacks.blackbox.square_pattern`)
    has a centre.

    >>> square_side(0.8, 8, 8), square_side(0.1, 8, 8, "l2"), square_side(0.4, 8, 8, "l2")
    (7, 3, 5)
    """
    side = max(1, round(math.sqrt(p * height * width)))
    if as_p(norm) == 2.0:
        side = max(3, side)
        side += 1 - side % 2
    return side


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


def _random_signs(shape, generator, like: torch.Tensor) -> torch.Tensor:
    """Independent ±1 of ``shape``, in the dtype and on the device of ``like``."""
    draws = torch.randint(0, 2, shape, generator=generator, device=like.device)
    return draws.to(like.dtype) * 2 - 1


def nested_squares(rows: int, cols: int, *, device=None) -> torch.Tensor:
    r"""The bump :math:`\eta^{(r, c)}` of the L2 Square attack (Andriushchenko et al., 2020,
    eq. 2): squares nested around the centre of an r × c rectangle, the one at Chebyshev
    distance j from the centre weighing :math:`1/(j+1)^2`,

    .. math:: \eta_{a,b} = \sum_{j=d(a,b)}^{n} \frac{1}{(j+1)^2},
              \qquad n = \max(\lfloor r/2 \rfloor, \lfloor c/2 \rfloor),

    .. math:: d(a, b) = \max(|a - \lfloor r/2 \rfloor|, |b - \lfloor c/2 \rfloor|).

    >>> nested_squares(1, 3).tolist()
    [[0.25, 1.25, 0.25]]
    """
    n = max(rows, cols) // 2
    weights = 1.0 / torch.arange(1, n + 2, dtype=torch.float64, device=device) ** 2
    tails = weights.flip(0).cumsum(0).flip(0)  # tails[j] = sum of the weights from j on
    a = (torch.arange(rows, device=device) - rows // 2).abs().view(-1, 1)
    b = (torch.arange(cols, device=device) - cols // 2).abs().view(1, -1)
    return tails[torch.maximum(a, b)]


def square_pattern(rows: int, cols: int, *, device=None) -> torch.Tensor:
    r"""The L2 Square attack's meta-pattern on an r × c window, of unit L2 norm: the window
    cut in two halves along its rows, :func:`~advlib.attacks.blackbox.nested_squares` in the top
    half and minus them
    in the bottom one,

    .. math:: \eta = [\,\eta^{(\lfloor r/2 \rfloor, c)};\; -\eta^{(r - \lfloor r/2 \rfloor, c)}\,]
              \,/\, \|\cdot\|_2 .

    Moving mass along it raises one half of the window and lowers the other, which changes
    a convolution's features more than a constant square of the same norm would.
    """
    top = nested_squares(rows // 2, cols, device=device)
    bottom = -nested_squares(rows - rows // 2, cols, device=device)
    pattern = torch.cat([top, bottom])
    return pattern / pattern.norm()


def _to_sphere(delta: torch.Tensor, eps_t: torch.Tensor) -> torch.Tensor:
    """Each perturbation rescaled to L2 norm ε (a zero one stays zero)."""
    return delta * (eps_t / lp_norm(delta, 2).clamp_min(_TINY).view(-1, 1, 1, 1))


def _channel_norms(delta: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each sample's each channel, shape (N, C, 1, 1)."""
    return delta.square().sum(dim=(2, 3), keepdim=True).sqrt()


def _linf_start(images: torch.Tensor, eps_t: torch.Tensor, generator) -> torch.Tensor:
    """Vertical stripes of ±ε: one random sign per column and channel."""
    n, channels, _, width = images.shape
    return eps_t * _random_signs((n, channels, 1, width), generator, images)


def _linf_candidate(delta: torch.Tensor, eps_t: torch.Tensor, side: int, generator):
    """The perturbation set to ±ε (one sign per channel) inside a random window."""
    n, channels, height, width = delta.shape
    window = _window(n, height, width, side, generator, delta.device)
    fresh = eps_t * _random_signs((n, channels, 1, 1), generator, delta)
    return torch.where(window, fresh, delta)


def _l2_start(images: torch.Tensor, eps_t: torch.Tensor, generator) -> torch.Tensor:
    """A grid of meta-patterns of side s = max(1, min(H, W) // 5), centred, each with a
    random sign per channel, rescaled to L2 norm ε."""
    n, channels, height, width = images.shape
    s = max(1, min(height, width) // 5)
    rows, cols = height // s, width // s
    signs = _random_signs((n, channels, rows, 1, cols, 1), generator, images)
    pattern = square_pattern(s, s, device=images.device).to(images.dtype).view(1, 1, 1, s, 1, s)
    tiles = (signs * pattern).reshape(n, channels, rows * s, cols * s)
    top, left = (height - rows * s) // 2, (width - cols * s) // 2
    grid = F.pad(tiles, (left, width - cols * s - left, top, height - rows * s - top))
    return _to_sphere(grid, eps_t)


def _l2_candidate(delta: torch.Tensor, eps_t: torch.Tensor, side: int, generator):
    r"""Algorithm 3 of Andriushchenko et al. (2020): per channel, the mass of two random
    windows W1 and W2 (and the budget the box left unused) moves into W1, along the old
    perturbation of W1 plus the meta-pattern with a random sign; W2 is emptied; the result
    is rescaled to the sphere of radius ε."""
    n, channels, height, width = delta.shape
    first = _window(n, height, width, side, generator, delta.device)
    second = _window(n, height, width, side, generator, delta.device)
    rows, cols = min(side, height), min(side, width)
    upright = square_pattern(rows, cols, device=delta.device).to(delta.dtype)
    lying = square_pattern(cols, rows, device=delta.device).to(delta.dtype).T
    turned = torch.randint(0, 2, (n, 1, 1, 1), generator=generator, device=delta.device) == 1
    signs = _random_signs((n, channels, 1, 1), generator, delta)
    pattern = signs * torch.where(turned, lying, upright)  # (N, C, rows, cols), unit per channel
    placed = torch.zeros_like(delta).masked_scatter(first.expand_as(delta), pattern)

    unused = (eps_t.square() - lp_norm(delta, 2).square().view(-1, 1, 1, 1)).clamp_min(0)
    old = delta * first
    direction = placed + old / _channel_norms(old).clamp_min(_TINY)
    available = (_channel_norms(delta * (first | second)).square() + unused / channels).sqrt()
    moved = direction / _channel_norms(direction).clamp_min(_TINY) * available
    emptied = torch.where(second, torch.zeros_like(delta), delta)
    return _to_sphere(torch.where(first, moved, emptied), eps_t)


#: Per norm, the Square attack's start and its candidate update.
SQUARE_UPDATES = {math.inf: (_linf_start, _linf_candidate), 2.0: (_l2_start, _l2_candidate)}


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
    callback: Callable[[int, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    r"""The Square attack (Andriushchenko, Croce, Flammarion & Hein, 2020), L∞ and L2: a
    random search that reads only the model's scores.

    It minimises the margin :math:`f_k(x') - \max_{j \ne k} f_j(x')`. Each iteration
    changes the perturbation inside a square window at a random place and keeps the change
    when it lowers the margin (``improves``: a success first, then a lower margin), so each
    sample's margin never increases; a sample stops once misclassified. The window's side
    (:func:`~advlib.attacks.blackbox.square_side`) follows a share p of the image that
    starts at ``p_init`` and halves on a fixed schedule
    (:func:`~advlib.attacks.blackbox.square_fraction`).

    - L∞: the start puts vertical stripes of ±ε on the image (one random sign per column
      and channel); an iteration sets the window, per channel, to ±ε with a random sign.
      Every candidate is a vertex of the ε-cube clipped to the box.
    - L2 (the paper's Algorithm 3): the start is a grid of meta-patterns
      (:func:`~advlib.attacks.blackbox.square_pattern`) with random signs, rescaled to
      :math:`\|\delta\|_2 = \epsilon`.
      An iteration draws two windows W1 and W2; per channel i it moves the mass of
      :math:`W_1 \cup W_2` and a share of the unused budget
      :math:`\epsilon^2 - \|\delta\|_2^2` into W1,

      .. math:: u_i = \rho\,\eta + \frac{\delta_{W_1,i}}{\|\delta_{W_1,i}\|_2},

      .. math:: \delta_{W_1, i} \leftarrow \frac{u_i}{\|u_i\|_2}
                \sqrt{\|\delta_{W_1 \cup W_2,i}\|_2^2
                + \tfrac{1}{C}(\epsilon^2 - \|\delta\|_2^2)},

      and :math:`\delta_{W_2 \setminus W_1, i} \leftarrow 0`, with η the meta-pattern
      (randomly turned by 90°) and ρ = ±1; the perturbation is rescaled to the sphere of
      radius ε, then clipped to the box.

    Args:
        model: maps (N, C, H, W) (or (N, d)) inputs in [0, 1] to (N, K) scores.
        x, y: inputs and labels. eps: the budget, a number or one per sample; a budget
            beyond the box's diameter (:func:`advlib.norms.box_diameter`) is the whole box.
        norm: ``"linf"`` or ``"l2"``.
        queries: the query budget per sample, the start included.
        p_init: the initial share of the image changed (0.8, AutoAttack's standard value).
        seed: seed of the random search.
        callback: called as ``callback(i, best)`` after query i = 0, 1, ... (until every
            sample is misclassified) with the best margin objective
            :math:`\max_{j \ne k} f_j(x') - f_k(x')` so far per sample, shape (N,).

    Returns:
        ``x_adv``, shape of ``x``.

    >>> x_adv = square(model, x, y, eps=0.5, norm="l2", queries=1000)  # doctest: +SKIP
    """
    check_inputs(x, y, eps)
    check_positive_int(queries, "queries")
    p = as_p(norm)
    if p not in (math.inf, 2.0):
        raise ValueError(f"norm must be 'linf' or 'l2' for square, got {norm!r}")
    if not 0 < p_init <= 1:
        raise ValueError(f"p_init must be in (0, 1], got {p_init}")
    start, propose = SQUARE_UPDATES[p]
    images = _images(x.detach())
    height, width = images.shape[2:]
    eps_t = budget(eps, x, p).reshape(-1, 1, 1, 1)
    generator = torch.Generator(device=x.device).manual_seed(seed)

    def evaluate(candidates: torch.Tensor, labels: torch.Tensor):
        logits = model(candidates.view(-1, *x.shape[1:]))
        return is_success(logits, labels), attack_objective(logits, labels, "margin")

    with torch.no_grad(), evaluated(model):
        check_classes(model(x[:1]), y)  # (the clean forward pass is not counted as a query)
        best = (images + start(images, eps_t, generator)).clamp(0.0, 1.0)
        best_success, best_value = evaluate(best, y)
        if callback is not None:
            callback(0, best_value)
        for i in range(1, queries):
            active = (best_value < 0).nonzero().squeeze(1)  # the margin is still positive
            if len(active) == 0:
                break
            side = square_side(square_fraction(i, queries, p_init), height, width, p)
            delta = propose(best[active] - images[active], eps_t[active], side, generator)
            candidate = (images[active] + delta).clamp(0.0, 1.0)
            success, value = evaluate(candidate, y[active])
            improved = improves(success, value, best_success[active], best_value[active])
            chosen = active[improved]
            best[chosen] = candidate[improved]
            best_success[chosen], best_value[chosen] = success[improved], value[improved]
            if callback is not None:
                callback(i, best_value)
    return best.view_as(x)
