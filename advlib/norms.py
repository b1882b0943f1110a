r"""Lp norms, their duals, steepest-ascent directions and projections.

The identity at the heart of the book lives here. For a norm :math:`\|\cdot\|_p`
with dual exponent :math:`q` (:math:`1/p + 1/q = 1`),

.. math::

    \max_{\|\eta\|_p \le \epsilon} \langle g, \eta \rangle = \epsilon \|g\|_q ,

and the maximiser is :math:`\epsilon` times :func:`steepest_direction`. FGSM and FGM
are one step along it, PGD is that step followed by :func:`project`, and for a linear
model :math:`f_\theta(x) = \langle \theta, x \rangle` the value
:math:`\epsilon\|\theta\|_q` is the largest change of the score.

Every function works per sample: the first dimension of a tensor is the batch.
"""

from __future__ import annotations

import math

import torch

NORM_NAMES = {"l1": 1.0, "l2": 2.0, "linf": math.inf}


def as_p(norm: str | float) -> float:
    r"""The exponent p of a norm given as ``"l1"``, ``"l2"``, ``"linf"`` or a number.

    Only p in {1, 2, inf} are supported: they are the norms whose steepest direction
    and projection have simple closed forms.

    >>> as_p("linf"), as_p(2)
    (inf, 2.0)
    """
    if isinstance(norm, bool):  # True == 1 would otherwise mean L1
        pass
    elif isinstance(norm, str):
        if norm.lower() in NORM_NAMES:
            return NORM_NAMES[norm.lower()]
    elif isinstance(norm, (int, float)) and float(norm) in NORM_NAMES.values():
        return float(norm)
    raise ValueError(f"norm must be one of 'l1', 'l2', 'linf' (or 1, 2, inf), got {norm!r}")


def dual_exponent(p: str | float) -> float:
    r"""The dual exponent q of p, defined by 1/p + 1/q = 1.

    p = 1 gives q = inf, p = 2 gives q = 2, p = inf gives q = 1.

    >>> dual_exponent("linf")
    1.0
    """
    p = as_p(p)
    if p == 1.0:
        return math.inf
    if p == math.inf:
        return 1.0
    return p / (p - 1.0)


def lp_norm(x: torch.Tensor, p: str | float) -> torch.Tensor:
    r"""The Lp norm of each sample: ``x`` of shape (N, ...) gives a tensor of shape (N,).

    .. math:: \|x\|_p = (\sum_i |x_i|^p)^{1/p}, \qquad \|x\|_\infty = \max_i |x_i|.

    >>> lp_norm(torch.tensor([[3.0, -4.0]]), 2)
    tensor([5.])
    """
    return torch.linalg.vector_norm(x.flatten(1), ord=as_p(p), dim=1)


def box_diameter(d: int, p: str | float) -> float:
    r"""The diameter of the box :math:`[0, 1]^d` in the Lp norm, :math:`d^{1/p}`: 1 for L∞,
    :math:`\sqrt d` for L2, d for L1. A ball of this radius around any point of the box
    holds the whole box.

    >>> box_diameter(64, "l2")
    8.0
    """
    return {math.inf: 1.0, 2.0: math.sqrt(d), 1.0: float(d)}[as_p(p)]


def per_sample(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    r"""A per-sample value (a scalar or shape (N,)) shaped to broadcast against ``like``
    of shape (N, ...): one radius, step size or mask per sample."""
    return v.expand(like.shape[0]).reshape(-1, *([1] * (like.dim() - 1)))


def steepest_direction(g: torch.Tensor, p: str | float) -> torch.Tensor:
    r"""The maximiser of <g, eta> over the unit ball ||eta||_p <= 1, per sample.

    .. math::

        \eta^\star = \arg\max_{\|\eta\|_p \le 1} \langle g, \eta \rangle,
        \qquad \langle g, \eta^\star \rangle = \|g\|_q .

    - p = inf: :math:`\eta^\star = \operatorname{sign}(g)` (FGSM's direction);
    - p = 2: :math:`\eta^\star = g / \|g\|_2` (FGM's direction);
    - p = 1: a one-hot vector on the coordinate of largest :math:`|g_i|`, with its sign.

    A sample whose gradient is zero gets the zero direction.

    Args:
        g: gradients, shape (N, ...).
        p: the norm of the ball (``"l1"``, ``"l2"``, ``"linf"`` or 1, 2, inf).

    Returns:
        A tensor shaped like ``g``.

    >>> steepest_direction(torch.tensor([[3.0, -4.0]]), "l2")
    tensor([[ 0.6000, -0.8000]])
    """
    p = as_p(p)
    if p == math.inf:
        return g.sign()
    if p == 2.0:
        norm = per_sample(lp_norm(g, 2), g)
        return torch.where(norm > 0, g / norm.clamp_min(1e-30), torch.zeros_like(g))
    flat = g.flatten(1)
    top = flat.abs().argmax(dim=1, keepdim=True)
    one_hot = torch.zeros_like(flat).scatter(1, top, flat.gather(1, top).sign())
    return one_hot.view_as(g)


def steepest_value(g: torch.Tensor, p: str | float, eps: float | torch.Tensor) -> torch.Tensor:
    r"""The value of the steepest ascent, per sample:

    .. math:: \max_{\|\eta\|_p \le \epsilon} \langle g, \eta \rangle = \epsilon \|g\|_q,
              \qquad \tfrac1p + \tfrac1q = 1,

    attained at ``eps * steepest_direction(g, p)``. For a linear score
    :math:`\langle \theta, x \rangle` it is the largest change an ε-perturbation can make.

    >>> steepest_value(torch.tensor([[3.0, -4.0]]), "linf", 0.1)
    tensor([0.7000])
    """
    return torch.as_tensor(eps, dtype=g.dtype, device=g.device) * lp_norm(g, dual_exponent(p))


def _project_l1(delta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    r"""Euclidean projection onto the L1 ball of radius eps (Duchi et al., 2008), per sample."""
    flat = delta.flatten(1)
    eps = eps.reshape(-1, 1)
    magnitude = flat.abs()
    inside = magnitude.sum(dim=1, keepdim=True) <= eps
    sorted_mag, _ = magnitude.sort(dim=1, descending=True)
    cumulative = sorted_mag.cumsum(dim=1)
    ranks = torch.arange(1, flat.shape[1] + 1, device=delta.device, dtype=delta.dtype)
    positive = sorted_mag - (cumulative - eps) / ranks > 0
    rho = positive.to(delta.dtype).cumsum(dim=1).argmax(dim=1, keepdim=True)
    threshold = (cumulative.gather(1, rho) - eps) / (rho + 1).to(delta.dtype)
    shrunk = flat.sign() * (magnitude - threshold).clamp_min(0)
    return torch.where(inside, flat, shrunk).view_as(delta)


def project(delta: torch.Tensor, p: str | float, eps: float | torch.Tensor) -> torch.Tensor:
    r"""Project each perturbation onto the ball ||delta||_p <= eps (Euclidean projection).

    - p = inf: clamp every coordinate to [-eps, eps];
    - p = 2: rescale by :math:`\min(1, \epsilon / \|\delta\|_2)`;
    - p = 1: soft-thresholding at the level that makes the L1 norm equal eps.

    Args:
        delta: perturbations, shape (N, ...).
        p: the norm.
        eps: the radius, a float or a tensor of shape (N,) (one radius per sample).

    >>> project(torch.tensor([[3.0, -4.0]]), "l2", 1.0)
    tensor([[ 0.6000, -0.8000]])
    """
    p = as_p(p)
    eps = torch.as_tensor(eps, dtype=delta.dtype, device=delta.device).expand(delta.shape[0])
    if p == math.inf:
        bound = per_sample(eps, delta)
        return torch.maximum(torch.minimum(delta, bound), -bound)
    if p == 2.0:
        norm = per_sample(lp_norm(delta, 2), delta)
        scale = (per_sample(eps, delta) / norm.clamp_min(1e-30)).clamp(max=1.0)
        return delta * scale
    return _project_l1(delta, eps)


def clip_to_box(x: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    r"""The perturbation that keeps ``x + delta`` inside the image box [0, 1].

    Each coordinate is clamped to [-x_i, 1 - x_i]. Clamping only shrinks coordinates
    towards zero, so it never increases any Lp norm of ``delta``: a perturbation that was
    in the ε-ball stays in it.
    """
    return (x + delta).clamp(0.0, 1.0) - x


def uniform_in_ball(
    x: torch.Tensor,
    p: str | float,
    eps: float | torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""A perturbation drawn uniformly in the ε-ball of the Lp norm, one per sample of ``x``
    (ε a number or one per sample, shape (N,)); it lives on ``x.device``.

    L∞: uniform in the cube. L2: a uniform direction times :math:`\epsilon U^{1/d}`.
    L1: signs times a uniform point of the simplex (normalised exponentials) scaled by
    :math:`\epsilon U^{1/d}`. ``generator=None`` draws from torch's global generator.
    The perturbation is not clipped to the box: see :func:`clip_to_box`.
    """
    p = as_p(p)
    n, d = x.shape[0], x[0].numel()
    options = {"generator": generator, "dtype": x.dtype, "device": x.device}
    radius = per_sample(torch.as_tensor(eps, dtype=x.dtype, device=x.device).expand(n), x)
    if p == math.inf:
        return (2 * torch.rand(x.shape, **options) - 1) * radius
    if p == 2.0:
        direction = torch.randn(x.shape, **options)
        direction = direction / per_sample(lp_norm(direction, 2).clamp_min(1e-30), x)
    else:
        # a draw of exactly 0 (likely in float16) would give an infinite exponential
        tiny = torch.finfo(x.dtype).tiny
        exponential = -torch.rand((n, d + 1), **options).clamp_min(tiny).log()
        simplex = (exponential / exponential.sum(dim=1, keepdim=True).clamp_min(1e-30))[:, :d]
        signs = (
            torch.randint(0, 2, (n, d), generator=generator, device=x.device).to(x.dtype) * 2 - 1
        )
        direction = (signs * simplex / simplex.sum(dim=1, keepdim=True).clamp_min(1e-30)).view_as(x)
    u = torch.rand(n, **options) ** (1.0 / d)
    return direction * radius * per_sample(u, x)
