r"""Concentration of measure on the sphere: spherical caps, their neighbourhoods, Lévy's bound.

A uniform point :math:`x` of the unit sphere :math:`S^{d-1} \subset \mathbb{R}^d` has a first
coordinate whose law is a shifted Beta: :math:`(1 + x_1)/2 \sim \mathrm{Beta}(a, a)` with
:math:`a = (d - 1)/2`. The cap :math:`C = \{x \in S^{d-1} : x_1 \ge t\}` is, by Lévy's
isoperimetric inequality, the error set of measure :math:`\mu` with the fewest points near it,
and everything about it is explicit: its threshold :math:`t`, the Euclidean (chord) distance
of a point to it, the measure of its :math:`\epsilon`-neighbourhood. Lévy's bound holds for
*any* set of measure :math:`\mu` (Ledoux 2001, *The Concentration of Measure Phenomenon*,
chapter 2; Gilmer et al. 2018, *Adversarial Spheres*).

Distances are Euclidean distances in :math:`\mathbb{R}^d` between points of the unit sphere;
two points at geodesic distance :math:`\theta` are at Euclidean distance
:math:`2 \sin(\theta / 2)`.

>>> t = cap_threshold(0.01, 1024)  # the cap holding 1% of S^1023
>>> round(cap_measure(t, 1024), 6)
0.01
"""

from __future__ import annotations

import math

import torch


def _beta(d: int):
    from scipy import stats

    if d < 2:
        raise ValueError(f"d must be at least 2, got {d!r}")
    a = (d - 1) / 2
    return stats.beta(a, a)


def cap_measure(t: float, d: int) -> float:
    r"""The uniform measure :math:`\sigma(\{x \in S^{d-1} : x_1 \ge t\})` of a spherical cap.

    .. math:: \sigma(C_t) = \Pr\big[B \ge (1 + t)/2\big], \qquad B \sim \mathrm{Beta}(a, a),
              \ a = (d - 1)/2.

    Args:
        t: the cap's threshold, in [-1, 1] (t = 0: a hemisphere).
        d: the dimension of the ambient space (the sphere :math:`S^{d-1}`), at least 2.

    >>> cap_measure(0.0, 10)
    0.5
    """
    return float(_beta(d).sf((1 + t) / 2))


def cap_threshold(mu: float, d: int) -> float:
    r"""The threshold :math:`t` of the cap :math:`\{x_1 \ge t\}` of measure ``mu`` on
    :math:`S^{d-1}`, the inverse of :func:`cap_measure`: :math:`t = 2 F^{-1}_B(1 - \mu) - 1`.

    For large d, :math:`\sqrt{d}\, t \to \Phi^{-1}(1 - \mu)` (:math:`\sqrt{d}\, x_1` tends to a
    standard Gaussian).

    >>> abs(cap_threshold(0.5, 10)) < 1e-12  # the hemisphere
    True
    """
    return 2 * float(_beta(d).isf(mu)) - 1


def chord(angle: float) -> float:
    r"""The Euclidean distance :math:`2 \sin(\theta/2)` between two points of the unit sphere
    at geodesic distance (angle) :math:`\theta \in [0, \pi]`.

    >>> round(chord(math.pi), 12)
    2.0
    """
    return 2 * math.sin(angle / 2)


def distance_to_cap(x1: torch.Tensor, t: float) -> torch.Tensor:
    r"""The Euclidean distance from points of :math:`S^{d-1}` to the cap :math:`\{x_1 \ge t\}`.

    A point with first coordinate :math:`x_1 < t` is at geodesic distance
    :math:`\theta = \arccos x_1 - \arccos t` from the cap, reached at
    :math:`y = t e_1 + \sqrt{1 - t^2}\, u` (u the unit vector along :math:`x - x_1 e_1`); its
    Euclidean distance is the chord :math:`2 \sin(\theta/2)`. Points in the cap are at 0.

    Args:
        x1: the first coordinates of the points, any shape (the distance depends on nothing
            else).
        t: the cap's threshold.

    Returns:
        the distances, the shape and dtype of ``x1``.

    >>> distance_to_cap(torch.tensor([1.0, 0.0]), 0.0)
    tensor([0., 0.])
    """
    angle = (torch.arccos(x1.clamp(-1, 1)) - math.acos(t)).clamp_min(0)
    return 2 * torch.sin(angle / 2)


def median_distance_to_cap(mu: float, d: int) -> float:
    r"""The median Euclidean distance from a uniform point of :math:`S^{d-1}` to the cap of
    measure ``mu``: :math:`\epsilon_{1/2} = 2 \sin(\tfrac12 \arcsin t)`, the distance of the
    equator :math:`x_1 = 0` (the median of :math:`x_1`; the distance decreases with
    :math:`x_1`). For large d it is close to :math:`\Phi^{-1}(1 - \mu)/\sqrt{d}`.

    >>> round(median_distance_to_cap(0.01, 10**6) * 1000, 2)  # about 2.326 / 1000
    2.33
    """
    return 2 * math.sin(math.asin(cap_threshold(mu, d)) / 2)


def cap_neighbourhood_measure(eps: float, t: float, d: int) -> float:
    r"""The measure :math:`\sigma(C_\epsilon)` of the points of :math:`S^{d-1}` within
    Euclidean distance ``eps`` of the cap :math:`C = \{x_1 \ge t\}`.

    The neighbourhood is again a cap, of geodesic radius
    :math:`\arccos t + 2 \arcsin(\epsilon/2)` around the pole:

    .. math:: \sigma(C_\epsilon) = \Pr\Big[x_1 \ge
              \cos\big(\arccos t + 2 \arcsin\tfrac{\epsilon}{2}\big)\Big].

    By Lévy's isoperimetric inequality no set of the cap's measure has a smaller
    neighbourhood.

    >>> cap_neighbourhood_measure(2.0, 0.9, 10)  # eps = 2 reaches the whole sphere
    1.0
    """
    angle = math.acos(t) + 2 * math.asin(min(eps / 2, 1))
    return cap_measure(math.cos(min(angle, math.pi)), d)


def levy_neighbourhood_bound(eps: float, mu: float, d: int) -> float:
    r"""Lévy's lower bound on :math:`\sigma(A_\epsilon)` for *every* set
    :math:`A \subset S^{d-1}` of measure :math:`\mu`, at Euclidean distance :math:`\epsilon`.

    With the geodesic radius :math:`r = 2 \arcsin(\epsilon/2)` and
    :math:`r_\mu = \sqrt{2 \ln(1/\mu) / (d - 2)}`,

    .. math:: \sigma(A_\epsilon) \ \ge\ 1 - \exp\Big(-\frac{(d-2)(r - r_\mu)^2}{2}\Big)
              \qquad (r \ge r_\mu),

    and :math:`\mu` (the set itself) otherwise (Ledoux 2001, chapter 2).

    Args:
        eps: the Euclidean distance.
        mu: the measure of the set, in (0, 1).
        d: the ambient dimension, at least 3.

    >>> levy_neighbourhood_bound(0.0, 0.01, 100)
    0.01
    """
    if d < 3:
        raise ValueError(f"d must be at least 3 for Lévy's bound, got {d!r}")
    r = 2 * math.asin(min(eps / 2, 1))
    r_mu = math.sqrt(2 * math.log(1 / mu) / (d - 2))
    return mu if r <= r_mu else max(mu, 1 - math.exp(-(d - 2) * (r - r_mu) ** 2 / 2))


def levy_radius(mu: float, d: int, share: float = 0.5) -> float:
    r"""The Euclidean distance at which :func:`levy_neighbourhood_bound` guarantees that a
    share ``share`` of the sphere is within reach of any set of measure ``mu``:

    .. math:: r = r_\mu + \sqrt{\frac{2 \ln(1 / (1 - s))}{d - 2}}, \qquad
              \epsilon = 2 \sin\big(\min(r, \pi)/2\big).

    An upper bound on the radius the cap needs (:func:`median_distance_to_cap` for
    ``share=0.5``).

    >>> round(levy_neighbourhood_bound(levy_radius(0.01, 1000), 0.01, 1000), 6)
    0.5
    """
    if d < 3:
        raise ValueError(f"d must be at least 3 for Lévy's bound, got {d!r}")
    r = math.sqrt(2 * math.log(1 / mu) / (d - 2)) + math.sqrt(
        2 * math.log(1 / (1 - share)) / (d - 2)
    )
    return chord(min(r, math.pi))
