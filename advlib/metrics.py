r"""Accuracy, standard risk and robust risk as measured by an attack.

.. math::

    \mathcal{R}_{std} = \mathbb{E}\,\mathbb{1}[g(x) \ne k], \qquad
    \mathcal{R}_{rob} = \mathbb{E} \max_{\|\eta\| \le \varepsilon} \mathbb{1}[g(x + \eta) \ne k], \qquad
    \mathcal{R}^A_{rob} = \mathbb{E}\,\mathbb{1}[g(A(x)) \ne k \text{ or } g(x) \ne k].

An attack finds some of the perturbations that exist, never more, so
:math:`\mathcal{R}_{std} \le \mathcal{R}^A_{rob} \le \mathcal{R}_{rob}`: a measured robust
risk is a lower bound on the true one. (η = 0 is in the ball, so a point misclassified
without attack counts as a robust error whatever the attack returns.)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from advlib.attacks.gradient import input_gradient
from advlib.contracts import Attack, AttackAt, check_images, check_inputs
from advlib.models import evaluated
from advlib.norms import dual_exponent, lp_norm
from advlib.progress import bar


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """g(x) = argmax_i f(x)_i, shape (N,), computed without gradients, in eval mode."""
    with torch.no_grad(), evaluated(model):
        return model(x).argmax(dim=1)


def confidence(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The predicted class and its softmax probability, each of shape (N,)."""
    with torch.no_grad(), evaluated(model):
        probabilities = model(x).softmax(dim=1)
    top, predicted = probabilities.max(dim=1)
    return predicted, top


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of samples with g(x) = y, as a Python float."""
    check_inputs(x, y)
    return float((predict(model, x) == y).float().mean())


def risk_std(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    r"""The standard risk :math:`\mathcal{R}_{std}`: the error rate on clean inputs."""
    return 1.0 - accuracy(model, x, y)


def robust_errors(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor
) -> torch.Tensor:
    r"""Per sample, the robust error indicator :math:`\mathbb{1}[g(x) \ne k \text{ or } g(x') \ne k]`
    at the attacked inputs ``x_adv`` = x′, shape (N,), bool. Its mean is
    :math:`\mathcal{R}^A_{rob}` (:func:`risk_rob`); a subset's mean is the robust risk of
    that subset.
    """
    check_inputs(x, y)
    check_images(x_adv, "x_adv")
    if x_adv.shape != x.shape:
        raise ValueError(
            f"x_adv must have the shape of x, {tuple(x.shape)}, got {tuple(x_adv.shape)}"
        )
    return (predict(model, x) != y) | (predict(model, x_adv) != y)


def risk_rob(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: Attack) -> float:
    r"""The robust risk measured by an attack, :math:`\mathcal{R}^A_{rob}` (a lower bound on
    :math:`\mathcal{R}_{rob}`): the share of samples misclassified either clean or after
    ``attack(model, x, y)``.

    >>> risk_rob(model, x, y, functools.partial(pgd, eps=0.1))  # doctest: +SKIP
    """
    return float(robust_errors(model, x, y, attack(model, x, y)).float().mean())


def robustness_curve(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps_values: Sequence[float],
    attack_at: AttackAt,
) -> list[float]:
    r""":math:`\mathcal{R}^A_{rob}` for each budget ε, measured by the attack ``attack_at(ε)``.

    At ε = 0 the value is :math:`\mathcal{R}_{std}`.

    >>> robustness_curve(model, x, y, [0.0, 0.05, 0.1], at_budget(pgd, steps=10))  # doctest: +SKIP
    [0.02, 0.31, 0.78]
    """
    check_inputs(x, y)
    risks = []
    for eps in bar(eps_values, desc="robustness curve", unit="eps"):  # silent under tests
        if eps == 0:
            risks.append(risk_std(model, x, y))
        else:
            risks.append(risk_rob(model, x, y, attack_at(eps)))
    return risks


def input_gradient_norm(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, norm: str | float = "linf"
) -> torch.Tensor:
    r"""The dual norm of the input gradient of the loss, per sample:
    :math:`\|\nabla_x \ell(f(x), k)\|_q`, for the attack norm p (1/p + 1/q = 1).

    To first order, an attack of budget ε in the norm p raises the loss by

    .. math:: \max_{\|\eta\|_p \le \varepsilon} \ell(f(x + \eta), k) - \ell(f(x), k)
              \approx \varepsilon \, \|\nabla_x \ell(f(x), k)\|_q, \qquad \tfrac1p + \tfrac1q = 1,

    so ``norm="linf"`` (q = 1) measures the first-order vulnerability to L∞ attacks and
    ``"l2"`` (q = 2) to L2 attacks (Simon-Gabriel et al., 2019, "First-order adversarial vulnerability of neural
    networks and input dimension"). ℓ is the cross-entropy; the model's parameters and their
    ``.grad`` are left untouched.

    Args:
        model: maps (N, ...) inputs in [0, 1] to (N, K) logits.
        x: inputs, shape (N, ...). y: true labels, shape (N,).
        norm: the attack's norm p (``"linf"``, ``"l2"``, ``"l1"``); the gradient is measured
            in its dual q.

    Returns:
        A tensor of shape (N,).

    >>> input_gradient_norm(model, x, y, "linf").mean()  # doctest: +SKIP
    tensor(3.9012)
    """
    check_inputs(x, y)
    return lp_norm(input_gradient(model, x, y), dual_exponent(norm)).detach()


def transfer_rate(
    target: nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor
) -> float:
    """Share of the points the target classifies correctly whose adversarial version,
    crafted on another model, it misclassifies (the black-box setting)."""
    check_inputs(x, y)
    check_images(x_adv, "x_adv")
    clean_correct = predict(target, x) == y
    if not clean_correct.any():
        return 0.0
    fooled = predict(target, x_adv) != y
    return float(fooled[clean_correct].float().mean())


def transfer_matrix(
    models: Mapping[str, nn.Module], x: torch.Tensor, y: torch.Tensor, attack: Attack
) -> torch.Tensor:
    r"""Transfer rates between models: entry (i, j) is the :func:`transfer_rate` on model j
    of the adversarial examples crafted on model i,

    .. math:: T_{ij} = \Pr\big[g_j(A_i(x)) \ne k \;\big|\; g_j(x) = k\big],
              \qquad A_i(x) = \texttt{attack}(f_i, x, k).

    The diagonal is the white-box success rate; off the diagonal the attacker never
    queries the target, the black-box setting of Szegedy et al. (2013) and Papernot,
    McDaniel & Goodfellow (2016). Each source is attacked once, on all of ``x``.

    Args:
        models: named models (sources and targets are the same list), in display order.
        x: inputs, shape (N, ...). y: labels, shape (N,).
        attack: ``attack(model, x, y) -> x_adv``, e.g. ``functools.partial(pgd, eps=0.2)``.

    Returns:
        A float tensor of shape (S, S), rows the sources, columns the targets.

    >>> transfer_matrix({"MLP": mlp, "CNN": cnn}, x, y, functools.partial(pgd, eps=0.2))  # doctest: +SKIP
    """
    check_inputs(x, y)
    targets = list(models.values())
    rows = []
    for source in targets:
        x_adv = attack(source, x, y)
        rows.append([transfer_rate(target, x, y, x_adv) for target in targets])
    return torch.tensor(rows, dtype=torch.float32).reshape(len(targets), len(targets))
