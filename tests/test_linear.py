"""advlib.linear: pixel-space weights and the exact robustness radius of a linear model."""

from __future__ import annotations

import pytest
import torch

from advlib import linear, metrics, models, norms


def _model_and_points(num_classes: int = 3, n: int = 20):
    model = models.linear((1, 4, 4), num_classes, seed=1)
    x = torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    return model, x, metrics.predict(model, x)  # labelled by the model: all correct


def test_pixel_weights_are_the_gradient_of_the_scores():
    model, x, _ = _model_and_points()
    theta = linear.pixel_weights(model)
    assert theta.shape == (3, 16)
    jacobian = torch.autograd.functional.jacobian(lambda v: model(v).sum(0), x[:1])
    assert torch.allclose(jacobian.reshape(3, 16), theta, atol=1e-6)


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_radius_is_the_distance_to_the_boundary(norm):
    # Two classes: the score difference moves by exactly eps * ||theta_k - theta_j||_q along
    # the steepest direction, so just short of the radius the class holds, just past it flips.
    model, x, y = _model_and_points(num_classes=2)
    radius = linear.robustness_radius(model, x, y, norm)
    assert bool((radius > 0).all())
    theta = linear.pixel_weights(model)
    towards = (theta[1 - y] - theta[y]).view_as(x)  # raises the other class's score
    direction = norms.steepest_direction(towards, norm)
    inside = x + 0.999 * norms.per_sample(radius, x) * direction
    outside = x + 1.001 * norms.per_sample(radius, x) * direction
    with torch.no_grad():
        assert bool((model(inside).argmax(1) == y).all())
        assert bool((model(outside).argmax(1) != y).all())


def test_radius_takes_the_nearest_wrong_class_and_is_negative_when_wrong():
    model, x, y = _model_and_points(num_classes=4)
    radius = linear.robustness_radius(model, x, y, "l2")
    theta = linear.pixel_weights(model)
    with torch.no_grad():
        logits = model(x)
    for i in range(len(x)):
        k = int(y[i])
        by_class = [
            (logits[i, k] - logits[i, j]) / (theta[k] - theta[j]).norm() for j in range(4) if j != k
        ]
        assert torch.isclose(radius[i], min(by_class), rtol=1e-5)
    wrong = (y + 1) % 4
    assert bool((linear.robustness_radius(model, x, wrong, "l2") <= 0).all())


def test_other_models_are_refused():
    x = torch.rand(2, 1, 4, 4)
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="linear model"):
        linear.robustness_radius(models.mlp((1, 4, 4), 3, hidden=8), x, y)
