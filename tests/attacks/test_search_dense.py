"""advlib.attacks.dense_search: the contract of an attack, and exactness on linear 2D models."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch

from advlib import data, models, train
from advlib.attacks import dense_search, pgd
from advlib.metrics import predict, risk_rob
from advlib.norms import dual_exponent, lp_norm


def linear_2d(w: tuple[float, float], c: float) -> torch.nn.Module:
    """A two-class linear model on the plane whose decision function is f_1 - f_0 = <w, x> + c."""
    model = models.linear((2,), 2)
    layer = model[2]
    with torch.no_grad():
        # model(x) = W (x - 0.5) / 0.5 + b: put the whole decision function in class 1's row.
        layer.weight.zero_()
        layer.bias.zero_()
        layer.weight[1] = 0.5 * torch.tensor(w)
        layer.bias[1] = c + 0.5 * sum(w)
    return model


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_exact_on_a_linear_model(norm):
    # The Lp distance of x to the line <w, x> + c = 0 is |<w, x> + c| / ||w||_q: the ball
    # holds a misclassified point exactly when that distance is at most eps.
    w, c, eps = (1.0, -2.0), 0.3, 0.15
    model = linear_2d(w, c)
    x = 0.3 + 0.4 * torch.rand(400, 2, generator=torch.Generator().manual_seed(0))
    y = predict(model, x)  # every point correctly classified
    distance = (x @ torch.tensor(w) + c).abs() / torch.linalg.vector_norm(
        torch.tensor(w), dual_exponent(norm)
    )
    fooled = predict(model, dense_search(model, x, y, eps=eps, norm=norm, resolution=41)) != y
    clear = (distance - eps).abs() > 0.01 * eps
    assert clear.sum() > 350
    assert torch.equal(fooled[clear], (distance <= eps)[clear])
    assert 0.1 < float(fooled.float().mean()) < 0.9  # both cases occur


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_stays_in_ball_and_box_and_changes_nothing(norm):
    model = models.mlp((2,), 3, hidden=8, seed=1)
    model.train()
    x = torch.rand(30, 2, generator=torch.Generator().manual_seed(1))
    x[0] = torch.tensor([0.0, 1.0])  # a corner of the box: clipping is active
    y = torch.randint(0, 3, (30,), generator=torch.Generator().manual_seed(2))
    eps = torch.linspace(0.0, 0.4, 30)
    x_before, state = x.clone(), copy.deepcopy(model.state_dict())
    x_adv = dense_search(model, x, y, eps=eps, norm=norm, resolution=15, chunk=100)
    assert x_adv.shape == x.shape
    assert torch.all(lp_norm(x_adv - x, norm) <= eps + 1e-6)
    assert torch.all((x_adv >= 0) & (x_adv <= 1))
    assert torch.equal(x_adv[0], x[0])  # eps = 0: the centre is the only candidate
    assert torch.equal(x, x_before) and model.training
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(x_adv, dense_search(model, x, y, eps=eps, norm=norm, resolution=15))


def test_finds_at_least_what_pgd_finds_on_an_mlp():
    x, y = data.two_moons(200, noise=0.2, seed=3)
    model = models.mlp((2,), 2, hidden=16, seed=3)
    train.fit(model, x, y, epochs=30, lr=1e-2, seed=0, cache=False)
    for norm in ("l2", "linf"):
        exact = risk_rob(model, x, y, functools.partial(dense_search, eps=0.1, norm=norm))
        by_pgd = risk_rob(model, x, y, functools.partial(pgd, eps=0.1, norm=norm, steps=20))
        assert exact > 0 and exact >= by_pgd - 1 / 200


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(x=torch.rand(4, 3)), "x"),
        (dict(x=torch.rand(4, 1, 2)), "x"),
        (dict(resolution=1), "resolution"),
        (dict(norm="l3"), "norm"),
        (dict(eps=-0.1), "eps"),
        (dict(eps=math.nan), "eps"),
        (dict(y=torch.full((4,), 5)), "y"),
    ],
)
def test_bad_input_is_refused(kwargs, word):
    model = models.mlp((2,), 2, hidden=4)
    arguments = dict(
        x=torch.rand(4, 2), y=torch.zeros(4, dtype=torch.long), eps=0.1, norm="l2", resolution=5
    )
    arguments.update(kwargs)
    x, y = arguments.pop("x"), arguments.pop("y")
    with pytest.raises(ValueError, match=word):
        dense_search(model, x, y, **arguments)
