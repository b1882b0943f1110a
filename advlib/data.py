r"""Data sets as tensors in [0, 1], with fixed splits from a seed.

- :func:`two_moons`: the 2D toy problem of the book's pictures, rescaled into [0, 1]².
- :func:`digits`: scikit-learn's bundled handwritten digits (1,797 images of 8×8 pixels,
  no download), optionally upsampled to study the effect of the input dimension.
- :func:`sphere`: points drawn uniformly on the unit sphere of R^d, the high-dimensional
  model of concentration of measure (not images: coordinates lie in [-1, 1]).

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


def sphere(n: int, d: int, *, radius: float = 1.0, seed: int = 0,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""``n`` points drawn uniformly on the sphere of radius ``radius`` in :math:`\mathbb{R}^d`,

    .. math:: x = r\, \frac{z}{\|z\|_2} \in r\, S^{d-1}, \qquad z \sim \mathcal{N}(0, I_d),
              \qquad S^{d-1} = \{x \in \mathbb{R}^d : \|x\|_2 = 1\}.

    The standard Gaussian is invariant under rotations, so :math:`z / \|z\|_2` is uniform on
    the sphere. Each coordinate then satisfies :math:`(x_1 / r + 1)/2 \sim
    \mathrm{Beta}\big(\tfrac{d-1}{2}, \tfrac{d-1}{2}\big)`, with variance :math:`r^2/d`: in high
    dimension almost all the mass lies near any equator. This is the data of the concentration
    argument of Gilmer et al. (2018), "Adversarial Spheres".

    Args:
        n: number of points, at least 1.
        d: dimension of the ambient space, at least 2 (the sphere has dimension d - 1).
        radius: radius of the sphere, positive.
        seed: seed of the draw (a private generator: the global RNG is left alone).
        dtype: floating-point type of the result.

    Returns:
        A tensor of shape (n, d) whose rows have L2 norm ``radius``.

    >>> X = sphere(1000, 64, seed=0)
    >>> X.shape, round(float(X.norm(dim=1).max()), 4)
    (torch.Size([1000, 64]), 1.0)
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(d, int) or d < 2:
        raise ValueError(f"d must be an integer >= 2, got {d!r}")
    if not (radius > 0 and radius < float("inf")):
        raise ValueError(f"radius must be positive and finite, got {radius!r}")
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return (radius * z / z.norm(dim=1, keepdim=True)).to(dtype)
