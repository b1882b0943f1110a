"""advlib.metrics: per_sample_loss, loss_along and attack_cost."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from advlib import attacks, metrics, models, norms


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(12, 1, 8, 8, generator=generator)
    return x, torch.randint(0, 10, (12,), generator=generator)


@pytest.fixture
def cnn():
    return models.small_cnn((1, 8, 8), 10, seed=0).eval()


def test_per_sample_loss_is_the_cross_entropy_and_the_margin(cnn, batch):
    x, y = batch
    with torch.no_grad():
        logits = cnn(x)
    ce = metrics.per_sample_loss(cnn, x, y)
    assert ce.shape == (12,) and not ce.requires_grad
    assert torch.allclose(ce, F.cross_entropy(logits, y, reduction="none"))
    margin = metrics.per_sample_loss(cnn, x, y, loss="margin")
    correct = logits.argmax(1) == y
    assert torch.equal(margin < 0, correct)  # negative exactly when correctly classified


def test_per_sample_loss_refuses_an_unknown_loss(cnn, batch):
    with pytest.raises(ValueError, match="loss"):
        metrics.per_sample_loss(cnn, *batch, loss="hinge")


def test_loss_along_follows_the_clipped_segments(cnn, batch):
    x, y = batch
    direction = -norms.steepest_direction(attacks.input_gradient(cnn, x, y), "linf")
    distances = torch.linspace(0, 0.2, 5)
    losses = metrics.loss_along(cnn, x, y, direction, distances)
    assert losses.shape == (5, 12)
    assert torch.equal(losses[0], metrics.per_sample_loss(cnn, x, y))  # s = 0 is x itself
    x_far = x + norms.clip_to_box(x, distances[-1] * direction)
    assert torch.equal(losses[-1], metrics.per_sample_loss(cnn, x_far, y))
    # against the gradient the cross-entropy falls at first (a first-order descent step)
    assert float(losses[1].mean()) < float(losses[0].mean())


def test_loss_along_a_binary_linear_model_is_linear_in_the_distance(batch):
    x, _ = batch
    x = 0.25 + 0.5 * x  # away from the box, so that nothing is clipped
    y = torch.arange(12) % 2
    linear = models.linear((1, 8, 8), 2, seed=0).eval()
    direction = torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).sign()
    distances = torch.tensor([0.0, 0.1, 0.2])
    margins = metrics.loss_along(linear, x, y, direction, distances, loss="margin")
    # two classes: the margin f_other - f_k is one linear score, so its steps are equal
    assert margins.shape == (3, 12)
    assert torch.allclose(margins[2] - margins[1], margins[1] - margins[0], atol=1e-4)
    assert float((margins[1] - margins[0]).abs().min()) > 1e-3  # and it does move


@pytest.mark.parametrize(
    "attack, forward, backward",
    [
        (functools.partial(attacks.fgsm, eps=0.1), 1, 1),
        (functools.partial(attacks.fgm, eps=0.5), 1, 1),
        (functools.partial(attacks.pgd, eps=0.1, steps=5, seed=0), 6, 5),
        (functools.partial(attacks.pgd, eps=0.1, steps=4, restarts=3, seed=0), 15, 12),
    ],
)
def test_attack_cost_counts_passes_per_input(cnn, batch, attack, forward, backward):
    x, y = batch
    cost = metrics.attack_cost(cnn, x, y, attack)
    assert (cost.forward, cost.backward) == (forward, backward)
    assert cost.seconds > 0
    assert torch.equal(cost.x_adv, attack(cnn, x, y))  # the attack's own output
    assert not cnn._forward_hooks  # the counting hook is removed


def test_attack_cost_removes_its_hook_when_the_attack_fails(cnn, batch):
    def broken(model, x, y):
        model(x)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        metrics.attack_cost(cnn, *batch, broken)
    assert not cnn._forward_hooks


def test_attack_cost_refuses_bad_input(cnn, batch):
    x, y = batch
    with pytest.raises(ValueError, match="same batch size"):
        metrics.attack_cost(cnn, x, y[:3], functools.partial(attacks.fgsm, eps=0.1))
