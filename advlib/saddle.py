r"""The saddle point of adversarial training: inner maxima in closed form, and the gradient
of a maximum (Danskin's theorem), with what it takes to check it.

Adversarial training (Madry et al., 2018) minimises the robust loss

.. math::

    \mathcal{L}_{rob}(\theta) = \frac{1}{N} \sum_{i=1}^N
    \max_{\|x'_i - x_i\|_p \le \epsilon} \ell(f_\theta(x'_i), y_i),

and Danskin's theorem (Danskin, 1967) gives its directional derivatives,

.. math::

    \mathcal{L}_{rob}'(\theta; u) = \frac{1}{N} \sum_{i=1}^N \max_{x'_i \in S_i(\theta)}
    \langle \nabla_\theta \ell(f_\theta(x'_i), y_i), u \rangle,

with :math:`S_i(\theta)` the set of maximisers: where the maximiser is unique, the gradient
of the robust loss is the gradient of the standard loss at the maximisers.

- Logistic regression, labels :math:`y \in \{-1, +1\}`: :func:`logistic_margins`,
  :func:`logistic_loss`, the maximiser :func:`logistic_maximiser` and the closed-form
  :func:`robust_logistic_loss`.
- Danskin's formula over candidate maximisers: :func:`danskin_slope`.
- Networks, in parameter space: directions (:func:`unit_direction`,
  :func:`random_direction`), :func:`shifted` models, per-sample
  :func:`directional_derivative` by forward-mode autodiff, the finite-difference slope of the
  robust loss (:func:`robust_slope_fd`) and the first-order condition of a maximiser on the
  L2 sphere (:func:`tangential_residual`).
"""

from __future__ import annotations

import copy
from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jvp

from advlib.contracts import Attack
from advlib.norms import steepest_direction, steepest_value


def logistic_margins(
    theta: torch.Tensor, bias: torch.Tensor | float, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    r"""The margins :math:`y_i (\langle \theta, x_i \rangle + b)` of a linear score.

    Args:
        theta: weights, shape (d,). bias: a scalar.
        X: inputs, shape (..., N, d) (leading dimensions are kept). y: labels in
            :math:`\{-1, +1\}`, shape (N,).

    Returns:
        Shape (..., N).

    >>> logistic_margins(torch.tensor([1.0, -1.0]), 0.0, torch.tensor([[2.0, 1.0]]), torch.tensor([-1.0]))
    tensor([-1.])
    """
    return y * (X @ theta + bias)


def logistic_loss(
    theta: torch.Tensor,
    bias: torch.Tensor | float,
    X: torch.Tensor,
    y: torch.Tensor,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The logistic loss :math:`\log(1 + e^{-y_i f_\theta(x_i)})` of
    :math:`f_\theta(x) = \langle \theta, x \rangle + b`: the standard loss
    :math:`\mathcal{L}_{std}` at the points ``X``.

    Args:
        theta, bias, X, y: as in :func:`logistic_margins`.
        reduction: ``"mean"`` (a scalar) or ``"none"`` (shape (..., N)).
    """
    losses = F.softplus(-logistic_margins(theta, bias, X, y))
    if reduction == "none":
        return losses
    if reduction == "mean":
        return losses.mean()
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def logistic_maximiser(
    theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float, norm: str | float = "linf"
) -> torch.Tensor:
    r"""The worst point of each ball for a linear score: the margin decreases fastest along
    :math:`-y\,\eta^\star(\theta)`, so

    .. math:: x'_i = x_i - \epsilon\, y_i\, \eta^\star(\theta), \qquad
              y_i f_\theta(x'_i) = y_i f_\theta(x_i) - \epsilon \|\theta\|_q,

    with :math:`\eta^\star` the :func:`advlib.norms.steepest_direction` (for L∞,
    :math:`\operatorname{sign}(\theta)`). The maximiser is unique unless some
    :math:`\theta_j = 0` (L∞); this function then returns the one with :math:`x'_j = x_j`.
    The [0, 1] box is ignored. The result does not require grad (a constant for
    Danskin's theorem).

    Args:
        theta: weights, shape (d,). X: shape (N, d). y: labels in :math:`\{-1, +1\}`, (N,).
        eps: the budget. norm: the ball's p.

    Returns:
        Shape (N, d).
    """
    with torch.no_grad():
        direction = steepest_direction(theta[None], norm)
        return X - eps * y[:, None] * direction


def robust_logistic_loss(
    theta: torch.Tensor,
    bias: torch.Tensor | float,
    X: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    norm: str | float = "linf",
) -> torch.Tensor:
    r"""The robust logistic loss in closed form: the loss at :func:`logistic_maximiser`,

    .. math::

        \mathcal{L}_{rob}(\theta) = \frac{1}{N} \sum_{i=1}^N
        \log\big(1 + e^{-(y_i f_\theta(x_i) - \epsilon \|\theta\|_q)}\big),

    differentiable by autograd without any attack (the [0, 1] box is ignored). For L∞ it is
    the standard loss with an :math:`\epsilon \|\theta\|_1` penalty inside.

    Args:
        theta, bias, X, y: as in :func:`logistic_margins`. eps: the budget.
        norm: the ball's p (the penalty uses its dual q).

    Returns:
        A scalar.

    >>> theta = torch.tensor([1.0, -1.0])
    >>> robust_logistic_loss(theta, 0.0, torch.zeros(1, 2), torch.ones(1), eps=0.0)
    tensor(0.6931)
    """
    penalty = steepest_value(theta[None], norm, eps)
    return F.softplus(-(logistic_margins(theta, bias, X, y) - penalty)).mean()


def danskin_slope(
    per_sample_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    theta: torch.Tensor,
    maximisers: Sequence[torch.Tensor],
    direction: torch.Tensor,
) -> torch.Tensor:
    r"""Danskin's one-sided directional derivative of a robust loss, over given maximisers:

    .. math:: \mathcal{L}_{rob}'(\theta; u) = \frac{1}{N} \sum_{i=1}^N \max_k
              \langle \nabla_\theta \ell(\theta, x'^{(k)}_i), u \rangle .

    Where the loss is affine in the maximiser, the extreme points of the set of maximisers
    suffice (two of them for one free coordinate). The inner products are computed by
    forward-mode autodiff (``torch.func.jvp``).

    Args:
        per_sample_loss: ``(theta, X) -> losses`` of shape (N,).
        theta: the parameters. maximisers: K tensors, each holding one maximiser per
            sample, shape (N, ...). direction: u, shaped like ``theta``.

    Returns:
        A scalar.
    """
    slopes = [
        jvp(lambda t, X=X: per_sample_loss(t, X), (theta.detach(),), (direction,))[1]
        for X in maximisers
    ]
    return torch.stack(slopes).max(dim=0).values.mean()


def unit_direction(direction: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    r"""A direction in parameter space scaled to unit norm, jointly over all parameters:
    :math:`u / \|u\|_2` with :math:`\|u\|_2^2 = \sum_{\text{tensors}} \sum u_j^2`."""
    norm = torch.sqrt(sum((v**2).sum() for v in direction.values()))
    return {name: v / norm for name, v in direction.items()}


def random_direction(model: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    r"""A uniformly random unit direction in the parameter space of ``model`` (a standard
    Gaussian per parameter, then :func:`unit_direction`), keyed by parameter name."""
    return unit_direction(
        {
            name: torch.randn(p.shape, generator=generator, dtype=p.dtype)
            for name, p in model.named_parameters()
        }
    )


def shifted(model: nn.Module, direction: Mapping[str, torch.Tensor], t: float) -> nn.Module:
    r"""A copy of ``model`` with parameters :math:`\theta + t u` (``model`` is unchanged).

    Args:
        direction: u, a tensor per parameter name (as in ``model.named_parameters()``).
    """
    moved = copy.deepcopy(model)
    with torch.no_grad():
        for name, parameter in moved.named_parameters():
            parameter.add_(t * direction[name])
    return moved


def directional_derivative(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, direction: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    r"""Per sample, :math:`\langle \nabla_\theta \ell(f_\theta(x_i), y_i), u \rangle` for the
    cross-entropy :math:`\ell`, by forward-mode autodiff (one pass, no per-sample gradients).

    At the maximisers :math:`x'_i` this is Danskin's prediction of the slope of the robust
    loss along u; at the clean points, the slope of the standard loss.

    Args:
        x: inputs, shape (N, ...). y: labels, shape (N,). direction: u, per parameter name.

    Returns:
        Shape (N,).
    """
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss(p):
        return F.cross_entropy(functional_call(model, p, (x,)), y, reduction="none")

    return jvp(loss, (params,), (dict(direction),))[1]


def robust_slope_fd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attack: Attack,
    direction: Mapping[str, torch.Tensor],
    h: float,
) -> torch.Tensor:
    r"""The slope of the robust loss along u by central finite differences, solving the
    inner maximum again at each shifted parameter:

    .. math:: \frac{\ell(f_{\theta + hu}(A_{\theta + hu}(x_i)), y_i)
              - \ell(f_{\theta - hu}(A_{\theta - hu}(x_i)), y_i)}{2h},

    per sample, with :math:`A_\theta` the attack run on the model with parameters
    :math:`\theta` (an independent check of :func:`directional_derivative` at the
    maximisers, Danskin's prediction). Use double precision: the error is of order
    :math:`h^2` plus the attack's error over :math:`h`.

    Args:
        attack: ``(model, x, y) -> x_adv``, the inner solver (e.g. a strong PGD).
        direction: u, per parameter name. h: the step in parameter space.

    Returns:
        Shape (N,).
    """

    def robust_losses(moved: nn.Module) -> torch.Tensor:
        x_adv = attack(moved, x, y)
        with torch.no_grad():
            return F.cross_entropy(moved(x_adv), y, reduction="none")

    plus, minus = shifted(model, direction, h), shifted(model, direction, -h)
    return (robust_losses(plus) - robust_losses(minus)) / (2 * h)


def tangential_residual(
    model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    r"""How far a maximiser on the L2 sphere is from stationary: the tangential part of the
    input gradient, relative to its norm,

    .. math:: \frac{\|g - \langle g, n \rangle n\|_2}{\|g\|_2}, \qquad
              g = \nabla_x \ell(f(x'), y), \quad n = \frac{x' - x}{\|x' - x\|_2}.

    At a smooth maximum on the sphere :math:`\|x' - x\|_2 = \epsilon` the gradient is
    normal to it (first-order condition), so the residual is 0.

    Args:
        x: clean points, shape (N, ...). x_adv: the maximisers, same shape. y: labels (N,).

    Returns:
        Shape (N,), in [0, 1].
    """
    x_star = x_adv.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x_star), y, reduction="sum")
    (grad_x,) = torch.autograd.grad(loss, x_star)
    grad_x = grad_x.flatten(1)
    normal = F.normalize((x_adv - x).flatten(1), dim=1)
    tangential = grad_x - (grad_x * normal).sum(dim=1, keepdim=True) * normal
    return tangential.norm(dim=1) / grad_x.norm(dim=1).clamp_min(torch.finfo(x.dtype).tiny)
