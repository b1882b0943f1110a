"""advlib.models.InputQuantization and quantized: a defence that masks gradients."""

from __future__ import annotations

import pytest
import torch

from advlib import models
from advlib.attacks import input_gradient


def test_rounds_to_the_nearest_level():
    q = models.InputQuantization(levels=5)  # levels 0, 0.25, 0.5, 0.75, 1
    x = torch.tensor([[0.0, 0.1, 0.13, 0.6, 0.9, 1.0]])
    assert torch.allclose(q(x), torch.tensor([[0.0, 0.0, 0.25, 0.5, 1.0, 1.0]]))


def test_seventeen_levels_change_no_clean_digit(digits8, trained_cnn):
    x = digits8.X_test
    assert torch.equal(models.InputQuantization(17)(x), x)
    defended = models.quantized(trained_cnn)
    with torch.no_grad():
        assert torch.equal(defended(x), trained_cnn(x))


def test_the_input_gradient_is_zero_and_straight_through_makes_it_the_identity(trained_cnn, batch):
    x, y = batch
    defended = models.quantized(trained_cnn)
    assert torch.count_nonzero(input_gradient(defended, x, y)) == 0
    defended[0].straight_through = True
    x_q = models.InputQuantization(17)(x)
    assert torch.allclose(input_gradient(defended, x, y), input_gradient(trained_cnn, x_q, y))
    q = models.InputQuantization(5)
    q.straight_through = True
    z = torch.rand(3, 4, requires_grad=True)
    out = q(z)
    assert torch.allclose(out, models.InputQuantization(5)(z))  # same forward pass
    (grad,) = torch.autograd.grad(out.sum(), z)
    assert torch.equal(grad, torch.ones_like(z))


def test_noise_randomises_the_output_and_stays_in_the_box():
    q = models.InputQuantization(levels=17, noise=0.1)
    x = torch.rand(50, 1, 8, 8)
    a, b = q(x), q(x)
    assert not torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    assert torch.allclose(a * 16, (a * 16).round(), atol=1e-5)  # still on the grid
    assert (a - x).abs().max() <= 0.1 + 1 / 32 + 1e-6


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(levels=1), "levels"),
        (dict(levels=2.5), "levels"),
        (dict(noise=-0.1), "noise"),
        (dict(noise=float("nan")), "noise"),
    ],
)
def test_bad_arguments_are_refused(kwargs, word):
    with pytest.raises(ValueError, match=word):
        models.InputQuantization(**kwargs)
