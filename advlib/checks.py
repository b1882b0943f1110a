r"""Sanity checks of a robustness evaluation (Carlini et al., 2019, "On evaluating
adversarial robustness").

A measured robust accuracy :math:`1 - \mathcal{R}^A_{rob}` is only an upper bound on the
true one: the attack A may simply have failed. Some failures leave fingerprints that a few
cheap experiments reveal. :func:`sanity_checks` runs them and reports each one:

- ``monotone_in_eps``: robust accuracy does not increase as the budget ε grows;
- ``monotone_in_steps``: it does not increase with more attack steps;
- ``near_zero_at_large_eps``: it is near zero at a large budget (half the box);
- ``unbounded_reaches_100``: with a budget as large as the box, the attack succeeds on
  every point;
- ``black_box_not_stronger``: a black-box attack (transfer from a surrogate model, or
  random noise) does not beat the white-box attack;
- ``gradients_do_not_vanish``: the input gradient is non-zero and finite at (almost)
  every point (:func:`uninformative_gradient_share`).

:func:`model_checks` checks the model itself before any attack: logits rather than
probabilities, a deterministic forward pass, and input gradients that are neither zero nor
infinite (AutoAttack's checks). :func:`gradient_free_gap` runs Carlini et al.'s check that
a gradient-free attack (:func:`advlib.attacks.square`) is not stronger than a gradient attack.

A failed check does not prove that the model is not robust, and passing them all does
not prove that it is; but each failure means the evaluation cannot be trusted as it is.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch
from torch import nn

from advlib.attacks.blackbox import square
from advlib.attacks.gradient import apgd, input_gradient
from advlib.contracts import AttackAt, check_gradients_possible, check_inputs, check_positive_int
from advlib.metrics import predict, robust_errors
from advlib.models import evaluated
from advlib.norms import as_p, box_diameter, clip_to_box, uniform_in_ball


class CheckResult(NamedTuple):
    """The outcome of one check: whether it passed, and the numbers behind it."""

    passed: bool
    detail: str


class CheckReport(dict):
    """The results of :func:`sanity_checks`: a dict from check name to :class:`CheckResult`,
    in the order the checks ran; ``str(report)`` is a table, one line per check."""

    @property
    def all_passed(self) -> bool:
        """True when every check passed."""
        return all(result.passed for result in self.values())

    @property
    def failed(self) -> list[str]:
        """The names of the failed checks."""
        return [name for name, result in self.items() if not result.passed]

    def __str__(self) -> str:
        width = max(len(name) for name in self)
        return "\n".join(
            f"{'passed' if r.passed else 'FAILED'}  {name:<{width}}  {r.detail}"
            for name, r in self.items()
        )


def _robust_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor
) -> float:
    """:math:`1 - \\mathcal{R}^A_{rob}` at the attacked inputs ``x_adv``."""
    return 1.0 - float(robust_errors(model, x, y, x_adv).float().mean())


def _random_noise_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, p: float, draws: int, seed: int
) -> float:
    """Robust accuracy against random noise: a point counts as broken if any of ``draws``
    uniform draws in its ε-ball (clipped to the box) is misclassified."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    eps_t = torch.full((x.shape[0],), float(eps), dtype=x.dtype, device=x.device)
    robust = predict(model, x) == y
    for _ in range(draws):
        x_noisy = x + clip_to_box(x, uniform_in_ball(x, p, eps_t, generator))
        robust &= predict(model, x_noisy) == y
    return float(robust.float().mean())


def _non_increasing(values: Sequence[float], tolerance: float) -> bool:
    return all(later <= earlier + tolerance for earlier, later in zip(values, values[1:]))


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.1%}" for v in values)


def sanity_checks(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attack_at: AttackAt,
    *,
    eps: float,
    norm: str | float = "linf",
    steps: Sequence[int] | None = (1, 5, 20),
    eps_factors: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
    surrogate: nn.Module | None = None,
    tolerance: float = 0.01,
    near_zero: float = 0.05,
    max_vanishing: float = 0.05,
    seed: int = 0,
) -> CheckReport:
    r"""Run the sanity checks of Carlini et al. (2019) on an evaluation of ``model`` by the
    attacks ``attack_at(ε)``.

    With :math:`a(\epsilon)` the robust accuracy measured by ``attack_at(ε)``,
    :math:`a_n` the one measured by ``attack_at(ε, steps=n)``, and D the diameter of the box
    :math:`[0, 1]^d` in the norm (:func:`advlib.norms.box_diameter`), the checks pass when

    - ``monotone_in_eps``: :math:`a(\epsilon_i)` does not increase along
      :math:`\epsilon_i` = ``eps_factors`` × ε (up to ``tolerance``);
    - ``monotone_in_steps`` (when ``steps`` is given): :math:`a_n` does not increase along
      ``steps``;
    - ``near_zero_at_large_eps``: :math:`a(D/2)` ≤ ``near_zero`` (at D/2 in L∞ every image
      can be turned into the same grey image);
    - ``unbounded_reaches_100``: :math:`a(D) = 0`: any point of the box is allowed;
    - ``black_box_not_stronger``: the accuracy under a black-box attack is at least
      :math:`a(\epsilon)` − ``tolerance``. The black box is ``attack_at(ε)`` run on
      ``surrogate`` and transferred, or, without a surrogate, 20 uniform draws in the ball;
    - ``gradients_do_not_vanish``: at most a share ``max_vanishing`` of the points have
      an input gradient of the margin loss that is zero or not finite.

    Args:
        model: the model evaluated, on [0, 1] inputs.
        x, y: evaluation points (N, ...) and labels (N,); a few hundred are enough.
        attack_at: the attack at each budget, e.g. ``at_budget(pgd, steps=20)``; for the
            steps check it must accept a ``steps=`` override, as :func:`~advlib.contracts.at_budget`'s do.
        eps: the budget of the evaluation. norm: its norm (the attacks' own, for D and
            the random noise).
        steps: step counts compared (increasing), or None to skip that check (e.g. FGSM).
        eps_factors: budgets compared, as multiples of ``eps`` (increasing).
        surrogate: a model for the transfer attack, or None for random noise.
        tolerance: increase of robust accuracy forgiven as noise.
        near_zero: largest robust accuracy accepted at D/2.
        max_vanishing: largest share of points with a zero gradient accepted.
        seed: seed of the random-noise black box.

    Returns:
        A :class:`CheckReport`; ``report.all_passed``, ``report.failed``, ``print(report)``.

    >>> print(sanity_checks(model, x, y, at_budget(pgd, steps=20), eps=0.1))  # doctest: +SKIP
    passed  monotone_in_eps    robust accuracy 93.0%, 81.5%, 52.0%, 3.0% at eps 0.025, ...
    """
    check_inputs(x, y, eps)
    for n in steps or ():
        check_positive_int(n, "steps")
    check_gradients_possible("sanity_checks")
    p = as_p(norm)
    diameter = box_diameter(x[0].numel(), p)

    def accuracy(eps_value: float, **overrides) -> float:
        return _robust_accuracy(model, x, y, attack_at(eps_value, **overrides)(model, x, y))

    report = CheckReport()
    budgets = [f * eps for f in eps_factors]
    by_eps = [accuracy(e) for e in budgets]
    report["monotone_in_eps"] = CheckResult(
        _non_increasing(by_eps, tolerance),
        f"robust accuracy {_numbers(by_eps)} at eps {', '.join(f'{e:.3g}' for e in budgets)}",
    )
    white = by_eps[list(eps_factors).index(1.0)] if 1.0 in eps_factors else accuracy(eps)
    if steps:
        by_steps = [_accuracy_after(accuracy, eps, n) for n in steps]
        report["monotone_in_steps"] = CheckResult(
            _non_increasing(by_steps, tolerance),
            f"robust accuracy {_numbers(by_steps)} after {', '.join(map(str, steps))} steps",
        )
    large = accuracy(diameter / 2)
    report["near_zero_at_large_eps"] = CheckResult(
        large <= near_zero,
        f"robust accuracy {large:.1%} at eps {diameter / 2:.3g} (at most {near_zero:.0%})",
    )
    unbounded = accuracy(diameter)
    report["unbounded_reaches_100"] = CheckResult(
        unbounded == 0.0,
        f"attack success {1 - unbounded:.1%} at eps {diameter:.3g} (the whole box)",
    )
    if surrogate is not None:
        x_transfer = attack_at(eps)(surrogate, x, y)
        black, source = _robust_accuracy(model, x, y, x_transfer), "transfer from the surrogate"
    else:
        black = _random_noise_accuracy(model, x, y, eps, p, draws=20, seed=seed)
        source = "20 random draws"
    report["black_box_not_stronger"] = CheckResult(
        black >= white - tolerance,
        f"robust accuracy {black:.1%} ({source}) vs {white:.1%} (white box)",
    )
    vanishing = uninformative_gradient_share(model, x, y)
    report["gradients_do_not_vanish"] = CheckResult(
        vanishing <= max_vanishing,
        f"{vanishing:.1%} of the points have a zero or non-finite input gradient",
    )
    return report


def uninformative_gradient_share(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The share of the points whose input gradient of the margin loss is zero or not
    finite, where a gradient attack has nothing to follow. Torch's random state is left as
    it was (a randomised model draws noise)."""
    with torch.random.fork_rng(devices=[]):
        gradient = input_gradient(model, x, y, loss="margin").flatten(1)
    useless = (gradient == 0).all(dim=1) | ~torch.isfinite(gradient).all(dim=1)
    return float(useless.float().mean())


def _accuracy_after(accuracy, eps: float, n: int) -> float:
    """The robust accuracy after ``n`` steps; a clear error for a family without steps."""
    try:
        return accuracy(eps, steps=n)
    except TypeError as error:
        raise ValueError(
            "attack_at must accept a steps= override for the steps check "
            f"(at_budget(pgd, ...) does); pass steps=None for a one-step attack ({error})"
        ) from None


def model_checks(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, max_vanishing: float = 0.05
) -> CheckReport:
    r"""Checks of the model an evaluation attacks, before any attack runs (those of
    AutoAttack, Croce & Hein 2020, and of Carlini et al. 2019):

    - ``returns_logits``: the outputs are not probabilities (rows in [0, 1] that sum to 1):
      a softmax output saturates, and the cross-entropy of an attack taken on it has
      vanishing gradients; attack the logits instead;
    - ``deterministic``: two forward passes on the same inputs agree; a randomised
      defence needs EOT (:func:`advlib.attacks.adaptive_pgd` with ``eot``) and repeated
      evaluations;
    - ``gradients_are_informative``: at most a share ``max_vanishing`` of the points have
      an input gradient of the margin loss that is zero or not finite (shattered or
      exploding gradients): a gradient attack on such a model needs BPDA or a
      gradient-free attack (:func:`advlib.attacks.square`).

    The model's and torch's random states are left as they were.

    >>> print(model_checks(models.quantized(cnn), x, y))  # doctest: +SKIP
    passed  returns_logits             outputs are logits (rows do not sum to 1)
    """
    check_inputs(x, y)
    check_gradients_possible("model_checks")
    with torch.random.fork_rng(devices=[]), torch.no_grad(), evaluated(model):
        first, second = model(x), model(x)
    report = CheckReport()
    probabilities = bool(
        ((first >= 0) & (first <= 1)).all() and torch.allclose(first.sum(1), torch.ones(len(x)))
    )
    report["returns_logits"] = CheckResult(
        not probabilities,
        "outputs look like probabilities (in [0, 1], rows sum to 1): attack the logits"
        if probabilities
        else "outputs are logits (rows do not sum to 1)",
    )
    change = float((first - second).abs().max())
    report["deterministic"] = CheckResult(
        change == 0.0,
        "two forward passes agree"
        if change == 0.0
        else f"two forward passes differ by up to {change:.3g}: a randomised defence needs EOT",
    )
    share = uninformative_gradient_share(model, x, y)
    report["gradients_are_informative"] = CheckResult(
        share <= max_vanishing,
        f"{share:.1%} of the points have a zero or non-finite input gradient "
        f"(at most {max_vanishing:.0%})",
    )
    return report


class GradientFreeGap(NamedTuple):
    """The outcome of :func:`gradient_free_gap`: the robust accuracies under the gradient
    attack and under Square, the gap between them, and the verdict."""

    gradient: float
    gradient_free: float
    gap: float
    passes: bool

    def __str__(self) -> str:
        verdict = "passed" if self.passes else "FAILED"
        return (
            f"{verdict}  robust accuracy {self.gradient:.1%} (gradient attack) vs "
            f"{self.gradient_free:.1%} (Square, gradient-free): gap {self.gap:+.1%}"
        )


def gradient_free_gap(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str | float = "linf",
    gradient_attack: Callable[..., torch.Tensor] = apgd,
    queries: int = 1000,
    tolerance: float = 0.02,
    seed: int = 0,
) -> GradientFreeGap:
    r"""Carlini et al.'s (2019) check "a gradient-free attack is not stronger than a
    gradient attack", with the Square attack as the gradient-free one.

    On a model whose gradients are informative, a white-box gradient attack finds at least
    as many adversarial examples as a search that reads only the scores. When the search
    finds more, the gradients mislead the attack (gradient masking: quantised inputs,
    saturated or randomised layers), and the gradient attack's number overestimates the
    robustness. With :math:`a_{\mathrm{grad}}` and :math:`a_{\mathrm{free}}` the robust
    accuracies under ``gradient_attack`` and under :func:`advlib.attacks.square` at the same
    budget, the gap is :math:`a_{\mathrm{grad}} - a_{\mathrm{free}}`, and the check passes
    when it is at most ``tolerance``.

    Args:
        model: the model evaluated, on [0, 1] inputs.
        x, y: evaluation points (N, ...) and labels (N,); a few hundred are enough.
        eps, norm: the budget and its norm (``"linf"`` or ``"l2"``).
        gradient_attack: called as ``gradient_attack(model, x, y, eps=eps, norm=norm)``,
            e.g. :func:`~advlib.attacks.apgd` (the default, 100 steps) or
            ``functools.partial(pgd, steps=20)``.
        queries: Square's query budget per point.
        tolerance: the gap forgiven as noise (0.02: a few points out of a few hundred).
        seed: Square's seed.

    Returns:
        A :class:`GradientFreeGap` ``(gradient, gradient_free, gap, passes)``;
        ``print(result)`` gives one line.

    >>> print(gradient_free_gap(models.quantized(cnn), x, y, eps=0.1))  # doctest: +SKIP
    FAILED  robust accuracy 98.4% (gradient attack) vs 29.7% (Square, ...): gap +68.8%
    """
    check_inputs(x, y, eps)
    check_positive_int(queries, "queries")
    check_gradients_possible("gradient_free_gap")
    if as_p(norm) not in (math.inf, 2.0):
        raise ValueError(f"norm must be 'linf' or 'l2' for gradient_free_gap, got {norm!r}")
    if not 0 <= tolerance <= 1:
        raise ValueError(f"tolerance must be in [0, 1], got {tolerance!r}")
    by_gradient = gradient_attack(model, x, y, eps=eps, norm=norm)
    by_search = square(model, x, y, eps=eps, norm=norm, queries=queries, seed=seed)
    gradient = _robust_accuracy(model, x, y, by_gradient)
    gradient_free = _robust_accuracy(model, x, y, by_search)
    gap = gradient - gradient_free
    return GradientFreeGap(gradient, gradient_free, gap, gap <= tolerance)
