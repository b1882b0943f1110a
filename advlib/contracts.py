r"""The ground floor: what an attack is, and the checks of what public functions accept.

An **attack bound to its budget** is a function ``(model, x, y) -> x_adv`` (the type
:data:`Attack`), e.g. ``functools.partial(pgd, eps=0.1)``. Metrics and training take one.
Curves and sanity checks, which vary the budget, take an ``attack_at`` (the type
:data:`AttackAt`): a function ``eps -> Attack``, made with :func:`at_budget`.

The checks refuse bad input with a ``ValueError`` that names the argument and what is
accepted. They run at public entry points only, not again at every layer.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import torch
from torch import nn

#: An attack bound to its budget, called as ``attack(model, x, y)`` to return ``x_adv``.
Attack = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

#: A family of attacks indexed by the budget; ``attack_at(eps)`` returns an ``Attack``, and
#: those made by :func:`at_budget` also take keyword overrides (``attack_at(eps, steps=5)``).
AttackAt = Callable[..., Attack]

#: Floating-point types attacks and metrics compute in; float16 and bfloat16 are refused
#: (their rounding can push a projected point out of the ε-ball).
IMAGE_DTYPES = (torch.float32, torch.float64)


def at_budget(attack: Callable[..., torch.Tensor], **options) -> AttackAt:
    """The family ``eps -> functools.partial(attack, eps=eps, **options)``; keyword
    overrides replace options: ``at_budget(pgd, steps=20)(0.1, steps=5)`` is PGD-5.

    >>> curve = robustness_curve(model, x, y, [0.05, 0.1], at_budget(pgd, steps=10))  # doctest: +SKIP
    """

    def attack_at(eps, **overrides) -> Attack:
        return functools.partial(attack, eps=eps, **{**options, **overrides})

    return attack_at


def check_positive_int(value, name: str, minimum: int = 1) -> None:
    """Refuse anything but an ``int`` (``bool`` excluded) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_images(x, name: str = "x") -> None:
    """Refuse anything but a non-empty float32/float64 tensor (N, ...) with values in [0, 1]."""
    if not isinstance(x, torch.Tensor) or x.dtype not in IMAGE_DTYPES:
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"{name} must be a float32 or float64 tensor of shape (N, ...), got {got}"
            " (convert low-precision inputs with .float())"
        )
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must hold a non-empty batch, shape (N, ...), got {tuple(x.shape)}"
        )
    if torch.isnan(x).any() or x.min() < 0 or x.max() > 1:
        raise ValueError(f"{name} must lie in [0, 1] and contain no NaN")


def check_labels(y, n: int | None = None, name: str = "y") -> None:
    """Refuse anything but a 1-D int64 tensor of labels (of length ``n`` when given)."""
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.dtype != torch.int64:
        got = (
            f"{y.dtype}, shape {tuple(y.shape)}"
            if isinstance(y, torch.Tensor)
            else type(y).__name__
        )
        raise ValueError(
            f"{name} must be a 1-D int64 tensor of class labels, got {got} (use .long())"
        )
    if n is not None and y.shape[0] != n:
        raise ValueError(f"x and {name} must have the same batch size, got {n} and {y.shape[0]}")


def check_classes(logits: torch.Tensor, y: torch.Tensor, name: str = "y") -> None:
    """Refuse labels outside the model's classes 0..K-1 (K read off the logits (N, K))."""
    num_classes = logits.shape[1]
    if y.numel() > 0 and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name} must hold labels in 0..{num_classes - 1} (the model's classes), "
            f"got values in {int(y.min())}..{int(y.max())}"
        )


def check_budget(eps, n: int, name: str = "eps") -> None:
    """Refuse a budget that is not a finite non-negative number or one per sample, shape (n,)."""
    if isinstance(eps, bool) or not isinstance(eps, (int, float, torch.Tensor)):
        raise ValueError(f"{name} must be a number or a tensor of shape (N,), got {eps!r}")
    eps_t = torch.as_tensor(eps, dtype=torch.float64)
    if eps_t.dim() > 1 or (eps_t.dim() == 1 and eps_t.shape[0] != n):
        raise ValueError(
            f"{name} must be a number or a tensor with one budget per sample, shape ({n},)"
        )
    if torch.isnan(eps_t).any() or (eps_t < 0).any() or torch.isinf(eps_t).any():
        raise ValueError(f"{name} must be finite and non-negative, got {eps}")


def check_step_size(step_size, name: str = "step_size") -> None:
    """Refuse a step size that is not a positive number (``inf`` allowed: a step to the edge)."""
    if isinstance(step_size, bool) or not isinstance(step_size, (int, float)):
        raise ValueError(f"{name} must be a positive number, got {step_size!r}")
    if math.isnan(step_size) or step_size <= 0:
        raise ValueError(f"{name} must be a positive number, got {step_size!r}")


def check_gradients_possible(name: str) -> None:
    """Refuse to take gradients under ``torch.inference_mode``, where autograd cannot run
    (under ``torch.no_grad`` the gradient functions enable it themselves)."""
    if torch.is_inference_mode_enabled():
        raise ValueError(
            f"{name} needs gradients, which torch.inference_mode forbids; "
            "call it outside inference_mode (torch.no_grad is fine)"
        )


def check_inputs(x, y, eps=None) -> None:
    """The checks of a batch: images ``x`` (N, ...), labels ``y`` (N,), and a budget."""
    check_images(x)
    check_labels(y, x.shape[0])
    if eps is not None:
        check_budget(eps, x.shape[0])
