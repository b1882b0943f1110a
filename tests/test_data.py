"""advlib.data: the toy sets and the digits."""

from __future__ import annotations

import pytest
import torch

from advlib import data


def test_two_moons_is_balanced_in_the_box_and_reproducible():
    X, y = data.two_moons(200, noise=0.1, seed=3)
    assert X.shape == (200, 2) and X.dtype == torch.float32 and y.dtype == torch.long
    assert X.min() >= 0 and X.max() <= 1
    assert int(y.sum()) == 100
    X2, _ = data.two_moons(200, noise=0.1, seed=3)
    assert torch.equal(X, X2)
    assert not torch.equal(X, data.two_moons(200, noise=0.1, seed=4)[0])


@pytest.mark.parametrize("size", [8, 16, 28])
def test_digits_are_images_in_the_unit_box(size):
    split = data.digits(size=size)
    assert split.X_train.shape[1:] == (1, size, size)
    assert len(split.y_train) + len(split.y_test) == 1797
    for X in (split.X_train, split.X_test):
        assert X.min() >= 0 and X.max() <= 1
    assert set(split.y_test.tolist()) == set(range(10))


def test_the_split_is_stratified_fixed_and_disjoint():
    split = data.digits(seed=0)
    again = data.digits(seed=0)
    assert torch.equal(split.y_test, again.y_test) and torch.equal(split.X_test, again.X_test)
    counts = torch.bincount(split.y_test, minlength=10).float()
    assert counts.max() - counts.min() <= 3  # stratified: each class ~30% of its ~180 images
    train_rows = {tuple(r.flatten().tolist()) for r in split.X_train}
    overlap = sum(tuple(r.flatten().tolist()) in train_rows for r in split.X_test)
    assert overlap < 5  # sklearn's digits hold a handful of exact duplicates, no more


def test_upsampling_keeps_the_content():
    small, large = data.digits(size=8), data.digits(size=32)
    assert torch.equal(small.y_test, large.y_test)
    back = torch.nn.functional.avg_pool2d(large.X_test, 4)
    to_itself = (back - small.X_test).abs().mean()
    to_another = (back - small.X_test.roll(1, dims=0)).abs().mean()
    assert to_itself < 0.4 * to_another  # blurred by interpolation, but still the same digit


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: data.digits(size=4), "size"),
        (lambda: data.digits(test_fraction=1.5), "test_fraction"),
        (lambda: data.two_moons(1), "n"),
        (lambda: data.two_moons(10, noise=-1), "noise"),
    ],
)
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
