"""advlib.metrics: R_std ≤ R_rob^A, curves, transfer rates."""

from __future__ import annotations

import functools

import torch

from advlib import metrics
from advlib.attacks import at_budget, fgsm, pgd


def test_accuracy_and_risk_std_are_complements(trained_cnn, batch):
    x, y = batch
    acc = metrics.accuracy(trained_cnn, x, y)
    assert 0.8 < acc <= 1.0
    assert abs(metrics.risk_std(trained_cnn, x, y) - (1 - acc)) < 1e-12


def test_a_clean_error_counts_as_a_robust_error_whatever_the_attack():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    x = torch.rand(20, 4)
    y = torch.randint(0, 2, (20,))
    do_nothing = lambda m, a, b: a.clone()  # noqa: E731 - the weakest possible attack
    assert metrics.risk_rob(model, x, y, do_nothing) == metrics.risk_std(model, x, y)


def test_robust_risk_is_between_the_standard_risk_and_one(trained_cnn, batch):
    x, y = batch
    r_std = metrics.risk_std(trained_cnn, x, y)
    r_fgsm = metrics.risk_rob(trained_cnn, x, y, functools.partial(fgsm, eps=0.1))
    r_pgd = metrics.risk_rob(trained_cnn, x, y, functools.partial(pgd, eps=0.1, steps=20))
    assert r_std <= r_fgsm <= 1 and r_std <= r_pgd <= 1
    assert r_pgd >= r_fgsm - 0.05  # the stronger attack finds (nearly) every error the weaker finds


def test_the_robustness_curve_starts_at_r_std_and_grows(trained_cnn, batch):
    x, y = batch
    curve = metrics.robustness_curve(
        trained_cnn, x, y, [0.0, 0.05, 0.1, 0.3], at_budget(pgd, steps=10)
    )
    assert curve[0] == metrics.risk_std(trained_cnn, x, y)
    assert all(a <= b + 1e-9 for a, b in zip(curve, curve[1:]))
    assert curve[-1] > 0.9


def test_transfer_rate_counts_only_points_the_target_gets_right(trained_cnn, batch):
    x, y = batch
    assert metrics.transfer_rate(trained_cnn, x, y, x) == 0.0
    x_adv = pgd(trained_cnn, x, y, eps=0.3, steps=10)
    assert metrics.transfer_rate(trained_cnn, x, y, x_adv) > 0.9


def test_confidence_is_a_probability(trained_cnn, batch):
    x, _ = batch
    predicted, top = metrics.confidence(trained_cnn, x)
    assert torch.equal(predicted, metrics.predict(trained_cnn, x))
    assert torch.all((top > 0.1) & (top <= 1))


def test_robust_errors_are_the_per_sample_terms_of_risk_rob(trained_cnn, batch):
    x, y = batch
    attack = functools.partial(pgd, eps=0.1, steps=5)
    errors = metrics.robust_errors(trained_cnn, x, y, attack(trained_cnn, x, y))
    assert errors.dtype == torch.bool and errors.shape == y.shape
    assert float(errors.float().mean()) == metrics.risk_rob(trained_cnn, x, y, attack)
    assert torch.equal(
        metrics.robust_errors(trained_cnn, x, y, x), metrics.predict(trained_cnn, x) != y
    )
