"""Shared fixtures: small data and models that build in well under a second."""

from __future__ import annotations

import pytest
import torch

from advlib import data, models, train


@pytest.fixture(autouse=True)
def _one_thread_and_seed():
    torch.set_num_threads(1)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def digits8():
    return data.digits(size=8, seed=0)


@pytest.fixture(scope="session")
def trained_cnn(digits8):
    """A small CNN trained for a few epochs on the digits (no cache: tests stay hermetic)."""
    model = models.small_cnn((1, 8, 8), 10, channels=8)
    train.fit(model, digits8.X_train, digits8.y_train, epochs=4, lr=1e-2, seed=0, cache=False)
    return model


@pytest.fixture(scope="session")
def batch(digits8):
    """64 test digits and their labels."""
    return digits8.X_test[:64], digits8.y_test[:64]
