"""advlib.train.count_passes: the deterministic cost of a training step, in passes."""

from __future__ import annotations

import copy
import functools

import pytest
import torch

from advlib import attacks, models
from advlib.train import count_passes


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.rand(16, 1, 8, 8, generator=generator), torch.randint(
        0, 10, (16,), generator=generator
    )


@pytest.mark.parametrize(
    "attack, forward, backward",
    [
        (None, 1, 1),
        (functools.partial(attacks.fgsm, eps=0.1), 2, 2),
        (functools.partial(attacks.pgd, eps=0.1, steps=1, step_size=0.125), 3, 2),  # fast AT
        (functools.partial(attacks.pgd, eps=0.1, steps=5), 7, 6),
        (
            functools.partial(attacks.pgd, eps=0.1, steps=10, restarts=3),
            34,
            31,
        ),  # batched restarts still cost 3 times: 3 x (11, 10) plus the step
    ],
)
def test_counts(batch, attack, forward, backward):
    X, y = batch
    model = models.small_cnn((1, 8, 8), 10)
    assert count_passes(model, X, y, attack) == {"forward": forward, "backward": backward}


def test_leaves_model_alone(batch):
    X, y = batch
    model = models.mlp((1, 8, 8), 10, hidden=16)
    model.train()
    state = copy.deepcopy(model.state_dict())
    count_passes(model, X, y, functools.partial(attacks.pgd, eps=0.1, steps=3))
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert not model._forward_hooks  # the counting hook is removed
    # and a second count gives the same answer
    assert count_passes(model, X, y)["forward"] == 1


def test_refuses_bad_input(batch):
    X, y = batch
    with pytest.raises(ValueError, match="same batch size"):
        count_passes(models.linear((1, 8, 8), 10), X, y[:3])
