r"""Data sets as tensors in [0, 1], with fixed splits from a seed.

- :func:`two_moons`: the 2D toy problem of the book's pictures, rescaled into [0, 1]².
- :func:`digits`: scikit-learn's bundled handwritten digits (1,797 images of 8×8 pixels,
  no download), optionally upsampled to study the effect of the input dimension.

Images have shape (N, 1, size, size); labels are ``torch.long``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits, make_moons
from sklearn.model_selection import train_test_split


class Split(NamedTuple):
    """A train/test split: ``X_train, y_train, X_test, y_test = split``."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def two_moons(n: int = 400, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Two interleaved half circles, two classes, rescaled into the box [0, 1]².

    scikit-learn's moons live in about [-1.2, 2.2] × [-0.7, 1.2]; a fixed affine map
    (the same for every seed and noise level, so ε means the same thing everywhere)
    sends that rectangle into [0.05, 0.95]², and points are then clamped to [0, 1].

    Args:
        n: number of points (half of each class).
        noise: standard deviation of the Gaussian noise added by scikit-learn.
        seed: seed of the draw.

    Returns:
        ``X`` of shape (n, 2), float32, in [0, 1]; ``y`` of shape (n,), long, in {0, 1}.

    >>> X, y = two_moons(100, noise=0.1, seed=0)
    >>> X.shape, int(y.sum())
    (torch.Size([100, 2]), 50)
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    if not noise >= 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    low = torch.tensor([-1.2, -0.7])
    span = torch.tensor([3.4, 1.9])
    X = 0.05 + 0.9 * (torch.as_tensor(X, dtype=torch.float32) - low) / span
    return X.clamp(0.0, 1.0), torch.as_tensor(y, dtype=torch.long)


def upsample(images: torch.Tensor, size: int) -> torch.Tensor:
    r"""Resize images of shape (N, C, h, w) to (N, C, size, size) by bilinear interpolation.

    The result is clamped to [0, 1]. Upsampling adds pixels but no information, which
    is what the book needs to study the input dimension d = size² on fixed content.
    """
    if images.shape[-1] == size:
        return images.clone()
    resized = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    return resized.clamp(0.0, 1.0)


def digits(size: int = 8, seed: int = 0, test_fraction: float = 0.3) -> Split:
    r"""scikit-learn's bundled digits as tensors in [0, 1], split in a fixed stratified way.

    The 8×8 images have grey levels 0..16, divided by 16. When ``size`` > 8 they are
    upsampled by :func:`upsample`, so the input dimension is d = size².

    Args:
        size: side of the returned images, at least 8.
        seed: seed of the stratified train/test split.
        test_fraction: share of the 1,797 images held out for testing.

    Returns:
        A :class:`Split` with images of shape (N, 1, size, size) and labels in 0..9.

    >>> data = digits(size=16)
    >>> tuple(data.X_train.shape[1:]), len(data.y_test)
    ((1, 16, 16), 540)
    """
    if size < 8:
        raise ValueError(f"size must be at least 8 (the digits are 8x8), got {size}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.as_tensor(bunch.target, dtype=torch.long)
    train_idx, test_idx = train_test_split(
        torch.arange(len(labels)).numpy(),
        test_size=test_fraction,
        random_state=seed,
        stratify=labels.numpy(),
    )
    images = upsample(images, size)
    train_idx, test_idx = torch.as_tensor(train_idx), torch.as_tensor(test_idx)
    return Split(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])
