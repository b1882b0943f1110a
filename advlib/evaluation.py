r"""The book's final word on a robust accuracy: an ensemble of attacks, worst case per point.

A robustness number is only as good as the attack behind it (:math:`\mathcal{R}^A_{rob}
\le \mathcal{R}_{rob}` for every attack A). :func:`worst_case` follows AutoAttack (Croce &
Hein, 2020) in spirit: attacks of different kinds run one after the other, each on the
points the earlier ones left robust, and a point counts as broken when any of them breaks
it. The gradient attacks (APGD with the cross-entropy, then APGD-T with the targeted DLR
loss) are strong on honest models; the score-based Square attack needs no gradient, so
a defence that masks gradients does not stop it.
"""

from __future__ import annotations

import torch
from torch import nn

from advlib.attacks.blackbox import square
from advlib.attacks.gradient import apgd, apgd_targeted
from advlib.contracts import (
    check_classes,
    check_gradients_possible,
    check_inputs,
    check_positive_int,
)
from advlib.metrics import predict
from advlib.models import evaluated
from advlib.norms import as_p


def worst_case(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | torch.Tensor,
    norm: str | float = "linf",
    seed: int = 0,
    steps: int = 100,
    queries: int = 5000,
) -> torch.Tensor:
    r"""The worst point found per sample by APGD-CE, then APGD-T, then Square.

    Each stage attacks only the points still classified correctly, so
    :math:`\mathcal{R}^{\text{ensemble}}_{rob} \ge \mathcal{R}^{\text{APGD-CE}}_{rob}`, and a
    point already broken keeps the point that broke it. APGD-T runs when the model has at
    least 4 classes (it targets the 9 classes ranked highest after the true one, or all of
    them). Square runs in the same norm (L∞ or L2), with ``queries`` queries per point.

    Args:
        model: maps inputs in [0, 1] to logits. x, y: inputs and labels.
        eps, norm: the budget and its norm (``"linf"`` or ``"l2"``).
        seed: seed of every stage's random choices.
        steps: iterations of each APGD run (AutoAttack's standard: 100).
        queries: Square's query budget per point (AutoAttack's standard: 5,000).

    Returns:
        ``x_adv``, shape of ``x``.

    >>> accuracy = 1 - risk_rob(model, x, y, functools.partial(worst_case, eps=0.1))  # doctest: +SKIP
    """
    check_inputs(x, y, eps)
    check_positive_int(steps, "steps")
    check_positive_int(queries, "queries")
    check_gradients_possible("worst_case")
    p = as_p(norm)
    if p not in (float("inf"), 2.0):
        raise ValueError(f"norm must be 'linf' or 'l2' for worst_case, got {norm!r}")
    with torch.no_grad(), evaluated(model):
        logits = model(x)
    check_classes(logits, y)
    num_classes, robust = logits.shape[1], logits.argmax(dim=1) == y
    best = x.detach().clone()
    stages = [lambda xs, ys, e: apgd(model, xs, ys, eps=e, norm=norm, steps=steps, seed=seed)]
    if num_classes >= 4:
        stages.append(
            lambda xs, ys, e: apgd_targeted(model, xs, ys, eps=e, norm=norm, steps=steps, seed=seed)
        )
    stages.append(
        lambda xs, ys, e: square(model, xs, ys, eps=e, norm=p, queries=queries, seed=seed)
    )
    eps_t = torch.as_tensor(eps, dtype=torch.float64, device=x.device).expand(x.shape[0])
    for stage in stages:
        left = robust.nonzero().squeeze(1)
        if len(left) == 0:
            break
        x_adv = stage(x[left], y[left], eps_t[left])
        best[left] = x_adv
        robust[left] = predict(model, x_adv) == y[left]
    return best


def robust_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float | torch.Tensor, **options
) -> float:
    r""":math:`1 - \mathcal{R}^{\text{ensemble}}_{rob}`: the share of points that
    :func:`worst_case` (with ``options``) does not break, clean errors counted as broken."""
    x_adv = worst_case(model, x, y, eps=eps, **options)
    return float(((predict(model, x) == y) & (predict(model, x_adv) == y)).float().mean())
