r"""Gradient attacks: ascent on the attack objective inside the ε-ball.

Each attack approximately solves

.. math::

    \max_{\|x' - x\|_p \le \epsilon,\; x' \in [0, 1]^d} \ell(f(x'), k),

the loss ℓ standing in for the talk's "make the score of the true class k small". FGSM and
FGM take one step along :func:`advlib.norms.steepest_direction`; PGD iterates that step and
:func:`advlib.norms.project`: one loop serves every norm.
"""

from __future__ import annotations

import math
from typing import Callable

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


def budget(eps: float | torch.Tensor, x: torch.Tensor, p: str | float) -> torch.Tensor:
    """ε per sample, shape (N,), in the dtype and on the device of ``x``, clamped at the box's
    diameter in the norm p: a larger ball holds the whole box, and clamping keeps every
    step finite for a huge ε."""
    eps_t = torch.as_tensor(eps, dtype=torch.float64).clamp(max=box_diameter(x[0].numel(), p))
    return eps_t.to(x.dtype).to(x.device).expand(x.shape[0])


def improves(
    success: torch.Tensor, value: torch.Tensor, best_success: torch.Tensor, best_value: torch.Tensor
) -> torch.Tensor:
    """Per sample, whether a point beats the best one so far: a successful point first, then
    the larger objective."""
    return (success & ~best_success) | ((success == best_success) & (value > best_value))


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

    .. math:: x' = \operatorname{clip}_{[0,1]}\big(x + \epsilon\, \eta^\star(\nabla_x \ell(f(x), k))\big)

    with :math:`\eta^\star` = :func:`~advlib.norms.steepest_direction`: the exact maximiser
    of the linearised objective over the ε-ball (exact for a linear model).
    """
    check_inputs(x, y, eps)
    check_loss(loss)
    grad = input_gradient(model, x, y, loss, targeted)
    step = per_sample(budget(eps, x, norm), x) * steepest_direction(grad, norm)
    return (x + clip_to_box(x, step)).detach()


def fgsm(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float | torch.Tensor, **options
) -> torch.Tensor:
    r"""Fast Gradient Sign Method (Goodfellow et al., 2014), the L∞ attack
    :math:`x' = x + \epsilon \operatorname{sign}(\nabla_x \ell(f(x), k))`, clipped to [0, 1].

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
    :math:`x' = x + \epsilon \nabla_x \ell / \|\nabla_x \ell\|_2`, clipped to [0, 1].
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
    callback: Callable[[int, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    r"""Projected gradient ascent on the attack objective (Madry et al., 2018).

    .. math::

        \delta_{t+1} = \Pi_{\|\delta\|_p \le \epsilon}\big(\delta_t + \alpha\,
        \eta^\star(\nabla_\delta \ell(f(x + \delta_t), k))\big),

    then clipped so that :math:`x + \delta_{t+1} \in [0, 1]^d`, with :math:`\eta^\star` the steepest direction of :mod:`advlib.norms`. Each sample keeps
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
        callback: called as ``callback(t, best)`` after each evaluation t = 0..steps, with
            the best objective so far per sample and restart (shape (restarts × N,)), e.g.
            to plot the objective over the iterations.

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
        eps_t = budget(eps, x, p).repeat(restarts)
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
                better = improves(success, objective.detach(), best_success, best_objective)
            else:
                better = torch.ones_like(success)  # always the last iterate
            best_delta = torch.where(per_sample(better, xs), delta.detach(), best_delta)
            best_success = torch.where(better, success, best_success)
            best_objective = torch.where(better, objective.detach(), best_objective)
            if callback is not None:
                callback(step, best_objective)
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


def apgd_checkpoints(steps: int) -> list[int]:
    r"""The iterations at which APGD may halve its step size (Croce & Hein, 2020, sec. 3.2):
    :math:`w_j = \lceil p_j N \rceil` with :math:`p_0 = 0`, :math:`p_1 = 0.22` and
    :math:`p_{j+1} = p_j + \max(p_j - p_{j-1} - 0.03, 0.06)`, for N = ``steps``.

    >>> apgd_checkpoints(100)
    [0, 22, 41, 57, 70, 80, 87, 93, 99]
    """
    fractions = [0.0, 0.22]
    while fractions[-1] + max(fractions[-1] - fractions[-2] - 0.03, 0.06) <= 1:
        fractions.append(fractions[-1] + max(fractions[-1] - fractions[-2] - 0.03, 0.06))
    return sorted({math.ceil(round(f * steps, 9)) for f in fractions})


def dlr_loss(
    logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None = None
) -> torch.Tensor:
    r"""The Difference of Logits Ratio loss (Croce & Hein, 2020), per sample, to maximise.

    With :math:`z_{\pi_1} \ge z_{\pi_2} \ge \dots` the sorted logits, untargeted:

    .. math:: \mathrm{DLR}(z, y) = -\frac{z_y - \max_{i \ne y} z_i}{z_{\pi_1} - z_{\pi_3}};

    targeted toward t:

    .. math:: \mathrm{DLR}_t(z, y) = -\frac{z_y - z_t}{z_{\pi_1} - (z_{\pi_3} + z_{\pi_4})/2}

    (both denominators plus :math:`10^{-12}`). Shifting or rescaling the logits leaves them
    unchanged, so a model cannot hide behind tiny or huge logits as it can with the
    cross-entropy. The untargeted loss is positive exactly when x is misclassified.
    Needs at least 3 classes (4 targeted).
    """
    ordered = logits.sort(dim=1, descending=True).values
    label_logit = logits.gather(1, y[:, None]).squeeze(1)
    if target is None:
        others = logits.scatter(1, y[:, None], -math.inf).amax(dim=1)
        return -(label_logit - others) / (ordered[:, 0] - ordered[:, 2] + 1e-12)
    target_logit = logits.gather(1, target[:, None]).squeeze(1)
    scale = ordered[:, 0] - (ordered[:, 2] + ordered[:, 3]) / 2 + 1e-12
    return -(label_logit - target_logit) / scale


def _check_apgd(model, x, y, loss, target, p) -> None:
    """The checks of :func:`apgd` that need the model's number of classes."""
    if p not in (2.0, math.inf):
        raise ValueError(f"norm must be 'linf' or 'l2' for apgd, got {p}")
    if loss not in ("ce", "dlr"):
        raise ValueError(f"loss must be 'ce' or 'dlr', got {loss!r}")
    with torch.no_grad(), evaluated(model):
        logits = model(x[:1])
    check_classes(logits, y)
    if target is not None:
        check_classes(logits, target, "target")
    if loss == "dlr" and logits.shape[1] < (3 if target is None else 4):
        raise ValueError(
            f"the DLR loss needs at least 3 classes (4 targeted), got {logits.shape[1]}"
        )


def apgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | torch.Tensor,
    norm: str | float = "linf",
    steps: int = 100,
    loss: str = "ce",
    target: torch.Tensor | None = None,
    momentum: float = 0.75,
    rho: float = 0.75,
    seed: int | None = 0,
    callback: Callable[[int, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    r"""Auto-PGD (Croce & Hein, 2020): PGD with momentum and a step size that halves, per
    sample, when progress stalls.

    With :math:`P` the projection on the ε-ball intersected with the box, η the step size
    (initially 2ε), α = ``momentum`` (1 at the first step) and :math:`\eta^\star` the
    steepest direction of :mod:`advlib.norms`,

    .. math::

        z^{(k+1)} = P\big(x^{(k)} + \eta\, \eta^\star(\nabla f(x^{(k)}))\big),

        x^{(k+1)} = P\big(x^{(k)} + \alpha (z^{(k+1)} - x^{(k)})
        + (1 - \alpha)(x^{(k)} - x^{(k-1)})\big).

    At each checkpoint :math:`w_j` (:func:`~advlib.attacks.gradient.apgd_checkpoints`) a sample's step size halves,
    and it restarts from its best point, when (1) its objective rose in fewer than a share
    ρ of the steps since :math:`w_{j-1}`, or (2) neither its step size nor its best
    objective changed since :math:`w_{j-1}`. Each sample keeps its best point: a
    successful one first, then the one of largest objective. One random start (uniform in
    the ball).

    Args:
        model, x, y, eps: as in :func:`pgd`. norm: ``"linf"`` or ``"l2"``.
        steps: iterations N (one forward and one backward pass each).
        loss: ``"ce"`` (cross-entropy) or ``"dlr"`` (:func:`dlr_loss`); with ``target``
            (classes, shape (N,)), the targeted DLR loss toward them.
        momentum: α. rho: ρ. seed: seed of the random start (None: torch's global one).
        callback: called as ``callback(k, best)`` after each evaluation k = 0..steps, with
            the best objective so far per sample (shape (N,)).

    Returns:
        ``x_adv``, shape of ``x``.

    >>> x_adv = apgd(model, x, y, eps=0.1, loss="dlr")  # doctest: +SKIP
    """
    p = as_p(norm)
    check_inputs(x, y, eps)
    check_positive_int(steps, "steps")
    check_gradients_possible("apgd")
    _check_apgd(model, x, y, loss, target, p)
    x = x.detach()
    eps_t = budget(eps, x, p)
    goal, targeted = (y, False) if target is None else (target, True)

    def into_ball(point: torch.Tensor) -> torch.Tensor:
        return x + clip_to_box(x, project(point - x, p, eps_t))

    def evaluate(point: torch.Tensor):
        point = point.detach().requires_grad_(True)
        logits = model(point)
        value = attack_objective(logits, y) if loss == "ce" else dlr_loss(logits, y, target)
        (grad,) = torch.autograd.grad(value.sum(), point)
        return value.detach(), grad, is_success(logits.detach(), goal, targeted)

    with torch.enable_grad(), evaluated(model):
        generator = _random_generator(seed, x.device)
        current = x + clip_to_box(x, uniform_in_ball(x, p, eps_t, generator))
        value, grad, success = evaluate(current)
        best, best_value, best_success, best_grad = current, value, success, grad
        if callback is not None:
            callback(0, best_value)
        previous, eta = current, 2 * eps_t
        checkpoints, last = apgd_checkpoints(steps)[1:], 0
        rises, eta_last, best_last = torch.zeros_like(eta), eta, best_value
        for k in range(1, steps + 1):
            z = into_ball(current + per_sample(eta, x) * steepest_direction(grad, p))
            alpha = 1.0 if k == 1 else momentum
            step = alpha * (z - current) + (1 - alpha) * (current - previous)
            previous, current = current, into_ball(current + step)
            new_value, grad, success = evaluate(current)
            rises += (new_value > value).to(rises.dtype)
            value = new_value
            better = improves(success, value, best_success, best_value)
            best = torch.where(per_sample(better, x), current, best)
            best_grad = torch.where(per_sample(better, x), grad, best_grad)
            best_value = torch.where(better, value, best_value)
            best_success = best_success | success
            if callback is not None:
                callback(k, best_value)
            if k in checkpoints:
                halve = (rises < rho * (k - last)) | ((eta == eta_last) & (best_value == best_last))
                eta = torch.where(halve, eta / 2, eta)
                back = per_sample(halve, x)  # restart from the best point, without momentum
                current = previous = torch.where(back, best, current)
                grad = torch.where(back, best_grad, grad)
                value = torch.where(halve, best_value, value)
                last, rises, eta_last, best_last = k, torch.zeros_like(rises), eta, best_value
    return best.detach()


def apgd_targeted(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | torch.Tensor,
    norm: str | float = "linf",
    steps: int = 100,
    targets: int = 9,
    seed: int | None = 0,
) -> torch.Tensor:
    r"""APGD-T (Croce & Hein, 2020): :func:`apgd` with the targeted DLR loss toward each of
    the ``targets`` classes the model ranks highest after the true one at x, in turn, each
    run on the points the earlier runs left correctly classified. Its goal is untargeted:
    a point counts as broken in any wrong class. Needs at least 4 classes.

    Returns:
        ``x_adv``: per sample, the first misclassified point found, else the last run's
        best point.
    """
    check_inputs(x, y, eps)
    check_positive_int(targets, "targets")
    with torch.no_grad(), evaluated(model):
        logits = model(x)
    check_classes(logits, y)
    ranked = logits.scatter(1, y[:, None], -math.inf).argsort(dim=1, descending=True)
    eps_t = torch.as_tensor(eps, dtype=torch.float64, device=x.device).expand(x.shape[0])
    best = x.detach().clone()
    fooled = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    for rank in range(min(targets, logits.shape[1] - 1)):
        left = (~fooled).nonzero().squeeze(1)
        if len(left) == 0:
            break
        best[left] = apgd(
            model,
            x[left],
            y[left],
            eps=eps_t[left],
            norm=norm,
            steps=steps,
            loss="dlr",
            target=ranked[left, rank],
            seed=seed,
        )
        with torch.no_grad(), evaluated(model):
            fooled[left] = model(best[left]).argmax(dim=1) != y[left]
    return best
