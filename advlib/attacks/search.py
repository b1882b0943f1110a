r"""Search attacks: budgets found by bisection, exhaustive grids, and nearest neighbours.

- :func:`~advlib.attacks.minimal_perturbation` estimates the robustness radius (the talk's eq. (1)) by a
  bisection on ε over :func:`~advlib.attacks.pgd`: an upper bound on the true radius;
- :func:`~advlib.attacks.dense_search` solves the bounded attack by brute force in two dimensions;
- :func:`~advlib.attacks.nearest_misclassified` searches a finite pool of real points (on-manifold).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from advlib.attacks.gradient import attack_objective, pgd
from advlib.contracts import (
    check_budget,
    check_classes,
    check_gradients_possible,
    check_images,
    check_inputs,
    check_labels,
    check_positive_int,
)
from advlib.models import evaluated
from advlib.norms import as_p, box_diameter, lp_norm, per_sample
from advlib.progress import bar


class MinimalPerturbation(NamedTuple):
    """Result of :func:`~advlib.attacks.minimal_perturbation`: the adversarial inputs and, per sample, the
    norm of the perturbation found (``inf`` where none was found, 0 where x is already
    misclassified)."""

    x_adv: torch.Tensor
    radius: torch.Tensor


def minimal_perturbation(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: str | float = "linf",
    eps_max: float | None = None,
    search_steps: int = 12,
    steps: int = 20,
    restarts: int = 1,
    random_start: bool = True,
    seed: int = 0,
) -> MinimalPerturbation:
    r"""The smallest perturbation found that changes the prediction: the talk's eq. (1),

    .. math:: \epsilon^\star(x) = \min\{\|\eta\|_p : g(x + \eta) \ne k\},

    estimated by a per-sample bisection on ε over PGD: an ε where PGD succeeds bounds the
    radius from above, one where it fails is taken as a lower bound. The returned radius is
    therefore an **upper bound** on the true robustness radius, tight up to the attack's
    strength and the bisection's resolution ``eps_max / 2**search_steps``.

    Args:
        norm: ``"linf"``, ``"l2"`` or ``"l1"``.
        eps_max: the largest budget tried; default the diameter of the box [0, 1]^d in
            that norm (1 for L∞, √d for L2, d for L1).
        search_steps: number of bisection steps.
        steps, restarts, random_start, seed: passed to :func:`~advlib.attacks.pgd` (margin loss, which is
            positive exactly at success).

    Returns:
        :class:`MinimalPerturbation` ``(x_adv, radius)``, ``radius`` of shape (N,).
    """
    p = as_p(norm)
    check_inputs(x, y)
    if eps_max is not None and not isinstance(eps_max, (int, float)):
        raise ValueError(f"eps_max must be a number, got {eps_max!r}")
    check_budget(eps_max if eps_max is not None else 0.0, x.shape[0], "eps_max")
    for value, name in ((search_steps, "search_steps"), (steps, "steps"), (restarts, "restarts")):
        check_positive_int(value, name)
    check_gradients_possible("minimal_perturbation")
    if eps_max is None:
        eps_max = box_diameter(x[0].numel(), p)
    with torch.no_grad(), evaluated(model):
        logits = model(x)
    check_classes(logits, y)
    already_wrong = logits.argmax(dim=1) != y

    def attack(eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_adv = pgd(
            model,
            x,
            y,
            eps=eps,
            norm=p,
            steps=steps,
            restarts=restarts,
            random_start=random_start,
            loss="margin",
            seed=seed,
        )
        with torch.no_grad(), evaluated(model):
            return x_adv, model(x_adv).argmax(dim=1) != y

    low = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    high = torch.full((x.shape[0],), float(eps_max), dtype=x.dtype, device=x.device)
    best, found = attack(high)
    for _ in bar(range(search_steps), desc="radius search"):  # silent under tests
        middle = (low + high) / 2
        x_adv, success = attack(middle)
        success = success & found
        best = torch.where(per_sample(success, x), x_adv, best)
        high = torch.where(success, middle, high)
        low = torch.where(success, low, middle)
    best = torch.where(per_sample(already_wrong, x), x, best)
    radius = lp_norm(best - x, p)
    radius = torch.where(found | already_wrong, radius, torch.full_like(radius, math.inf))
    best = torch.where(per_sample(found | already_wrong, x), best, x)
    return MinimalPerturbation(best.detach(), radius)


def _ball_grid(p: float, resolution: int, dtype: torch.dtype) -> torch.Tensor:
    """Offsets covering the unit Lp ball of the plane, shape (M, 2): the points of a
    ``resolution``² grid on [-1, 1]² that lie in the ball, plus, for L2, points on the circle."""
    side = torch.linspace(-1.0, 1.0, resolution, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(side, side, indexing="xy"), dim=-1).reshape(-1, 2)
    if p == math.inf:
        return grid.to(dtype)
    inside = grid[lp_norm(grid, p) <= 1.0 + 1e-9]
    if p == 2.0:
        angles = torch.linspace(0.0, 2 * math.pi, 4 * resolution + 1, dtype=torch.float64)[:-1]
        inside = torch.cat([inside, torch.stack([angles.cos(), angles.sin()], dim=1)])
    return inside.to(dtype)


def dense_search(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | torch.Tensor,
    norm: str | float = "linf",
    resolution: int = 61,
    chunk: int = 2**16,
) -> torch.Tensor:
    r"""The bounded attack solved by brute force in two dimensions: try every point of a
    dense grid in the ε-ball and keep the worst.

    .. math::

        A(x) = \arg\max_{x' \in G_\epsilon(x)} \Big(\max_{j \ne k} f_j(x') - f_k(x')\Big),
        \qquad G_\epsilon(x) = \{x + \epsilon u : u \in G\} \cap [0, 1]^2,

    where :math:`G` holds the points of a ``resolution`` × ``resolution`` grid on
    :math:`[-1, 1]^2` that lie in the unit Lp ball (for L2, also ``4 * resolution`` points
    on its circle). The margin is positive exactly when :math:`g(x') \ne k`, so
    :math:`g(A(x)) \ne k` as soon as one grid point of the ball is misclassified. With an odd
    ``resolution`` the centre :math:`\eta = 0` is on the grid. Unlike a gradient attack,
    this is the exact maximiser of the talk's eq. (5) inside the ball up to the grid's
    spacing :math:`2\epsilon / (\text{resolution} - 1)`: it misses only misclassified
    regions thinner than that. Possible in 2D only (the grid grows like resolution^d).

    Args:
        model: maps (N, 2) inputs in [0, 1]² to (N, K) logits.
        x: points, shape (N, 2). y: their labels, shape (N,).
        eps: the budget, a number or one per sample (shape (N,)).
        norm: ``"l2"`` (disc), ``"linf"`` (square) or ``"l1"`` (diamond).
        resolution: grid points per side, at least 2 (odd keeps the centre on the grid).
        chunk: largest number of inputs given to the model at once (memory only).

    Returns:
        ``x_adv``, shape (N, 2), with ``‖x_adv − x‖_p ≤ ε`` and ``x_adv`` in [0, 1]².

    >>> x_adv = dense_search(model, X, y, eps=0.1, norm="linf")  # doctest: +SKIP
    >>> risk_rob(model, X, y, functools.partial(dense_search, eps=0.1))  # doctest: +SKIP
    """
    p = as_p(norm)
    check_inputs(x, y, eps)
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(
            f"x must have shape (N, 2) (dense search is for 2D inputs), got {tuple(x.shape)}"
        )
    check_positive_int(resolution, "resolution", minimum=2)
    check_positive_int(chunk, "chunk")
    x = x.detach()
    offsets = _ball_grid(p, resolution, x.dtype).to(x.device)
    eps_t = torch.as_tensor(eps, dtype=x.dtype, device=x.device).expand(x.shape[0])
    best = x.clone()
    rows = max(1, chunk // len(offsets))
    with torch.no_grad(), evaluated(model):
        check_classes(model(x[:1]), y)
        for start in range(0, x.shape[0], rows):
            part = slice(start, start + rows)
            best[part] = _best_on_grid(model, x[part], y[part], eps_t[part], offsets, chunk)
    return best


def _best_on_grid(model, x, y, eps, offsets, chunk) -> torch.Tensor:
    """Per row of ``x`` (n, 2), the grid point of largest margin, giving the model at most
    ``chunk`` points at once (at least one row's worth of offsets in pieces)."""
    best = x.clone()
    best_margin = torch.full((len(x),), -math.inf, dtype=x.dtype, device=x.device)
    for first in range(0, len(offsets), chunk):
        piece = offsets[first : first + chunk]
        candidates = (x[:, None, :] + eps[:, None, None] * piece[None]).clamp(0.0, 1.0)
        logits = model(candidates.reshape(-1, 2))
        margin = attack_objective(logits, y.repeat_interleave(len(piece)), "margin")
        margin, winner = margin.view(len(x), len(piece)).max(dim=1)
        better = margin > best_margin  # strict: the first maximiser wins, as in one piece
        best[better] = candidates[torch.arange(len(x), device=x.device), winner][better]
        best_margin = torch.where(better, margin, best_margin)
    return best


def nearest_misclassified(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    pool: torch.Tensor,
    pool_y: torch.Tensor,
    *,
    norm: str | float = "linf",
    block: int = 2**22,
) -> MinimalPerturbation:
    r"""An exhaustive search restricted to a set: the closest point of ``pool`` that has the
    same true class as x and that the model misclassifies.

    .. math::

        x' = \arg\min \{\|x' - x\|_p : x' \in P,\ k(x') = k,\ g(x') \ne k\}.

    With ``pool`` a dense sample of the data manifold (e.g. :func:`advlib.data.manifold`
    with many points and no noise), this is an *on-manifold* adversarial example in the
    sense of Stutz, Hein & Schiele (2019): a real input of class k, near x, that the model
    gets wrong, i.e. a test error. Its radius can only be compared with the one of an
    unrestricted attack (:func:`~advlib.attacks.minimal_perturbation`), which may leave the manifold.

    Args:
        model: maps (N, ...) inputs to (N, K) logits.
        x: points, shape (N, ...). y: their labels, shape (N,).
        pool: the candidates, shape (M, ...) (same shape per sample as x).
        pool_y: the candidates' true labels, shape (M,).
        norm: the norm of the distance.
        block: largest number of distances held at once (memory only).

    Returns:
        :class:`MinimalPerturbation` ``(x_adv, radius)``: the nearest such candidate and its
        distance; ``radius`` is 0 (and ``x_adv`` is x) where x itself is misclassified and
        ``inf`` (``x_adv`` is x) where no candidate qualifies.

    >>> on = nearest_misclassified(model, test.X, test.y, dense.X, dense.y)  # doctest: +SKIP
    """
    p = as_p(norm)
    check_inputs(x, y)
    check_images(pool, "pool")
    check_labels(pool_y, pool.shape[0], "pool_y")
    if pool.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"pool must hold points shaped like x's, got {tuple(pool.shape[1:])} and {tuple(x.shape[1:])}"
        )
    with torch.no_grad(), evaluated(model):
        logits, pool_logits = model(x), model(pool)
    check_classes(logits, y)
    check_classes(pool_logits, pool_y, "pool_y")
    wrong = pool_logits.argmax(dim=1) != pool_y
    radius = torch.empty(x.shape[0], dtype=torch.float64, device=x.device)
    index = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    rows = max(1, block // pool.shape[0])  # a (rows, M) block of distances at a time
    for start in range(0, x.shape[0], rows):
        part = slice(start, start + rows)
        distance = torch.cdist(x[part].flatten(1).double(), pool.flatten(1).double(), p=p)
        excluded = ~wrong[None, :] | (y[part, None] != pool_y[None, :])
        radius[part], index[part] = distance.masked_fill(excluded, math.inf).min(dim=1)
    found = radius.isfinite()
    x_adv = torch.where(per_sample(found, x), pool[index], x)
    already_wrong = logits.argmax(dim=1) != y
    x_adv = torch.where(per_sample(already_wrong, x), x, x_adv)
    radius = torch.where(already_wrong, torch.zeros_like(radius), radius)
    return MinimalPerturbation(x_adv.detach(), radius.to(x.dtype))
