"""advlib.data.two_classes: two classes of a data set as a binary problem."""

from __future__ import annotations

import pytest
import torch

from advlib import data


def test_keeps_two_classes_in_order_and_relabels_them():
    X = torch.arange(6.0).view(6, 1)
    y = torch.tensor([3, 1, 8, 8, 3, 5])
    X_pair, y_pair = data.two_classes(X, y, negative=3, positive=8)
    assert X_pair.flatten().tolist() == [0.0, 2.0, 3.0, 4.0]
    assert y_pair.tolist() == [0, 1, 1, 0] and y_pair.dtype == torch.long


def test_on_the_digits():
    digits = data.digits(size=8, seed=0)
    X_pair, y_pair = data.two_classes(digits.X_test, digits.y_test, negative=3, positive=8)
    assert X_pair.shape[1:] == (1, 8, 8)
    assert len(y_pair) == int(((digits.y_test == 3) | (digits.y_test == 8)).sum())
    assert 0 < int(y_pair.sum()) < len(y_pair)


def test_refuses_the_same_class_twice():
    with pytest.raises(ValueError, match="differ"):
        data.two_classes(torch.zeros(2, 1), torch.tensor([1, 1]), negative=1, positive=1)
