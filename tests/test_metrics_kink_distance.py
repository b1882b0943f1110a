"""advlib.metrics.relu_kink_distance: the distance to the nearest ReLU switch."""

from __future__ import annotations

import pytest
import torch

from advlib import metrics, models


def test_on_one_hidden_layer_it_is_the_distance_to_the_nearest_hyperplane():
    net = models.mlp((2,), 2, hidden=16, depth=1, seed=0).double()
    x = torch.rand(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    layer = net[2]  # after Normalize((x - 0.5) / 0.5) and Flatten
    W, b = layer.weight.detach(), layer.bias.detach()
    a = (2 * x - 1) @ W.T + b
    expected = (a.abs() / (2 * W).norm(dim=1)).min(dim=1).values
    assert torch.allclose(metrics.relu_kink_distance(net, x), expected, rtol=1e-10)


def test_a_point_on_a_kink_has_distance_zero_and_deeper_units_count():
    net = models.mlp((2,), 2, hidden=8, depth=2, seed=1).double()
    x = torch.rand(20, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    first = models.mlp((2,), 2, hidden=8, depth=1, seed=1).double()
    first[2].load_state_dict(net[2].state_dict())
    # both layers: never farther than the first layer's kinks alone
    assert torch.all(metrics.relu_kink_distance(net, x) <= metrics.relu_kink_distance(first, x))
    W, b = net[2].weight.detach(), net[2].bias.detach()
    # a point on unit 0's hyperplane (2x - 1) . w + b = 0
    w = W[0]
    point = 0.5 + 0.5 * (-b[0] * w / (w @ w))
    assert float(metrics.relu_kink_distance(net, point[None])) < 1e-12


def test_a_model_without_relu_is_refused():
    with pytest.raises(ValueError, match="nn.ReLU"):
        metrics.relu_kink_distance(models.linear((2,), 2), torch.rand(3, 2))
