"""advlib.checks: the sanity checks pass on an honest evaluation and each one can fail."""

from __future__ import annotations

import functools

import pytest
import torch

from advlib import models
from advlib.attacks import adaptive_pgd, at_budget, fgsm, pgd
from advlib.checks import CheckReport, GradientFreeGap, gradient_free_gap, sanity_checks

CHECKS = [
    "monotone_in_eps",
    "monotone_in_steps",
    "near_zero_at_large_eps",
    "unbounded_reaches_100",
    "black_box_not_stronger",
    "gradients_do_not_vanish",
]
FAST = dict(eps=0.1, steps=(1, 5), eps_factors=(0.5, 1.0, 2.0))
PGD5 = at_budget(pgd, steps=5)


def test_an_honest_evaluation_passes_every_check(trained_cnn, batch):
    x, y = batch
    report = sanity_checks(trained_cnn, x, y, PGD5, **FAST)
    assert isinstance(report, CheckReport) and list(report) == CHECKS
    assert report.all_passed, str(report)
    assert report.failed == []


def test_gradient_masking_is_flagged(trained_cnn, batch):
    x, y = batch
    defended = models.quantized(trained_cnn)
    report = sanity_checks(defended, x, y, PGD5, **FAST)
    assert not report.all_passed
    assert {"gradients_do_not_vanish", "unbounded_reaches_100", "black_box_not_stronger"} <= set(
        report.failed
    )
    assert (
        "100.0% of the points have a zero or non-finite input gradient"
        in report["gradients_do_not_vanish"].detail
    )
    # The adaptive attack repairs the evaluation; the gradient of the model itself stays zero.
    adaptive = sanity_checks(defended, x, y, at_budget(adaptive_pgd, steps=5), **FAST)
    assert adaptive.failed == ["gradients_do_not_vanish"], str(adaptive)


def test_a_transfer_attack_stronger_than_the_white_box_one_is_flagged(trained_cnn, batch):
    x, y = batch
    surrogate = models.small_cnn((1, 8, 8), 10, channels=8)
    surrogate.load_state_dict(
        trained_cnn.state_dict()
    )  # a perfect surrogate: transfer is white-box
    report = sanity_checks(models.quantized(trained_cnn), x, y, PGD5, surrogate=surrogate, **FAST)
    assert not report["black_box_not_stronger"].passed
    assert "transfer from the surrogate" in report["black_box_not_stronger"].detail


def weakening_attack(model, x, y, *, eps, steps=5, norm="linf", weaker_with):
    """An attack that gets weaker as eps or steps grow: a broken evaluation."""
    size = eps if weaker_with == "steps" else 0.05
    if (weaker_with == "eps" and eps > 0.1) or (weaker_with == "steps" and steps > 1):
        return x.clone()
    return pgd(model, x, y, eps=min(eps, size), norm=norm, steps=10)


@pytest.mark.parametrize(
    "weaker_with, check", [("eps", "monotone_in_eps"), ("steps", "monotone_in_steps")]
)
def test_an_attack_that_weakens_fails_the_monotonicity_checks(
    trained_cnn, batch, weaker_with, check
):
    x, y = batch
    attack_at = at_budget(weakening_attack, weaker_with=weaker_with)
    report = sanity_checks(
        trained_cnn, x, y, attack_at, eps=0.1, steps=(1, 5), eps_factors=(0.5, 1.0, 2.0)
    )
    assert not report[check].passed, str(report)
    assert (
        not report["unbounded_reaches_100"].passed and not report["near_zero_at_large_eps"].passed
    )


def test_random_noise_beating_a_do_nothing_attack_is_flagged(trained_cnn, batch):
    x, y = batch

    def do_nothing(eps, **overrides):
        return lambda model, x, y: x.clone()

    report = sanity_checks(trained_cnn, x, y, do_nothing, eps=0.5, steps=(1,), eps_factors=(1.0,))
    assert not report["black_box_not_stronger"].passed
    assert "20 random draws" in report["black_box_not_stronger"].detail
    assert report["gradients_do_not_vanish"].passed  # a property of the model, not of the attack


def test_the_report_prints_one_line_per_check(trained_cnn, batch):
    x, y = batch
    report = sanity_checks(models.quantized(trained_cnn), x[:16], y[:16], PGD5, **FAST)
    lines = str(report).splitlines()
    assert len(lines) == len(CHECKS)
    for line, name in zip(lines, CHECKS):
        assert line.split()[1] == name
        assert line.startswith("passed" if report[name].passed else "FAILED")


def test_bad_input_is_refused(trained_cnn, batch):
    x, y = batch
    with pytest.raises(ValueError, match="eps"):
        sanity_checks(trained_cnn, x, y, PGD5, eps=-0.1)
    with pytest.raises(ValueError, match="steps"):
        sanity_checks(trained_cnn, x, y, PGD5, eps=0.1, steps=(0, 5))
    with pytest.raises(ValueError, match="norm"):
        sanity_checks(trained_cnn, x, y, PGD5, eps=0.1, norm="l3")
    with pytest.raises(ValueError, match="y"):
        sanity_checks(trained_cnn, x, y[:3], PGD5, eps=0.1)
    assert torch.isfinite(x).all()


def test_a_one_step_attack_is_checked_without_the_steps_check(trained_cnn, batch):
    x, y = batch
    report = sanity_checks(trained_cnn, x, y, at_budget(fgsm), eps=0.1, steps=None)
    assert "monotone_in_steps" not in report and "monotone_in_eps" in report
    with pytest.raises(ValueError, match="steps="):
        sanity_checks(trained_cnn, x, y, at_budget(fgsm), eps=0.1, steps=(1, 5))


# -- gradient_free_gap: a gradient-free attack is not stronger than a gradient attack ---------

PGD20 = functools.partial(pgd, steps=20)


@pytest.mark.parametrize("norm, eps", [("linf", 0.1), ("l2", 1.0)])
def test_the_gradient_free_check_passes_on_a_plain_model(norm, eps, trained_cnn, batch):
    """Measured: Square leaves 47% (L∞) and 8% (L2) robust where PGD-20 leaves 39% and 2%."""
    x, y = batch
    result = gradient_free_gap(
        trained_cnn, x, y, eps=eps, norm=norm, gradient_attack=PGD20, queries=300
    )
    assert isinstance(result, GradientFreeGap) and result.passes, str(result)
    assert result.gap == pytest.approx(result.gradient - result.gradient_free)
    assert result.gradient_free >= result.gradient  # the search is the weaker attack here


@pytest.mark.parametrize("norm, eps", [("linf", 0.1), ("l2", 1.0)])
def test_the_gradient_free_check_flags_a_model_that_masks_gradients(norm, eps, trained_cnn, batch):
    """Architecture A (quantised inputs, zero gradients): PGD leaves 98% robust, Square
    leaves 30% (L∞) and 8% (L2)."""
    x, y = batch
    defended = models.quantized(trained_cnn)
    result = gradient_free_gap(
        defended, x, y, eps=eps, norm=norm, gradient_attack=PGD20, queries=300
    )
    assert not result.passes and result.gap > 0.5, str(result)
    assert str(result).startswith("FAILED  robust accuracy")


def test_the_gradient_free_check_refuses_bad_input(trained_cnn, batch):
    x, y = batch
    with pytest.raises(ValueError, match="norm"):
        gradient_free_gap(trained_cnn, x, y, eps=1.0, norm="l1")
    with pytest.raises(ValueError, match="tolerance"):
        gradient_free_gap(trained_cnn, x, y, eps=0.1, tolerance=float("nan"))
    with pytest.raises(ValueError, match="queries"):
        gradient_free_gap(trained_cnn, x, y, eps=0.1, queries=0)
    with pytest.raises(ValueError, match="eps"):
        gradient_free_gap(trained_cnn, x, y, eps=-0.1)
    with torch.inference_mode(), pytest.raises(ValueError, match="inference_mode"):
        gradient_free_gap(trained_cnn, x, y, eps=0.1)
