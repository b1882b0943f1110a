r"""Gradient attacks: ascent on the attack objective inside the ε-ball.

Each attack approximately solves

.. math::

    \max_{\|x' - x\|_p \le \varepsilon,\; x' \in [0, 1]^d} \ell(f(x'), k),

the loss ℓ standing in for the talk's "make the score of the true class k small". FGSM and
FGM take one step along :func:`advlib.norms.steepest_direction`; PGD iterates that step and
:func:`advlib.norms.project`: one loop serves every norm.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from advlib.contracts import (
    check_classes,
    check_gradients_possible,
    check_inputs,
    check_positive_int,
    check_step_size,
)
from advlib.models import evaluated
from advlib.norms import (
    as_p,
    box_diameter,
    clip_to_box,
    per_sample,
    project,
    steepest_direction,
    uniform_in_ball,
)

LOSSES = ("ce", "margin")


def check_loss(loss: str) -> None:
    """Refuse an unknown attack objective."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be 'ce' or 'margin', got {loss!r}")


def attack_objective(
    logits: torch.Tensor, y: torch.Tensor, loss: str = "ce", targeted: bool = False
) -> torch.Tensor:
    r"""The per-sample quantity an attack maximises.

    - ``"ce"``: the cross-entropy :math:`\ell(f(x'), k)`, or its negative toward a target t;
    - ``"margin"`` (Carlini & Wagner): :math:`\max_{j \ne k} f_j(x') - f_k(x')`, positive
      exactly when the attack succeeds; targeted: :math:`f_t(x') - \max_{j \ne t} f_j(x')`.

    Args:
        logits: shape (N, K). y: the true labels, or the targets if ``targeted``.
    """
    check_loss(loss)
    if loss == "ce":
        ce = F.cross_entropy(logits, y, reduction="none")
        return -ce if targeted else ce
    label_logit = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.scatter(1, y[:, None], -math.inf).amax(dim=1)
    return label_logit - others if targeted else others - label_logit


def is_success(logits: torch.Tensor, y: torch.Tensor, targeted: bool = False) -> torch.Tensor:
    """Per sample: misclassified (untargeted), or classified as the target ``y`` (targeted)."""
    predicted = logits.argmax(dim=1)
    return predicted == y if targeted else predicted != y


def input_gradient(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "ce", targeted: bool = False
) -> torch.Tensor:
    r""":math:`\nabla_x` of the attack objective, per sample, in eval mode, without touching
    the parameters' ``.grad`` (the gradient is taken with respect to the input only). Works
    under ``torch.no_grad``; refused under ``torch.inference_mode``."""
    check_gradients_possible("input_gradient")
    with torch.enable_grad(), evaluated(model):
        x = x.detach().requires_grad_(True)
        logits = model(x)
        check_classes(logits, y)
        (grad,) = torch.autograd.grad(attack_objective(logits, y, loss, targeted).sum(), x)
    return grad


def fast_gradient(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | torch.Tensor,
    norm: str | float = "linf",
    loss: str = "ce",
    targeted: bool = False,
) -> torch.Tensor:
    r"""One step of size ε along the steepest-ascent direction of the objective.

    .. math:: x' = \operatorname{clip}_{[0,1]}\big(x + \varepsilon\, \eta^\star(\nabla_x \ell(f(x), k))\big)

    with :math:`\eta^\star` = :func:`~advlib.norms.steepest_direction`: the exact maximiser
    of the linearised objective over the ε-ball (exact for a linear model).
    """
    check_inputs(x, y, eps)
    check_loss(loss)
    grad = input_gradient(model, x, y, loss, targeted)
    eps_t = torch.as_tensor(eps, dtype=torch.float64).clamp(max=box_diameter(x[0].numel(), norm))
    step = per_sample(eps_t.to(x.dtype).to(x.device), x) * steepest_direction(grad, norm)
    return (x + clip_to_box(x, step)).detach()


def fgsm(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float | torch.Tensor, **options
) -> torch.Tensor:
    r"""Fast Gradient Sign Method (Goodfellow et al., 2014), the L∞ attack
    :math:`x' = x + \varepsilon \operatorname{sign}(\nabla_x \ell(f(x), k))`, clipped to [0, 1].

    Args:
        model: maps (N, ...) inputs in [0, 1] to (N, K) logits.
        x: inputs, shape (N, ...). y: true labels (or targets), shape (N,).
        eps: L∞ budget, a number or one per sample.
        **options: ``loss`` and ``targeted``, as in :func:`~advlib.attacks.pgd`.

    >>> x_adv = fgsm(model, x, y, eps=0.1)  # doctest: +SKIP
    """
    check_gradients_possible("fgsm")
    return fast_gradient(model, x, y, eps=eps, norm="linf", **options)


def fgm(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float | torch.Tensor, **options
) -> torch.Tensor:
    r"""Fast Gradient Method, the L2 attack
    :math:`x' = x + \varepsilon \nabla_x \ell / \|\nabla_x \ell\|_2`, clipped to [0, 1].
    Arguments as in :func:`fgsm`, ``eps`` an L2 budget.

    >>> x_adv = fgm(model, x, y, eps=0.5)  # doctest: +SKIP
    """
    check_gradients_possible("fgm")
    return fast_gradient(model, x, y, eps=eps, norm="l2", **options)


def _random_generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    """A generator on ``device`` seeded with ``seed``; None (torch's global one) for None."""
    return None if seed is None else torch.Generator(device=device).manual_seed(seed)


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | torch.Tensor,
    norm: str | float = "linf",
    steps: int = 40,
    step_size: float | None = None,
    random_start: bool = True,
    restarts: int = 1,
    targeted: bool = False,
    loss: str = "ce",
    keep_best: bool = True,
    seed: int | None = 0,
) -> torch.Tensor:
    r"""Projected gradient ascent on the attack objective (Madry et al., 2018).

    .. math::

        \delta_{t+1} = \Pi_{\|\delta\|_p \le \varepsilon}\big(\delta_t + \alpha\,
        \eta^\star(\nabla_\delta \ell(f(x + \delta_t), k))\big),
        \quad \text{then clipped so that } x + \delta_{t+1} \in [0, 1]^d,

    with :math:`\eta^\star` the steepest direction of :mod:`advlib.norms`. Each sample keeps
    the best iterate over the steps and the restarts: a successful one first (misclassified,
    or on the target), then the one of largest objective. Restarts are batched (one pass
    over ``restarts × N`` samples), each from its own random start. The model is evaluated
    in eval mode (:func:`advlib.models.evaluated`).

    Args:
        model: maps (N, ...) inputs in [0, 1] to (N, K) logits.
        x: inputs in [0, 1], shape (N, ...). y: true labels (or targets), shape (N,).
        eps: the budget ε, a number or one per sample (shape (N,)); a budget beyond the
            box's diameter (:func:`advlib.norms.box_diameter`) is the whole box.
        norm: ``"linf"``, ``"l2"`` or ``"l1"``.
        steps: number of gradient steps n (PGD-n), at least 1.
        step_size: α; default 2.5 ε / steps, so that the iterates can cross the ball.
        random_start: start from a uniform point of the ball rather than from x.
        restarts: number of random starts; the best result per sample is kept.
        targeted: move toward the class ``y`` instead of away from it.
        loss: ``"ce"`` (cross-entropy) or ``"margin"`` (Carlini–Wagner margin).
        keep_best: keep each sample's best iterate (default); ``False`` keeps the last
            one, as fast adversarial training does (Wong, Rice & Kolter, 2020).
        seed: seed of the random starts; ``None`` draws them from torch's global
            generator, so that successive calls (e.g. the batches of
            :func:`advlib.train.fit`, which seeds it) get fresh noise.

    Returns:
        ``x_adv``, shape of ``x``.

    >>> x_adv = pgd(model, x, y, eps=0.1, norm="linf", steps=40)  # doctest: +SKIP
    """
    p = as_p(norm)
    check_inputs(x, y, eps)
    check_positive_int(steps, "steps")
    check_positive_int(restarts, "restarts")
    check_loss(loss)
    if step_size is not None:
        check_step_size(step_size)
    check_gradients_possible("pgd")
    x = x.detach()
    with torch.enable_grad(), evaluated(model):
        n, device, diameter = x.shape[0], x.device, box_diameter(x[0].numel(), p)
        # beyond the diameter a ball holds the whole box: clamping keeps every number finite
        eps_t = torch.as_tensor(eps, dtype=torch.float64).clamp(max=diameter).to(x.dtype).to(device)
        eps_t = eps_t.expand(n).repeat(restarts)
        alpha = 2.5 * eps_t / steps if step_size is None else torch.full_like(eps_t, step_size)
        xs = x.repeat(restarts, *([1] * (x.dim() - 1)))
        alpha = per_sample(alpha.clamp(max=4 * diameter), xs)
        ys = y.repeat(restarts)

        generator = _random_generator(seed, device)
        if random_start:
            starts = [uniform_in_ball(x, p, eps_t[:n], generator) for _ in range(restarts)]
            delta = clip_to_box(xs, torch.cat(starts))
        else:
            delta = torch.zeros_like(xs)

        best_delta = delta.clone()
        best_success = torch.zeros(xs.shape[0], dtype=torch.bool, device=device)
        best_objective = torch.full((xs.shape[0],), -math.inf, dtype=x.dtype, device=device)
        for step in range(steps + 1):
            delta.requires_grad_(True)
            logits = model(xs + delta)
            if step == 0:
                check_classes(logits, ys)
            objective = attack_objective(logits, ys, loss, targeted)
            success = is_success(logits.detach(), ys, targeted)
            if keep_best:
                better = (success & ~best_success) | (
                    (success == best_success) & (objective.detach() > best_objective)
                )
            else:
                better = torch.ones_like(success)  # always the last iterate
            best_delta = torch.where(per_sample(better, xs), delta.detach(), best_delta)
            best_success = torch.where(better, success, best_success)
            best_objective = torch.where(better, objective.detach(), best_objective)
            if step == steps:
                break
            (grad,) = torch.autograd.grad(objective.sum(), delta)
            delta = delta.detach() + alpha * steepest_direction(grad, p)
            delta = clip_to_box(xs, project(delta, p, eps_t))

        success = best_success.view(restarts, n)
        objective = best_objective.view(restarts, n)
        # per sample: among the restarts, the successful ones first, then the largest objective
        objective = torch.where(success.any(dim=0) & ~success, -math.inf, objective)
        winner = objective.argmax(dim=0)
        chosen = best_delta.view(restarts, n, *x.shape[1:])[winner, torch.arange(n, device=device)]
        return (x + chosen).detach()
