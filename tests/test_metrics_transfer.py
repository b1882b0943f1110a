"""advlib.metrics.transfer_matrix: shape, orientation (rows are sources), diagonal = white box."""

from __future__ import annotations

import functools

import pytest
import torch

from advlib import models
from advlib.attacks import pgd
from advlib.metrics import predict, transfer_matrix, transfer_rate


@pytest.fixture(scope="module")
def zoo():
    """Three untrained models of different kinds (fast, and enough to test the bookkeeping)."""
    named = {
        "linear": models.linear((1, 8, 8), 10, seed=1),
        "mlp": models.mlp((1, 8, 8), 10, seed=2),
        "cnn": models.small_cnn((1, 8, 8), 10, channels=4, seed=3),
    }
    return named


def test_diagonal_is_the_white_box_success_rate(zoo, batch):
    x, y = batch
    attack = functools.partial(pgd, eps=0.1, steps=5)
    matrix = transfer_matrix(zoo, x, y, attack)
    assert matrix.shape == (3, 3) and matrix.dtype == torch.float32
    for i, model in enumerate(zoo.values()):
        assert matrix[i, i] == pytest.approx(transfer_rate(model, x, y, attack(model, x, y)))
    assert torch.all((matrix >= 0) & (matrix <= 1))


def test_rows_are_sources_and_columns_targets(zoo, batch):
    x, _ = batch
    source = zoo["mlp"]
    y = predict(source, x)  # labels: the MLP's own predictions
    blank = torch.zeros_like(x)

    def attack(model, x, y):  # only the MLP's "adversarial examples" change anything
        return blank if model is source else x

    matrix = transfer_matrix(zoo, x, y, attack)
    expected = [transfer_rate(target, x, y, blank) for target in zoo.values()]
    assert torch.allclose(matrix[1], torch.tensor(expected))
    assert torch.all(matrix[[0, 2]] == 0)  # the other sources leave x unchanged: nothing fooled
    assert matrix[1].max() > 0


def test_identical_models_transfer_perfectly(batch):
    x, y = batch
    twins = {"a": models.mlp((1, 8, 8), 10, seed=5), "b": models.mlp((1, 8, 8), 10, seed=5)}
    y = predict(twins["a"], x)
    matrix = transfer_matrix(twins, x, y, functools.partial(pgd, eps=0.3, steps=5))
    assert torch.allclose(matrix, matrix[0, 0].expand(2, 2)) and matrix[0, 0] > 0.5
