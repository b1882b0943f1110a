"""advlib.attacks.bpda and adaptive_pgd: an adaptive attack that breaks gradient masking."""

from __future__ import annotations

import copy
import functools

import pytest
import torch

from advlib import models
from advlib.attacks import adaptive_pgd, bpda, pgd
from advlib.metrics import risk_rob
from advlib.norms import lp_norm


def test_plain_pgd_is_stuck_and_the_adaptive_attack_breaks_the_defence(trained_cnn, batch):
    x, y = batch
    defended = models.quantized(trained_cnn)
    clean_error = risk_rob(defended, x, y, lambda m, a, b: a)
    plain = risk_rob(defended, x, y, functools.partial(pgd, eps=0.15, steps=10, random_start=False))
    adaptive = risk_rob(defended, x, y, functools.partial(adaptive_pgd, eps=0.15, steps=10))
    assert plain == clean_error  # zero gradients: PGD never leaves x
    assert adaptive > clean_error + 0.3


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_the_contract_of_an_attack(trained_cnn, batch, norm):
    x, y = batch
    defended = models.quantized(trained_cnn, noise=0.05)
    defended.train()
    x_before, state = x.clone(), copy.deepcopy(defended.state_dict())
    rng_before = torch.get_rng_state()
    eps = 0.1 if norm == "linf" else 0.8
    x_adv = adaptive_pgd(defended, x, y, eps=eps, norm=norm, steps=3, eot=2, seed=3)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.all(lp_norm(x_adv - x, norm) <= eps + 1e-6)
    assert torch.all((x_adv >= 0) & (x_adv <= 1))
    assert torch.equal(x, x_before) and defended.training and not defended[0].straight_through
    assert all(torch.equal(v, state[k]) for k, v in defended.state_dict().items())
    assert all(p.grad is None for p in defended.parameters())
    assert torch.equal(
        x_adv, adaptive_pgd(defended, x, y, eps=eps, norm=norm, steps=3, eot=2, seed=3)
    )


def test_bpda_keeps_the_forward_pass_and_eot_averages(trained_cnn, batch):
    x, _ = batch
    defended = models.quantized(trained_cnn)
    with torch.no_grad():
        assert torch.equal(bpda(defended)(x), defended(x))
        assert torch.allclose(bpda(defended, eot=4)(x), defended(x), atol=1e-6)
    assert not defended[0].straight_through and bpda(defended)[0].straight_through
    noisy = models.quantized(trained_cnn, noise=0.2)
    torch.manual_seed(0)
    with torch.no_grad():
        spread_one = (noisy(x) - noisy(x)).abs().mean()
        spread_eot = (bpda(noisy, eot=16)(x) - bpda(noisy, eot=16)(x)).abs().mean()
    assert spread_eot < spread_one / 2  # averaging 16 draws reduces the noise


def test_bad_eot_is_refused(trained_cnn, batch):
    x, y = batch
    with pytest.raises(ValueError, match="eot"):
        bpda(trained_cnn, eot=0)
    with pytest.raises(ValueError, match="eot"):
        adaptive_pgd(trained_cnn, x, y, eps=0.1, eot=1.5)
