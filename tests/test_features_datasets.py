"""advlib.features: representation matching and Ilyas et al.'s datasets."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advlib import features, models, norms


class FirstHalf(nn.Module):
    """A representation that only sees the first half of the coordinates."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        return flat[:, : flat.shape[1] // 2]


def test_representation_is_the_input_of_the_last_layer():
    model = models.mlp((1, 4, 4), 3, hidden=8)
    x = torch.rand(5, 1, 4, 4)
    phi = features.representation(model, x)
    assert phi.shape == (5, 8)
    assert torch.allclose(model[-1](phi), model(x))
    with pytest.raises(ValueError, match="Sequential"):
        features.representation(nn.Linear(16, 3), x.flatten(1))


def test_matching_changes_only_what_the_representation_sees():
    model = nn.Sequential(FirstHalf(), nn.Linear(8, 2))
    generator = torch.Generator().manual_seed(0)
    x, start = torch.rand(6, 16, generator=generator), torch.rand(6, 16, generator=generator)
    before = (x.clone(), start.clone())
    x_r = features.match_representation(model, x, start, steps=200, step_size=0.01)
    assert torch.equal(x, before[0]) and torch.equal(start, before[1])
    assert torch.allclose(x_r[:, 8:], start[:, 8:])  # the unseen half keeps the start
    assert (x_r[:, :8] - x[:, :8]).norm(dim=1).max() < 0.02  # the seen half now matches x
    assert x_r.min() >= 0 and x_r.max() <= 1


def test_matching_moves_at_most_steps_times_step_size_and_leaves_the_model_alone():
    model = models.small_cnn((1, 8, 8), 10)
    model.eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    generator = torch.Generator().manual_seed(1)
    x, start = (
        torch.rand(4, 1, 8, 8, generator=generator),
        torch.rand(4, 1, 8, 8, generator=generator),
    )
    x_r = features.match_representation(model, x, start, steps=5, step_size=0.1)
    assert (norms.lp_norm(x_r - start, 2) <= 0.5 + 1e-5).all()

    def gap(z):
        return (features.representation(model, z) - features.representation(model, x)).norm(dim=1)

    assert (gap(x_r) < gap(start)).all()
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="start"):
        features.match_representation(model, x, start[:2])
    with pytest.raises(ValueError, match="step_size"):
        features.match_representation(model, x, start, step_size=0.0)


def test_relabelled_adversarial_targets_budget_and_success():
    torch.manual_seed(0)
    model = models.linear((6,), 3)
    X = torch.rand(60, 6, generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 3, (60,), generator=torch.Generator().manual_seed(3))
    X_det, t_det = features.relabelled_adversarial(
        model, X, y, targets="det", eps=0.3, norm="l2", batch_size=25
    )
    assert torch.equal(t_det, (y + 1) % 3)
    assert (
        (norms.lp_norm(X_det - X, 2) <= 0.3 + 1e-5).all() and X_det.min() >= 0 and X_det.max() <= 1
    )
    # a large budget reaches the target for (almost) every point of a linear model
    X_big, _ = features.relabelled_adversarial(
        model, X, y, targets="det", eps=3.0, norm="l2", steps=50
    )
    assert (model(X_big).argmax(1) == t_det).float().mean() > 0.9
    X_rand, t_rand = features.relabelled_adversarial(
        model, X, y, targets="rand", eps=0.3, norm="l2", seed=5
    )
    again = features.relabelled_adversarial(model, X, y, targets="rand", eps=0.3, norm="l2", seed=5)
    assert torch.equal(X_rand, again[0]) and torch.equal(t_rand, again[1])
    assert len(torch.unique(t_rand)) == 3 and not torch.equal(t_rand, t_det)
    with pytest.raises(ValueError, match="targets"):
        features.relabelled_adversarial(model, X, y, targets="next", eps=1.0, norm="l2")


def test_representation_dataset_keeps_labels_and_starts_from_other_images():
    model = nn.Sequential(FirstHalf(), nn.Linear(8, 2))
    X = torch.rand(10, 16, generator=torch.Generator().manual_seed(4))
    y = torch.arange(10) % 2
    X_r, y_r = features.representation_dataset(model, X, y, steps=1, step_size=1e-6)
    assert torch.equal(y_r, y)
    # one tiny step: each x_r is still (almost) another training image
    distances = torch.cdist(X_r, X)
    assert torch.all(distances.min(dim=1).values < 1e-4)
    assert not torch.allclose(X_r, X)
    X_noise, _ = features.representation_dataset(
        model, X, y, start="noise", steps=1, step_size=1e-6
    )
    assert torch.cdist(X_noise, X).min() > 0.1
    with pytest.raises(ValueError, match="start"):
        features.representation_dataset(model, X, y, start="zeros")
