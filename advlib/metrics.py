r"""Accuracy, standard risk and robust risk as measured by an attack.

.. math::

    \mathcal{R}_{std} = \mathbb{E}\,\mathbb{1}[g(x) \ne k],

    \mathcal{R}_{rob} = \mathbb{E} \max_{\|\eta\| \le \epsilon} \mathbb{1}[g(x + \eta) \ne k],

    \mathcal{R}^A_{rob} = \mathbb{E}\,\mathbb{1}[g(A(x)) \ne k \text{ or } g(x) \ne k].

An attack finds some of the perturbations that exist, never more, so
:math:`\mathcal{R}_{std} \le \mathcal{R}^A_{rob} \le \mathcal{R}_{rob}`: a measured robust
risk is a lower bound on the true one. (η = 0 is in the ball, so a point misclassified
without attack counts as a robust error whatever the attack returns.)
"""

from __future__ import annotations

import time
from typing import Mapping, NamedTuple, Sequence

import torch
from torch import nn

from advlib.attacks.gradient import attack_objective, input_gradient
from advlib.contracts import (
    Attack,
    AttackAt,
    check_classes,
    check_gradients_possible,
    check_images,
    check_inputs,
)
from advlib.models import evaluated
from advlib.norms import clip_to_box, dual_exponent, lp_norm
from advlib.progress import bar
from advlib.train import passes_through


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


def _predict_labelled(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """g(x) as :func:`predict`, after refusing labels ``y`` outside the model's classes."""
    with torch.no_grad(), evaluated(model):
        logits = model(x)
    check_classes(logits, y)
    return logits.argmax(dim=1)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of samples with g(x) = y, as a Python float."""
    check_inputs(x, y)
    return float((_predict_labelled(model, x, y) == y).float().mean())


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
    return (_predict_labelled(model, x, y) != y) | (predict(model, x_adv) != y)


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

    .. math:: \max_{\|\eta\|_p \le \epsilon} \ell(f(x + \eta), k) - \ell(f(x), k)
              \approx \epsilon \, \|\nabla_x \ell(f(x), k)\|_q, \qquad \tfrac1p + \tfrac1q = 1,

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
    check_gradients_possible("input_gradient_norm")
    return lp_norm(input_gradient(model, x, y), dual_exponent(norm)).detach()


def transfer_rate(
    target: nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor
) -> float:
    """Share of the points the target classifies correctly whose adversarial version,
    crafted on another model, it misclassifies (the black-box setting)."""
    check_inputs(x, y)
    check_images(x_adv, "x_adv")
    clean_correct = _predict_labelled(target, x, y) == y
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


def per_sample_loss(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "ce"
) -> torch.Tensor:
    r"""The objective an attack maximises, per sample, at the inputs ``x`` themselves
    (without gradients, in eval mode):

    - ``"ce"``: the cross-entropy :math:`\ell(f(x), k)`;
    - ``"margin"``: :math:`\max_{j \ne k} f_j(x) - f_k(x)`, negative exactly when x is
      correctly classified (its negative is the margin of the classifier at x).

    It is :func:`advlib.attacks.attack_objective` on the model's logits.

    Args:
        model: maps (N, ...) inputs in [0, 1] to (N, K) logits.
        x: inputs, shape (N, ...). y: true labels, shape (N,). loss: ``"ce"`` or ``"margin"``.

    Returns:
        A tensor of shape (N,).

    >>> per_sample_loss(model, x, y, loss="margin")  # doctest: +SKIP
    tensor([-12.3, -4.1, 0.8])
    """
    check_inputs(x, y)
    with torch.no_grad(), evaluated(model):
        return attack_objective(model(x), y, loss)


def loss_along(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    direction: torch.Tensor,
    distances: Sequence[float] | torch.Tensor,
    loss: str = "ce",
) -> torch.Tensor:
    r"""The attack objective along the segments from each input in a fixed direction,
    clipped to the image box:

    .. math:: L_{ti} = \ell\big(f(x_i + \operatorname{clip}(s_t \eta_i)), k_i\big),

    where :math:`\operatorname{clip}` keeps :math:`x_i + s_t \eta_i` inside
    :math:`[0, 1]^d` (:func:`advlib.norms.clip_to_box`) and ℓ is :func:`per_sample_loss`.
    With :math:`\eta = -\operatorname{sign}(\nabla_x m)` and :math:`s_t = t\epsilon`
    it follows the margin along FGSM's direction, the linearity test of Goodfellow et al.
    (2015, "Explaining and harnessing adversarial examples"); with random signs it probes
    random corners of the same :math:`L_\infty` ball.

    Args:
        model: maps (N, ...) inputs in [0, 1] to (N, K) logits.
        x: inputs, shape (N, ...). y: true labels, shape (N,).
        direction: η, shape (N, ...) (or broadcastable to it).
        distances: the :math:`s_t`, T numbers (a sequence or a tensor of shape (T,)).
        loss: ``"ce"`` or ``"margin"``, as in :func:`per_sample_loss`.

    Returns:
        A tensor of shape (T, N): row t holds the objective at distance :math:`s_t`.

    >>> margins = -loss_along(model, x, y, -sign, torch.linspace(0, 0.1, 11), "margin")  # doctest: +SKIP
    """
    check_inputs(x, y)
    return torch.stack(
        [per_sample_loss(model, x + clip_to_box(x, s * direction), y, loss) for s in distances]
    )


class AttackCost(NamedTuple):
    """What :func:`attack_cost` measured: the attack's output and its cost per input."""

    x_adv: torch.Tensor
    forward: float
    backward: float
    seconds: float


def attack_cost(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: Attack) -> AttackCost:
    r"""Run ``attack(model, x, y)`` and measure its cost: the forward and the backward passes
    through ``model`` *per input* (samples that went through the model, divided by N), and
    the seconds it took.

    The pass counts do not depend on the machine: FGSM and FGM need 1 forward and
    1 backward pass per input, PGD with n steps :math:`n + 1` forward passes (it also
    evaluates its last iterate) and n backward ones, and r random restarts multiply both
    by r, whether the restarts run one after the other or batched. The seconds depend on
    the machine. (:func:`advlib.train.count_passes` counts the same way, for a training
    step.)

    The counting is :func:`advlib.train.passes_through`.

    Args:
        model: the attacked model. x: inputs, shape (N, ...). y: labels, shape (N,).
        attack: an attack bound to its budget, ``(model, x, y) -> x_adv``.

    Returns:
        An :class:`AttackCost`: ``x_adv``, ``forward``, ``backward`` (floats, per input)
        and ``seconds``.

    >>> cost = attack_cost(model, x, y, functools.partial(pgd, eps=0.1, steps=10))  # doctest: +SKIP
    >>> cost.forward, cost.backward  # doctest: +SKIP
    (11.0, 10.0)
    """
    check_inputs(x, y)
    with passes_through(model) as counts:
        start = time.perf_counter()
        x_adv = attack(model, x, y)
        seconds = time.perf_counter() - start
    n = x.shape[0]
    return AttackCost(x_adv, counts["forward"] / n, counts["backward"] / n, seconds)


def relu_kink_distance(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    r"""Per sample, the distance in input space to the nearest ReLU kink, estimated on the
    linear piece that holds the point:

    .. math:: \min_j \frac{|a_j(x)|}{\|\nabla_x a_j(x)\|_2},

    over the pre-activations :math:`a_j` of every ReLU of the network (the inputs of its
    ``nn.ReLU`` layers). On the piece, :math:`a_j` is affine, so this is the distance to the
    hyperplane where unit j switches; it is exact when no other unit switches first. A
    point near a kink is where the activation pattern, hence :math:`\nabla_x \ell` and
    :math:`\nabla_\theta \ell`, may jump.

    Args:
        model: an ``nn.Sequential`` with ``nn.ReLU`` layers, e.g. :func:`advlib.models.mlp`.
        x: inputs, shape (N, ...).

    Returns:
        Shape (N,).

    >>> relu_kink_distance(models.mlp((2,), 2), torch.rand(5, 2)).shape  # doctest: +SKIP
    torch.Size([5])
    """
    if not any(isinstance(layer, nn.ReLU) for layer in model):
        raise ValueError("model must be an nn.Sequential with nn.ReLU layers")

    def preactivations(v: torch.Tensor) -> torch.Tensor:  # of one input, all ReLUs
        out, inputs = v[None], []
        for layer in model:
            if isinstance(layer, nn.ReLU):
                inputs.append(out.flatten(1))
            out = layer(out)
        return torch.cat(inputs, dim=1)[0]

    with torch.no_grad():
        jacobian = torch.func.vmap(torch.func.jacrev(preactivations))(x)
        a = torch.func.vmap(preactivations)(x)
    slopes = jacobian.flatten(2).norm(dim=2).clamp_min(1e-12)
    return (a.abs() / slopes).min(dim=1).values


def accuracy_difference_se(
    a: float | Sequence[float], b: float | Sequence[float], n: int | None = None
) -> float:
    r"""The standard error of the difference :math:`a - b` of two accuracies.

    Two accuracies each measured on ``n`` independent points (floats, binomial counts):

    .. math:: \mathrm{se} = \sqrt{\frac{a(1 - a)}{n} + \frac{b(1 - b)}{n}} .

    Two lists of accuracies of repeated runs (models trained under different seeds), for the
    difference of their means (Welch's standard error, sample variances :math:`s^2`):

    .. math:: \mathrm{se} = \sqrt{\frac{s_a^2}{n_a} + \frac{s_b^2}{n_b}} .

    A chapter calls a difference within about two standard errors noise.

    Args:
        a, b: two accuracies in [0, 1] with ``n``, or two lists of at least two accuracies
            without it.
        n: the number of points each accuracy is measured on.

    >>> round(accuracy_difference_se(0.9, 0.9, n=1000), 4)
    0.0134
    >>> round(accuracy_difference_se([0.2, 0.3], [0.5, 0.5]), 4)
    0.05
    """
    import math
    import statistics

    if n is None:
        if isinstance(a, (int, float)) or isinstance(b, (int, float)):
            raise ValueError("n is required for two single accuracies (lists: without n)")
        if len(a) < 2 or len(b) < 2:
            raise ValueError(f"a and b need at least two runs each, got {len(a)} and {len(b)}")
        return math.sqrt(statistics.stdev(a) ** 2 / len(a) + statistics.stdev(b) ** 2 / len(b))
    if not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        raise ValueError("with n, a and b must be single accuracies")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return math.sqrt(a * (1 - a) / n + b * (1 - b) / n)


def loglog_slope(x: Sequence[float], values: Sequence[float]) -> float:
    r"""The exponent a of a power law :math:`v \approx c\, x^a`, fitted by least squares on
    :math:`\log v = a \log x + \log c`: how a measurement grows with, e.g., the input
    dimension (a = 1/2 for :math:`\sqrt d`).

    Args:
        x, values: positive numbers, the same count (at least two).

    >>> round(loglog_slope([1, 4, 16], [2, 4, 8]), 6)
    0.5
    """
    import numpy as np

    x, values = np.asarray(x, dtype=float), np.asarray(values, dtype=float)
    if x.shape != values.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(
            f"x and values must be two lists of the same length >= 2, got {x.shape} and {values.shape}"
        )
    if (x <= 0).any() or (values <= 0).any():
        raise ValueError("x and values must be positive (their logarithms are fitted)")
    return float(np.polyfit(np.log(x), np.log(values), 1)[0])


class Trace(NamedTuple):
    """What :func:`objective_trace` recorded: the curve, and the attack's output."""

    values: list[float]
    x_adv: torch.Tensor


def objective_trace(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack) -> Trace:
    r"""An attack as an optimiser: the mean over the samples of the best objective found so
    far, after each of its iterations (t = 0 is the start),

    .. math:: L_t = \frac1N \sum_i \max_{s \le t} \ell\big(f(x_i^{(s)}), k_i\big).

    ``attack`` is an attack that reports its progress through a ``callback`` argument, such
    as ``functools.partial(pgd, eps=0.1, steps=100)`` or
    ``functools.partial(apgd, eps=0.1, steps=100)`` (:func:`advlib.attacks.pgd`,
    :func:`advlib.attacks.apgd`).

    Returns:
        :class:`Trace` ``(values, x_adv)``: ``steps + 1`` numbers, and the points the attack
        returned, so that one run gives both the curve and the robust accuracy.

    >>> values, x_adv = objective_trace(model, x, y, functools.partial(apgd, eps=0.1))  # doctest: +SKIP
    """
    check_inputs(x, y)
    values: list[float] = []
    x_adv = attack(model, x, y, callback=lambda step, best: values.append(float(best.mean())))
    return Trace(values, x_adv)
