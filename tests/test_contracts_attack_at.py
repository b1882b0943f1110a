"""advlib.contracts.at_budget: a family of attacks indexed by the budget, with overrides."""

from __future__ import annotations

import functools

import torch

from advlib import train
from advlib.attacks import at_budget, pgd


def test_at_budget_binds_the_budget_and_the_options_with_overrides(trained_cnn, batch):
    x, y = batch
    attack_at = at_budget(pgd, steps=3, seed=1)
    attack = attack_at(0.1)
    assert isinstance(attack, functools.partial) and attack.keywords == {
        "eps": 0.1,
        "steps": 3,
        "seed": 1,
    }
    assert torch.equal(attack(trained_cnn, x, y), pgd(trained_cnn, x, y, eps=0.1, steps=3, seed=1))
    assert attack_at(0.2, steps=5).keywords == {"eps": 0.2, "steps": 5, "seed": 1}
    # a bound attack made this way has a stable description, so adversarial training caches
    assert train.describe_attack(attack) is not None
