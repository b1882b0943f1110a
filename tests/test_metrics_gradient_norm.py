"""advlib.metrics.input_gradient_norm: the first-order vulnerability ||grad_x loss||_q."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from advlib import metrics, models


def _linear_gradient(model, x, y):
    """Closed form for the linear model: grad_x CE = W^T (softmax(f(x)) - onehot(y)) / sigma."""
    normalize, _, layer = model
    with torch.no_grad():
        residual = model(x).softmax(dim=1) - F.one_hot(y, 10).to(x.dtype)
    return (residual @ layer.weight / normalize.std).view_as(x)


@pytest.mark.parametrize("norm, q", [("l1", math.inf), ("l2", 2), ("linf", 1)])
def test_matches_the_closed_form_of_a_linear_model(norm, q):
    # the attack norm p is given; the gradient is measured in the dual norm q
    model = models.linear((1, 8, 8), 10, seed=3)
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(16) % 10
    expected = torch.linalg.vector_norm(_linear_gradient(model, x, y).flatten(1), ord=q, dim=1)
    got = metrics.input_gradient_norm(model, x, y, norm)
    assert got.shape == (16,)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_first_order_change_of_the_loss_under_a_small_linf_step():
    # For a small eps, the best L-inf step raises the loss by eps * ||grad||_1 to first order.
    model = models.mlp((1, 8, 8), 10, seed=0).double()
    x = (
        torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        * 0.8
        + 0.1
    )
    y = torch.arange(8)
    eps = 1e-5
    x_req = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x_req), y, reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), x_req)
    with torch.no_grad():
        raised = F.cross_entropy(model(x + eps * grad.sign()), y, reduction="none") - loss
    predicted = eps * metrics.input_gradient_norm(model, x, y, "linf")
    assert torch.allclose(raised, predicted, rtol=1e-3)


@pytest.mark.parametrize("training", [False, True])
def test_leaves_the_model_alone(batch, training):
    x, y = batch
    model = models.small_cnn((1, 8, 8), 10, channels=4).train(training)
    before = [p.detach().clone() for p in model.parameters()]
    norms = metrics.input_gradient_norm(model, x, y)
    assert norms.shape == (len(y),) and (norms > 0).all() and torch.isfinite(norms).all()
    assert not norms.requires_grad
    assert model.training == training
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_bad_input_is_refused():
    model = models.linear((4,), 3)
    with pytest.raises(ValueError, match="x"):
        metrics.input_gradient_norm(model, torch.full((2, 4), 2.0), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="norm"):
        metrics.input_gradient_norm(model, torch.rand(2, 4), torch.tensor([0, 1]), "l3")
    with pytest.raises(ValueError, match="y"):
        metrics.input_gradient_norm(model, torch.rand(2, 4), torch.tensor([0, 7]))
