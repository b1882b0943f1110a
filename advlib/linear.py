r"""Closed forms for linear models: what needs no attack when the score is linear.

For a linear score :math:`f_\theta(x) = \langle \theta, x \rangle + b` and a perturbation
bounded in :math:`\|\cdot\|_p` (dual exponent q, :math:`1/p + 1/q = 1`), the largest
change of the score is :math:`\epsilon \|\theta\|_q`
(:func:`advlib.norms.steepest_value`; Goodfellow et al., 2015, "Explaining and harnessing
adversarial examples"). Applied to each score difference :math:`f_k - f_j` of a multiclass
linear model, it gives the exact distance to the decision boundary,
:func:`robustness_radius`.

The functions take advlib's linear model (:func:`advlib.models.linear`: normalisation,
flatten, one ``nn.Linear``) and work in pixel space, where the attacks work.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from advlib.contracts import check_inputs
from advlib.models import Normalize, evaluated
from advlib.norms import dual_exponent


def pixel_weights(model: nn.Sequential) -> torch.Tensor:
    r"""The weights :math:`\theta` of advlib's linear model in pixel space, shape (K, d).

    The model computes :math:`W (x - \mu)/\sigma + b`, so its score of class k is
    :math:`\langle \theta_k, x \rangle + b'_k` with :math:`\theta = W / \sigma`.

    >>> pixel_weights(models.linear((1, 8, 8), 10)).shape  # doctest: +SKIP
    torch.Size([10, 64])
    """
    parts = list(model) if isinstance(model, nn.Sequential) else []
    if (
        len(parts) != 3
        or not isinstance(parts[0], Normalize)
        or not isinstance(parts[1], nn.Flatten)
        or not isinstance(parts[2], nn.Linear)
    ):
        raise ValueError(
            "model must be advlib's linear model (models.linear: Normalize, Flatten, Linear)"
        )
    return (parts[2].weight / parts[0].std).detach()


def robustness_radius(
    model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, norm: str | float = "linf"
) -> torch.Tensor:
    r"""The exact Lp distance from each input to the decision boundary of a linear model,
    ignoring the box [0, 1]:

    .. math::

        \epsilon^\star(x) = \min_{j \ne k} \frac{f_k(x) - f_j(x)}{\|\theta_k - \theta_j\|_q},
        \qquad \tfrac1p + \tfrac1q = 1,

    since :math:`f_k - f_j` is linear with weights :math:`\theta_k - \theta_j`, and a
    perturbation of Lp norm ε moves it by at most :math:`\epsilon\|\theta_k - \theta_j\|_q`.
    The box only hinders the attacker, so the share of points with
    :math:`\epsilon^\star(x) > \epsilon` is a lower bound on the robust accuracy of the
    model in the box. A misclassified point gets a radius :math:`\le 0`.

    Args:
        model: advlib's linear model (:func:`advlib.models.linear`), K classes.
        x: inputs, shape (N, ...). y: true labels, shape (N,).
        norm: the attack's norm p (``"linf"``, ``"l2"``, ``"l1"``).

    Returns:
        A tensor of shape (N,).

    >>> (robustness_radius(model, x, y, "linf") > 0.05).float().mean()  # doctest: +SKIP
    tensor(0.8056)
    """
    check_inputs(x, y)
    q = dual_exponent(norm)
    weights = pixel_weights(model)
    with torch.no_grad(), evaluated(model):
        logits = model(x)
    margins = logits.gather(1, y[:, None]) - logits  # f_k - f_j, shape (N, K)
    differences = weights[y][:, None, :] - weights[None, :, :]  # theta_k - theta_j, (N, K, d)
    if q == 1.0:
        duals = differences.abs().sum(-1)
    else:
        duals = torch.linalg.vector_norm(differences, ord=q, dim=-1)
    return (margins / duals).scatter(1, y[:, None], math.inf).min(dim=1).values
