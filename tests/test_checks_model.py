"""advlib.checks.model_checks: AutoAttack's checks of the model pass on a plain CNN and
each one fails on the defence it is meant to catch."""

from __future__ import annotations

import torch
from torch import nn

from advlib import models
from advlib.checks import model_checks

CHECKS = ["returns_logits", "deterministic", "gradients_are_informative"]


class SquareRoot(nn.Module):
    """A layer whose gradient is infinite at 0 (a pixel at 0 makes it so)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sqrt()


def test_a_plain_cnn_passes_every_check(trained_cnn, batch):
    x, y = batch
    report = model_checks(trained_cnn, x, y)
    assert list(report) == CHECKS and report.all_passed, str(report)


def test_probabilities_are_flagged(trained_cnn, batch):
    x, y = batch
    report = model_checks(nn.Sequential(trained_cnn, nn.Softmax(dim=1)), x, y)
    assert report.failed == ["returns_logits"], str(report)


def test_a_randomised_defence_is_flagged_and_the_random_state_is_kept(trained_cnn, batch):
    x, y = batch
    state = torch.get_rng_state()
    report = model_checks(models.quantized(trained_cnn, noise=0.05), x, y)
    assert "deterministic" in report.failed and "differ by up to" in report["deterministic"].detail
    assert torch.equal(torch.get_rng_state(), state)


def test_shattered_and_infinite_gradients_are_flagged(trained_cnn, batch):
    x, y = batch
    shattered = model_checks(models.quantized(trained_cnn), x, y)
    assert shattered.failed == ["gradients_are_informative"], str(shattered)
    assert "100.0% of the points" in shattered["gradients_are_informative"].detail
    x0 = x.clone()
    x0[:, 0, 0, 0] = 0.0  # sqrt has an infinite slope there
    exploding = model_checks(nn.Sequential(SquareRoot(), trained_cnn), x0, y)
    assert exploding.failed == ["gradients_are_informative"], str(exploding)
