r"""Attacks: approximate solvers of the bounded attack problem.

An attack A(x) approximately solves

.. math::

    \max_{\|x' - x\|_p \le \varepsilon,\; x' \in [0, 1]^d} \ell(f(x'), k),

the loss ℓ standing in for the talk's "make the score of the true class k small". All
attacks here share one contract (tested in ``tests/test_attacks.py``):

- they return a new tensor ``x_adv`` with ``‖x_adv − x‖_p ≤ ε`` and ``x_adv`` in [0, 1];
- they never change ``x``, the model's parameters, their ``.grad`` or the model's mode;
- they are deterministic for a given ``seed``;
- bad input raises a ``ValueError`` naming the argument.

Every step direction comes from :func:`advlib.norms.steepest_direction` and every
projection from :func:`advlib.norms.project`: one loop serves every norm.
"""

from __future__ import annotations

import copy
import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from advlib.norms import as_p, clip_to_box, lp_norm, per_sample, project, steepest_direction
from advlib.progress import bar

Attack = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
"""An attack bound to its budget, e.g. ``functools.partial(pgd, eps=0.1)``: called as
``attack(model, x, y)`` it returns ``x_adv``."""


def check_inputs(x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor | None = None,
                 steps: int = 1) -> None:
    """Refuse bad input with a ValueError that names the argument and what is accepted."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError("x must be a floating-point tensor of shape (N, ...)")
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.dtype not in (torch.int64, torch.int32):
        raise ValueError("y must be a 1-D tensor of integer class labels")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same batch size, got {x.shape[0]} and {y.shape[0]}")
    if torch.isnan(x).any() or (x.numel() > 0 and (x.min() < 0 or x.max() > 1)):
        raise ValueError("x must lie in [0, 1] and contain no NaN")
    if eps is not None:
        eps_t = torch.as_tensor(eps, dtype=torch.float64)
        if eps_t.dim() > 1 or (eps_t.dim() == 1 and eps_t.shape[0] != x.shape[0]):
            raise ValueError("eps must be a number or a tensor with one budget per sample, shape (N,)")
        if torch.isnan(eps_t).any() or (eps_t < 0).any() or torch.isinf(eps_t).any():
            raise ValueError(f"eps must be finite and non-negative, got {eps}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps}")


def check_labels(logits: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse labels outside the model's classes 0..K-1 (K read off the logits)."""
    num_classes = logits.shape[1]
    if y.numel() > 0 and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must hold labels in 0..{num_classes - 1} (the model's classes)")


def attack_objective(logits: torch.Tensor, y: torch.Tensor, loss: str = "ce",
                     targeted: bool = False) -> torch.Tensor:
    r"""The per-sample quantity an attack maximises.

    - ``"ce"``: the cross-entropy :math:`\ell(f(x'), k)`, or its negative toward a target t;
    - ``"margin"`` (Carlini & Wagner): :math:`\max_{j \ne k} f_j(x') - f_k(x')`, positive
      exactly when the attack succeeds; targeted: :math:`f_t(x') - \max_{j \ne t} f_j(x')`.

    Args:
        logits: shape (N, K). y: the true labels, or the targets if ``targeted``.
    """
    if loss == "ce":
        ce = F.cross_entropy(logits, y, reduction="none")
        return -ce if targeted else ce
    if loss == "margin":
        label_logit = logits.gather(1, y[:, None]).squeeze(1)
        others = logits.scatter(1, y[:, None], -math.inf).amax(dim=1)
        return label_logit - others if targeted else others - label_logit
    raise ValueError(f"loss must be 'ce' or 'margin', got {loss!r}")


def is_success(logits: torch.Tensor, y: torch.Tensor, targeted: bool = False) -> torch.Tensor:
    """Per sample: misclassified (untargeted), or classified as the target ``y`` (targeted)."""
    predicted = logits.argmax(dim=1)
    return predicted == y if targeted else predicted != y


def input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "ce",
                   targeted: bool = False) -> torch.Tensor:
    r""":math:`\nabla_x` of the attack objective, per sample, without touching the parameters'
    ``.grad`` (the gradient is taken with respect to the input only)."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    check_labels(logits, y)
    (grad,) = torch.autograd.grad(attack_objective(logits, y, loss, targeted).sum(), x)
    return grad


def fast_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
                  norm: str | float = "linf") -> torch.Tensor:
    r"""One step of size ε along the steepest-ascent direction of the loss.

    .. math:: x' = \operatorname{clip}_{[0,1]}\big(x + \varepsilon\, \eta^\star(\nabla_x \ell(f(x), k))\big)

    with :math:`\eta^\star` = :func:`~advlib.norms.steepest_direction`: the exact maximiser
    of the linearised loss over the ε-ball (exact for a linear model).
    """
    check_inputs(x, y, eps)
    grad = input_gradient(model, x, y)
    step = per_sample(torch.as_tensor(eps, dtype=x.dtype), x) * steepest_direction(grad, norm)
    return (x + clip_to_box(x, step)).detach()


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
    r"""Fast Gradient Sign Method (Goodfellow et al., 2014), the L∞ attack
    :math:`x' = x + \varepsilon \operatorname{sign}(\nabla_x \ell(f(x), k))`, clipped to [0, 1].

    Args:
        model: maps (N, ...) inputs in [0, 1] to (N, K) logits.
        x: inputs, shape (N, ...). y: true labels, shape (N,). eps: L∞ budget.

    >>> x_adv = fgsm(model, x, y, eps=0.1)  # doctest: +SKIP
    """
    return fast_gradient(model, x, y, eps, "linf")


def fgm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
    r"""Fast Gradient Method, the L2 attack
    :math:`x' = x + \varepsilon \nabla_x \ell / \|\nabla_x \ell\|_2`, clipped to [0, 1].

    >>> x_adv = fgm(model, x, y, eps=0.5)  # doctest: +SKIP
    """
    return fast_gradient(model, x, y, eps, "l2")


def uniform_in_ball(x: torch.Tensor, eps: torch.Tensor, p: float,
                    generator: torch.Generator | None) -> torch.Tensor:
    r"""A perturbation drawn uniformly in the ε-ball of the Lp norm (ε per sample, shape (N,)).

    L∞: uniform in the cube. L2: a uniform direction times :math:`\varepsilon U^{1/d}`.
    L1: signs times a uniform point of the simplex scaled by :math:`\varepsilon U^{1/d}`.
    ``generator=None`` draws from torch's global generator.
    """
    n, d = x.shape[0], x[0].numel()
    radius = per_sample(eps, x)
    if p == math.inf:
        return (2 * torch.rand(x.shape, generator=generator, dtype=x.dtype) - 1) * radius
    if p == 2.0:
        direction = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        direction = direction / per_sample(lp_norm(direction, 2).clamp_min(1e-30), x)
    else:
        exponential = -torch.rand((n, d + 1), generator=generator, dtype=x.dtype).log()
        simplex = (exponential / exponential.sum(dim=1, keepdim=True))[:, :d]
        signs = torch.randint(0, 2, (n, d), generator=generator).to(x.dtype) * 2 - 1
        direction = (signs * simplex / simplex.sum(dim=1, keepdim=True)).view_as(x)
    u = torch.rand(n, generator=generator, dtype=x.dtype) ** (1.0 / d)
    return direction * radius * per_sample(u, x)


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float | torch.Tensor,
        norm: str | float = "linf", steps: int = 40, step_size: float | None = None,
        random_start: bool = True, restarts: int = 1, targeted: bool = False, loss: str = "ce",
        keep_best: bool = True, seed: int | None = 0) -> torch.Tensor:
    r"""Projected gradient ascent on the attack objective (Madry et al., 2018).

    .. math::

        \delta_{t+1} = \Pi_{\|\delta\|_p \le \varepsilon}\big(\delta_t + \alpha\,
        \eta^\star(\nabla_\delta \ell(f(x + \delta_t), k))\big),
        \quad \text{then clipped so that } x + \delta_{t+1} \in [0, 1]^d,

    with :math:`\eta^\star` the steepest direction of :mod:`advlib.norms`. Each sample keeps
    the best iterate over the steps and the restarts: a successful one first (misclassified,
    or on the target), then the one of largest objective. Restarts are batched (one pass
    over ``restarts × N`` samples), each from its own random start.

    Args:
        model: maps (N, ...) inputs in [0, 1] to (N, K) logits.
        x: inputs in [0, 1], shape (N, ...). y: true labels (or targets), shape (N,).
        eps: the budget ε, a number or one per sample (shape (N,)).
        norm: ``"linf"``, ``"l2"`` or ``"l1"``.
        steps: number of gradient steps n (PGD-n), at least 1.
        step_size: α; default 2.5 ε / steps, so that the iterates can cross the ball.
        random_start: start from a uniform point of the ball rather than from x.
        restarts: number of random starts; the best result per sample is kept.
        targeted: move toward the class ``y`` instead of away from it.
        loss: ``"ce"`` (cross-entropy) or ``"margin"`` (Carlini–Wagner margin).
        keep_best: keep each sample's best iterate (default); ``False`` keeps the last
            one, as fast adversarial training does (Wong, Rice & Kolter, 2020).
        seed: seed of the random starts; ``None`` draws them from torch's global
            generator, so that successive calls (e.g. the batches of
            :func:`advlib.train.fit`, which seeds it) get fresh noise.

    Returns:
        ``x_adv``, shape of ``x``.

    >>> x_adv = pgd(model, x, y, eps=0.1, norm="linf", steps=40)  # doctest: +SKIP
    """
    p = as_p(norm)
    check_inputs(x, y, eps, steps)
    if not isinstance(restarts, int) or restarts < 1:
        raise ValueError(f"restarts must be an integer >= 1, got {restarts}")
    if loss not in ("ce", "margin"):
        raise ValueError(f"loss must be 'ce' or 'margin', got {loss!r}")
    if step_size is not None and not step_size > 0:
        raise ValueError(f"step_size must be positive, got {step_size}")
    x = x.detach()
    eps_t = torch.as_tensor(eps, dtype=x.dtype).expand(x.shape[0]).repeat(restarts)
    alpha = 2.5 * eps_t / steps if step_size is None else torch.full_like(eps_t, step_size)
    xs = x.repeat(restarts, *([1] * (x.dim() - 1)))
    alpha = per_sample(alpha, xs)
    ys = y.repeat(restarts)

    generator = None if seed is None else torch.Generator().manual_seed(seed)
    if random_start:
        starts = [uniform_in_ball(x, eps_t[: x.shape[0]], p, generator) for _ in range(restarts)]
        delta = clip_to_box(xs, torch.cat(starts))
    else:
        delta = torch.zeros_like(xs)

    best_delta = delta.clone()
    best_success = torch.zeros(xs.shape[0], dtype=torch.bool)
    best_objective = torch.full((xs.shape[0],), -math.inf, dtype=x.dtype)
    for step in range(steps + 1):
        delta.requires_grad_(True)
        logits = model(xs + delta)
        if step == 0:
            check_labels(logits, ys)
        objective = attack_objective(logits, ys, loss, targeted)
        success = is_success(logits.detach(), ys, targeted)
        if keep_best:
            better = (success & ~best_success) | ((success == best_success) & (objective.detach() > best_objective))
        else:
            better = torch.ones_like(success)  # always the last iterate
        best_delta = torch.where(per_sample(better, xs), delta.detach(), best_delta)
        best_success = torch.where(better, success, best_success)
        best_objective = torch.where(better, objective.detach(), best_objective)
        if step == steps:
            break
        (grad,) = torch.autograd.grad(objective.sum(), delta)
        delta = delta.detach() + alpha * steepest_direction(grad, p)
        delta = clip_to_box(xs, project(delta, p, eps_t))

    n = x.shape[0]
    success = best_success.view(restarts, n)
    objective = best_objective.view(restarts, n)
    # per sample: among the restarts, the successful ones first, then the largest objective
    objective = torch.where(success.any(dim=0) & ~success, -math.inf, objective)
    winner = objective.argmax(dim=0)
    chosen = best_delta.view(restarts, n, *x.shape[1:])[winner, torch.arange(n)]
    return (x + chosen).detach()


class MinimalPerturbation(NamedTuple):
    """Result of :func:`minimal_perturbation`: the adversarial inputs and, per sample, the
    norm of the perturbation found (``inf`` where none was found, 0 where x is already
    misclassified)."""

    x_adv: torch.Tensor
    radius: torch.Tensor


def minimal_perturbation(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, norm: str | float = "l2",
                         eps_max: float | None = None, search_steps: int = 12, steps: int = 20,
                         restarts: int = 1, seed: int = 0) -> MinimalPerturbation:
    r"""The smallest perturbation found that changes the prediction: the talk's eq. (1),

    .. math:: \varepsilon^\star(x) = \min\{\|\eta\|_p : g(x + \eta) \ne k\},

    estimated by a per-sample bisection on ε over PGD: an ε where PGD succeeds bounds the
    radius from above, one where it fails is taken as a lower bound. The returned radius is
    therefore an **upper bound** on the true robustness radius, tight up to the attack's
    strength and the bisection's resolution ``eps_max / 2**search_steps``.

    Args:
        norm: ``"linf"``, ``"l2"`` or ``"l1"``.
        eps_max: the largest budget tried; default the diameter of the box [0, 1]^d in
            that norm (1 for L∞, √d for L2, d for L1).
        search_steps: number of bisection steps.
        steps, restarts, seed: passed to :func:`pgd` (margin loss, which is positive exactly
            at success).

    Returns:
        :class:`MinimalPerturbation` ``(x_adv, radius)``, ``radius`` of shape (N,).
    """
    p = as_p(norm)
    check_inputs(x, y, eps_max, steps)
    if not isinstance(search_steps, int) or search_steps < 1:
        raise ValueError(f"search_steps must be an integer >= 1, got {search_steps}")
    d = x[0].numel()
    if eps_max is None:
        eps_max = {math.inf: 1.0, 2.0: math.sqrt(d), 1.0: float(d)}[p]
    with torch.no_grad():
        logits = model(x)
    check_labels(logits, y)
    already_wrong = logits.argmax(dim=1) != y

    def attack(eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_adv = pgd(model, x, y, eps=eps, norm=p, steps=steps, restarts=restarts, loss="margin", seed=seed)
        with torch.no_grad():
            return x_adv, model(x_adv).argmax(dim=1) != y

    low = torch.zeros(x.shape[0], dtype=x.dtype)
    high = torch.full((x.shape[0],), float(eps_max), dtype=x.dtype)
    best, found = attack(high)
    for _ in bar(range(search_steps), desc="radius search"):  # silent under tests, see advlib.progress
        middle = (low + high) / 2
        x_adv, success = attack(middle)
        success = success & found
        best = torch.where(per_sample(success, x), x_adv, best)
        high = torch.where(success, middle, high)
        low = torch.where(success, low, middle)
    best = torch.where(per_sample(already_wrong, x), x, best)
    radius = lp_norm(best - x, p)
    radius = torch.where(found | already_wrong, radius, torch.full_like(radius, math.inf))
    best = torch.where(per_sample(found | already_wrong, x), best, x)
    return MinimalPerturbation(best.detach(), radius)


def _ball_grid(p: float, resolution: int, dtype: torch.dtype) -> torch.Tensor:
    """Offsets covering the unit Lp ball of the plane, shape (M, 2): the points of a
    ``resolution``² grid on [-1, 1]² that lie in the ball, plus, for L2, points on the circle."""
    side = torch.linspace(-1.0, 1.0, resolution, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(side, side, indexing="xy"), dim=-1).reshape(-1, 2)
    if p == math.inf:
        return grid.to(dtype)
    inside = grid[lp_norm(grid, p) <= 1.0 + 1e-9]
    if p == 2.0:
        angles = torch.linspace(0.0, 2 * math.pi, 4 * resolution + 1, dtype=torch.float64)[:-1]
        inside = torch.cat([inside, torch.stack([angles.cos(), angles.sin()], dim=1)])
    return inside.to(dtype)


def dense_search(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float | torch.Tensor,
                 norm: str | float = "l2", resolution: int = 61, chunk: int = 2**16) -> torch.Tensor:
    r"""The bounded attack solved by brute force in two dimensions: try every point of a
    dense grid in the ε-ball and keep the worst.

    .. math::

        A(x) = \arg\max_{x' \in G_\varepsilon(x)} \Big(\max_{j \ne k} f_j(x') - f_k(x')\Big),
        \qquad G_\varepsilon(x) = \{x + \varepsilon u : u \in G\} \cap [0, 1]^2,

    where :math:`G` holds the points of a ``resolution`` × ``resolution`` grid on
    :math:`[-1, 1]^2` that lie in the unit Lp ball (for L2, also ``4 * resolution`` points
    on its circle). The margin is positive exactly when :math:`g(x') \ne k`, so
    :math:`g(A(x)) \ne k` as soon as one grid point of the ball is misclassified. With an odd
    ``resolution`` the centre :math:`\eta = 0` is on the grid. Unlike a gradient attack,
    this is the exact maximiser of the talk's eq. (5) inside the ball up to the grid's
    spacing :math:`2\varepsilon / (\text{resolution} - 1)`: it misses only misclassified
    regions thinner than that. Possible in 2D only (the grid grows like resolution^d).

    Args:
        model: maps (N, 2) inputs in [0, 1]² to (N, K) logits.
        x: points, shape (N, 2). y: their labels, shape (N,).
        eps: the budget, a number or one per sample (shape (N,)).
        norm: ``"l2"`` (disc), ``"linf"`` (square) or ``"l1"`` (diamond).
        resolution: grid points per side, at least 2 (odd keeps the centre on the grid).
        chunk: largest number of inputs given to the model at once (memory only).

    Returns:
        ``x_adv``, shape (N, 2), with ``‖x_adv − x‖_p ≤ ε`` and ``x_adv`` in [0, 1]².

    >>> x_adv = dense_search(model, X, y, eps=0.1, norm="linf")  # doctest: +SKIP
    >>> risk_rob(model, X, y, functools.partial(dense_search, eps=0.1))  # doctest: +SKIP
    """
    p = as_p(norm)
    check_inputs(x, y, eps)
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (N, 2) (dense search is for 2D inputs), got {tuple(x.shape)}")
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution}")
    x = x.detach()
    offsets = _ball_grid(p, resolution, x.dtype)
    eps_t = torch.as_tensor(eps, dtype=x.dtype).expand(x.shape[0])
    best = torch.empty_like(x)
    rows = max(1, chunk // len(offsets))
    with torch.no_grad():
        for start in range(0, x.shape[0], rows):
            xb, yb, eb = x[start:start + rows], y[start:start + rows], eps_t[start:start + rows]
            candidates = (xb[:, None, :] + eb[:, None, None] * offsets[None]).clamp(0.0, 1.0)
            logits = model(candidates.reshape(-1, 2))
            check_labels(logits, yb)
            margin = attack_objective(logits, yb.repeat_interleave(len(offsets)), "margin")
            winner = margin.view(len(xb), len(offsets)).argmax(dim=1)
            best[start:start + rows] = candidates[torch.arange(len(xb)), winner]
    return best


class _ExpectationOverTransformation(nn.Module):
    """The average of a randomised model's logits over ``samples`` draws (one batched pass)."""

    def __init__(self, model: nn.Module, samples: int) -> None:
        super().__init__()
        self.model = model
        self.samples = samples

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x.repeat(self.samples, *([1] * (x.dim() - 1))))
        return logits.view(self.samples, x.shape[0], -1).mean(dim=0)


def bpda(model: nn.Module, eot: int = 1) -> nn.Module:
    r"""The differentiable stand-in that an adaptive attack differentiates instead of a
    defended model (Athalye, Carlini & Wagner, 2018).

    - **BPDA** (Backward Pass Differentiable Approximation): every layer that offers a
      ``straight_through`` switch (e.g. :class:`advlib.models.InputQuantization`) keeps its
      forward pass but is differentiated as the identity,
      :math:`\nabla_x f(q(x)) \approx \nabla_z f(z)\big|_{z = q(x)}`, since :math:`q(x) \approx x`.
    - **EOT** (Expectation over Transformation): for a randomised defence, the logits are
      averaged over ``eot`` draws, :math:`\mathbb{E}_r f(x; r)`, whose gradient is the
      average gradient.

    Args:
        model: the defended model; it is copied, never changed.
        eot: number of random draws averaged (1 for a deterministic defence).

    Returns:
        A module with the same outputs as ``model`` (for ``eot`` = 1) and useful gradients.

    >>> x_adv = pgd(bpda(defended), x, y, eps=0.1)  # doctest: +SKIP
    """
    if not isinstance(eot, int) or eot < 1:
        raise ValueError(f"eot must be an integer >= 1, got {eot}")
    surrogate = copy.deepcopy(model)
    for module in surrogate.modules():
        if hasattr(module, "straight_through"):
            module.straight_through = True
    return surrogate if eot == 1 else _ExpectationOverTransformation(surrogate, eot)


def adaptive_pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float | torch.Tensor,
                 eot: int = 1, seed: int = 0, **pgd_options) -> torch.Tensor:
    r"""An adaptive attack ("Attack B" of the book): :func:`pgd` run on :func:`bpda` of the
    model, so that the gradient steps go through the defence's non-differentiable or
    random layers instead of stopping at them (Athalye, Carlini & Wagner, 2018).

    .. math::

        \delta_{t+1} = \Pi_\varepsilon\big(\delta_t + \alpha\, \eta^\star(\hat\nabla_\delta\,
        \ell(f(q(x + \delta_t)), k))\big),

    with :math:`\hat\nabla` the BPDA/EOT gradient. Its random draws (random starts and a
    randomised defence's noise) come from ``seed``, so the attack is deterministic; the
    global random state is left as it was.

    Args:
        model, x, y, eps: as in :func:`pgd`.
        eot: draws averaged per gradient for a randomised defence.
        seed: seed of the random starts and of the defence's noise.
        **pgd_options: passed to :func:`pgd` (``norm``, ``steps``, ``restarts``, ``loss`` ...).

    >>> x_adv = adaptive_pgd(models.quantized(cnn), x, y, eps=0.1, steps=40)  # doctest: +SKIP
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return pgd(bpda(model, eot), x, y, eps=eps, seed=seed, **pgd_options)


def nearest_misclassified(model: nn.Module, x: torch.Tensor, y: torch.Tensor, pool: torch.Tensor,
                          pool_y: torch.Tensor, *, norm: str | float = "l2") -> MinimalPerturbation:
    r"""An exhaustive search restricted to a set: the closest point of ``pool`` that has the
    same true class as x and that the model misclassifies.

    .. math::

        x' = \arg\min \{\|x' - x\|_p : x' \in P,\ k(x') = k,\ g(x') \ne k\}.

    With ``pool`` a dense sample of the data manifold (e.g. :func:`advlib.data.manifold`
    with many points and no noise), this is an *on-manifold* adversarial example in the
    sense of Stutz, Hein & Schiele (2019): a real input of class k, near x, that the model
    gets wrong, i.e. a test error. Its radius can only be compared with the one of an
    unrestricted attack (:func:`minimal_perturbation`), which may leave the manifold.

    Args:
        model: maps (N, ...) inputs to (N, K) logits.
        x: points, shape (N, ...). y: their labels, shape (N,).
        pool: the candidates, shape (M, ...) (same shape per sample as x).
        pool_y: the candidates' true labels, shape (M,).
        norm: the norm of the distance.

    Returns:
        :class:`MinimalPerturbation` ``(x_adv, radius)``: the nearest such candidate and its
        distance; ``radius`` is 0 (and ``x_adv`` is x) where x itself is misclassified and
        ``inf`` (``x_adv`` is x) where no candidate qualifies.

    >>> on = nearest_misclassified(model, test.X, test.y, dense.X, dense.y)  # doctest: +SKIP
    """
    p = as_p(norm)
    check_inputs(x, y)
    check_inputs(pool, pool_y)
    if pool.shape[1:] != x.shape[1:]:
        raise ValueError(f"pool must hold points shaped like x's, got {tuple(pool.shape[1:])} and {tuple(x.shape[1:])}")
    with torch.no_grad():
        logits, pool_logits = model(x), model(pool)
    check_labels(logits, y)
    check_labels(pool_logits, pool_y)
    wrong = pool_logits.argmax(dim=1) != pool_y
    distance = torch.cdist(x.flatten(1).double(), pool.flatten(1).double(), p=p)
    distance[~wrong[None, :].expand_as(distance) | (y[:, None] != pool_y[None, :])] = math.inf
    radius, index = distance.min(dim=1)
    found = radius.isfinite()
    x_adv = torch.where(per_sample(found, x), pool[index], x)
    already_wrong = logits.argmax(dim=1) != y
    x_adv = torch.where(per_sample(already_wrong, x), x, x_adv)
    radius = torch.where(already_wrong, torch.zeros_like(radius), radius)
    return MinimalPerturbation(x_adv.detach(), radius.to(x.dtype))
