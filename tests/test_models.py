"""advlib.models: shapes, normalisation inside the model, reproducible initialisation."""

from __future__ import annotations

import pytest
import torch

from advlib import models


@pytest.mark.parametrize(
    "build,side",
    [
        (lambda: models.linear((1, 8, 8), 10), 8),
        (lambda: models.mlp((1, 8, 8), 10), 8),
        (lambda: models.small_cnn((1, 8, 8), 10), 8),
        (lambda: models.small_cnn((1, 32, 32), 10), 32),
    ],
)
def test_models_map_images_to_logits(build, side):
    assert build()(torch.rand(3, 1, side, side)).shape == (3, 10)


def test_normalisation_is_the_first_layer():
    model = models.linear((2,), 2, mean=0.5, std=0.25)
    assert isinstance(model[0], models.Normalize)
    assert torch.equal(model[0](torch.tensor([[0.5, 1.0]])), torch.tensor([[0.0, 2.0]]))


def test_initialisation_is_a_function_of_the_seed():
    a, b, c = models.mlp((2,), 2, seed=1), models.mlp((2,), 2, seed=1), models.mlp((2,), 2, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize(
    "build",
    [
        lambda: models.linear((1, 8, 8), 10),
        lambda: models.mlp((1, 8, 8), 10),
        lambda: models.small_cnn((1, 8, 8), 10),
    ],
)
def test_building_a_model_leaves_the_global_random_state_alone(build):
    torch.manual_seed(7)
    before = torch.get_rng_state()
    build()
    assert torch.equal(torch.get_rng_state(), before)


def test_initial_weights_follow_pytorchs_default_bounds():
    model = models.mlp((1, 8, 8), 10, hidden=32)
    for layer in (model[2], model[4], model[6]):
        bound = 1 / layer.in_features**0.5
        weight, bias = layer.weight.detach().abs().max(), layer.bias.detach().abs().max()
        assert float(weight) <= bound and float(bias) <= bound
        assert float(weight) > 0.9 * bound  # spread over the whole interval


def test_the_cnn_has_the_same_parameters_at_every_resolution():
    count = [
        sum(p.numel() for p in models.small_cnn((1, s, s), 10).parameters()) for s in (8, 16, 64)
    ]
    assert count[0] == count[1] == count[2]


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: models.linear((1, 8, 8), 1), "num_classes"),
        (lambda: models.mlp((0,), 2), "in_shape"),
        (lambda: models.mlp((2,), 2, hidden=0), "hidden"),
        (lambda: models.small_cnn((8, 8), 10), "in_shape"),
        (lambda: models.Normalize(std=0.0), "std"),
    ],
)
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
