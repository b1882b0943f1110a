"""advlib.attacks.nearest_misclassified: exhaustive search over a pool (on-manifold attacks)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from advlib import attacks


class Threshold(nn.Module):
    """Class 1 where the first coordinate exceeds 0.5 (logits +-s), class 0 elsewhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.flatten(1)[:, :1] - 0.5
        return torch.cat([-s, s], dim=1)


def brute_force(model, x, y, pool, pool_y):
    with torch.no_grad():
        wrong = model(pool).argmax(1) != pool_y
    radii = []
    for xi, yi in zip(x, y):
        distances = [
            float((c - xi).norm()) for c, w, k in zip(pool, wrong, pool_y) if w and k == yi
        ]
        radii.append(min(distances, default=math.inf))
    return torch.tensor(radii)


def test_finds_the_nearest_misclassified_candidate_of_the_same_class():
    generator = torch.Generator().manual_seed(0)
    pool = torch.rand(300, 2, generator=generator)
    pool_y = torch.randint(0, 2, (300,), generator=generator)
    x = torch.rand(40, 2, generator=generator) * torch.tensor([0.5, 1.0])  # left half: g(x) = 0
    y = torch.zeros(40, dtype=torch.long)
    model = Threshold()
    result = attacks.nearest_misclassified(model, x, y, pool, pool_y, norm="l2")
    assert torch.allclose(
        result.radius.double(), brute_force(model, x, y, pool, pool_y).double(), atol=1e-5
    )
    assert (model(result.x_adv).argmax(1) != y).all()  # every found point is misclassified
    assert torch.allclose((result.x_adv - x).norm(dim=1), result.radius, atol=1e-5)


def test_no_candidate_gives_inf_and_misclassified_points_give_zero():
    model = Threshold()
    pool = torch.tensor([[0.9, 0.5], [0.1, 0.5]])
    pool_y = torch.tensor([1, 1])  # only the second candidate is misclassified, and it is class 1
    x = torch.tensor([[0.2, 0.2], [0.8, 0.8], [0.7, 0.1]])
    y = torch.tensor([0, 1, 0])  # class 0 has no candidate; the third point is already wrong
    before = x.clone()
    result = attacks.nearest_misclassified(model, x, y, pool, pool_y, norm="l2")
    assert torch.equal(x, before)
    assert math.isinf(float(result.radius[0])) and torch.equal(result.x_adv[0], x[0])
    assert float(result.radius[1]) == pytest.approx(float((pool[1] - x[1]).norm()))
    assert float(result.radius[2]) == 0.0 and torch.equal(result.x_adv[2], x[2])


def test_other_norms_and_bad_input():
    model = Threshold()
    pool = torch.tensor([[0.9, 0.9]])
    x, y = torch.tensor([[0.3, 0.6]]), torch.tensor([0])
    result = attacks.nearest_misclassified(model, x, y, pool, torch.tensor([0]), norm="linf")
    assert float(result.radius[0]) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="pool"):
        attacks.nearest_misclassified(model, x, y, torch.zeros(1, 3), torch.tensor([0]))
    with pytest.raises(ValueError, match="norm"):
        attacks.nearest_misclassified(model, x, y, pool, torch.tensor([0]), norm="l3")
