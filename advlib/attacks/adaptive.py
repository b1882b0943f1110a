r"""Adaptive attacks: differentiable stand-ins for defended models (BPDA, EOT), and PGD on them.

A defence that breaks gradients (rounding, randomness) is attacked through a surrogate
that keeps its forward pass and has useful gradients (Athalye, Carlini & Wagner, 2018).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from advlib import seeded
from advlib.attacks.gradient import pgd
from advlib.contracts import check_gradients_possible, check_positive_int


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
    check_positive_int(eot, "eot")
    surrogate = copy.deepcopy(model)
    for module in surrogate.modules():
        if hasattr(module, "straight_through"):
            module.straight_through = True
    return surrogate if eot == 1 else _ExpectationOverTransformation(surrogate, eot)


def adaptive_pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | torch.Tensor,
    eot: int = 1,
    seed: int = 0,
    **pgd_options,
) -> torch.Tensor:
    r"""An adaptive attack ("Attack B" of the book): :func:`~advlib.attacks.pgd` run on :func:`~advlib.attacks.bpda` of the
    model, so that the gradient steps go through the defence's non-differentiable or
    random layers instead of stopping at them (Athalye, Carlini & Wagner, 2018).

    .. math::

        \delta_{t+1} = \Pi_\epsilon\big(\delta_t + \alpha\, \eta^\star(\hat\nabla_\delta\,
        \ell(f(q(x + \delta_t)), k))\big),

    with :math:`\hat\nabla` the BPDA/EOT gradient. Its random draws (random starts and a
    randomised defence's noise) come from ``seed``, so the attack is deterministic; the
    global random state is left as it was.

    Args:
        model, x, y, eps: as in :func:`~advlib.attacks.pgd`.
        eot: draws averaged per gradient for a randomised defence.
        seed: seed of the random starts and of the defence's noise.
        **pgd_options: passed to :func:`~advlib.attacks.pgd` (``norm``, ``steps``, ``restarts``, ``loss`` ...).

    >>> x_adv = adaptive_pgd(models.quantized(cnn), x, y, eps=0.1, steps=40)  # doctest: +SKIP
    """
    check_gradients_possible("adaptive_pgd")
    with seeded(seed):
        return pgd(bpda(model, eot), x, y, eps=eps, seed=seed, **pgd_options)
