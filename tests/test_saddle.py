"""advlib.saddle: the closed-form inner maximum of logistic regression and Danskin's theorem."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector

from advlib import models, saddle
from advlib.norms import lp_norm


def logistic_problem(seed: int = 0, n: int = 40, d: int = 6):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    y = torch.where(torch.rand(n, generator=g) < 0.5, 1.0, -1.0).double()
    theta = torch.randn(d, generator=g, dtype=torch.float64).requires_grad_(True)
    bias = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    return X, y, theta, bias


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_the_closed_form_is_the_loss_at_the_maximiser_and_no_point_of_the_ball_beats_it(norm):
    X, y, theta, bias = logistic_problem()
    eps = 0.2
    worst = saddle.logistic_maximiser(theta, X, y, eps, norm)
    assert not worst.requires_grad
    assert torch.all(lp_norm(worst - X, norm) <= eps + 1e-12)
    closed = saddle.robust_logistic_loss(theta, bias, X, y, eps, norm)
    assert torch.allclose(closed, saddle.logistic_loss(theta, bias, worst, y))
    g = torch.Generator().manual_seed(1)
    for _ in range(20):  # random points of the ball (projected Gaussian steps)
        delta = torch.randn(X.shape, generator=g, dtype=torch.float64)
        delta = eps * delta / lp_norm(delta, norm)[:, None]
        losses = saddle.logistic_loss(theta, bias, X + delta, y, reduction="none")
        at_worst = saddle.logistic_loss(theta, bias, worst, y, reduction="none")
        assert torch.all(losses <= at_worst + 1e-12)
    assert closed > saddle.logistic_loss(theta, bias, X, y)


def test_danskin_the_robust_gradient_is_the_standard_gradient_at_the_maximiser():
    X, y, theta, bias = logistic_problem(seed=3)
    eps = 0.1
    robust = saddle.robust_logistic_loss(theta, bias, X, y, eps)
    grad_rob = parameters_to_vector(torch.autograd.grad(robust, (theta, bias)))
    worst = saddle.logistic_maximiser(theta, X, y, eps)
    standard = saddle.logistic_loss(theta, bias, worst, y)
    grad_std = parameters_to_vector(torch.autograd.grad(standard, (theta, bias)))
    assert torch.allclose(grad_rob, grad_std, rtol=1e-12, atol=1e-14)
    clean = saddle.logistic_loss(theta, bias, X, y)
    grad_clean = parameters_to_vector(torch.autograd.grad(clean, (theta, bias)))
    assert not torch.allclose(grad_rob, grad_clean, rtol=1e-3)


def test_logistic_loss_refuses_an_unknown_reduction():
    X, y, theta, bias = logistic_problem()
    with pytest.raises(ValueError, match="reduction"):
        saddle.logistic_loss(theta, bias, X, y, reduction="sum")


def test_danskin_slope_gives_both_one_sided_slopes_at_a_kink():
    X, y, theta, bias = logistic_problem(seed=5)
    eps, j, h = 0.1, 2, 1e-7
    at_kink = theta.detach().clone()
    at_kink[j] = 0.0
    e_j = torch.zeros_like(at_kink)
    e_j[j] = 1.0

    def robust(t):
        return float(saddle.robust_logistic_loss(t, bias.detach(), X, y, eps))

    extremes = []
    for shift in (-eps, eps):
        X_alt = saddle.logistic_maximiser(at_kink, X, y, eps)
        X_alt[:, j] = X[:, j] + shift
        extremes.append(X_alt)

    def per_sample_loss(t, points):
        return saddle.logistic_loss(t, bias.detach(), points, y, reduction="none")

    for sign in (1.0, -1.0):
        fd = (robust(at_kink + sign * h * e_j) - robust(at_kink)) / h
        slope = saddle.danskin_slope(per_sample_loss, at_kink, extremes, sign * e_j)
        assert abs(fd - float(slope)) < 1e-5
    # a kink: the two one-sided slopes do not cancel
    right = saddle.danskin_slope(per_sample_loss, at_kink, extremes, e_j)
    left = saddle.danskin_slope(per_sample_loss, at_kink, extremes, -e_j)
    assert float(right + left) > 1e-4


def small_net():
    return models.mlp((2,), 2, hidden=8, seed=0).double()


def test_directions_are_unit_and_reproducible():
    net = small_net()
    u = saddle.random_direction(net, torch.Generator().manual_seed(0))
    v = saddle.random_direction(net, torch.Generator().manual_seed(0))
    assert set(u) == {name for name, _ in net.named_parameters()}
    assert all(torch.equal(u[k], v[k]) for k in u)
    norm = torch.sqrt(sum((t**2).sum() for t in u.values()))
    assert abs(float(norm) - 1.0) < 1e-12
    scaled = saddle.unit_direction({k: 3.0 * t for k, t in u.items()})
    assert all(torch.allclose(scaled[k], u[k]) for k in u)


def test_shifted_moves_a_copy_along_the_direction():
    net = small_net()
    before = {k: p.detach().clone() for k, p in net.named_parameters()}
    u = saddle.random_direction(net, torch.Generator().manual_seed(1))
    moved = saddle.shifted(net, u, 0.5)
    for name, p in moved.named_parameters():
        assert torch.allclose(p, before[name] + 0.5 * u[name])
        assert torch.equal(dict(net.named_parameters())[name], before[name])


def test_directional_derivative_is_the_per_sample_gradient_along_u():
    net = small_net()
    g = torch.Generator().manual_seed(2)
    x = torch.rand(5, 2, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1])
    u = saddle.random_direction(net, g)
    slopes = saddle.directional_derivative(net, x, y, u)
    for i in range(len(y)):
        loss = F.cross_entropy(net(x[i : i + 1]), y[i : i + 1])
        grads = torch.autograd.grad(loss, list(net.parameters()))
        expected = sum((gr * u[name]).sum() for gr, (name, _) in zip(grads, net.named_parameters()))
        assert torch.allclose(slopes[i], expected, rtol=1e-10, atol=1e-12)


def test_robust_slope_fd_with_the_identity_attack_is_the_standard_slope():
    net = small_net()
    g = torch.Generator().manual_seed(3)
    x = torch.rand(6, 2, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    u = saddle.random_direction(net, g)
    fd = saddle.robust_slope_fd(net, x, y, lambda model, x, y: x, u, 1e-5)
    assert torch.allclose(fd, saddle.directional_derivative(net, x, y, u), rtol=1e-6, atol=1e-9)


def test_tangential_residual_is_zero_along_the_gradient_and_one_across_it():
    x = torch.tensor([[0.3, 0.6], [0.5, 0.4]], dtype=torch.float64)
    y = torch.tensor([0, 1])
    # a linear model: its input gradient is the same at x and at x_adv
    linear = models.linear((2,), 2, seed=0).double()
    x_req = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(linear(x_req), y, reduction="sum"), x_req)
    along = x + 0.01 * grad / grad.norm(dim=1, keepdim=True)
    across = x + 0.01 * torch.stack([-grad[:, 1], grad[:, 0]], dim=1) / grad.norm(dim=1)[:, None]
    assert torch.all(saddle.tangential_residual(linear, x, along, y) < 1e-6)
    assert torch.allclose(saddle.tangential_residual(linear, x, across, y), torch.ones(2).double())
