r"""Three small classifiers: linear, MLP and CNN.

Each model takes inputs in [0, 1] and returns K logits (the scores f(x) before the
softmax; g(x) = argmax_i f(x)_i). Input normalisation, :math:`(x - \mu)/\sigma`, is the
model's first layer, so attacks always work in the [0, 1] pixel space where ε is defined.

The constructors draw their initial weights from a private generator seeded with ``seed``
(PyTorch's default initialisation, drawn from that generator), so a model is a pure
function of its arguments and building one leaves torch's global random state alone.
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def evaluated(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in eval mode inside the block, then restore every submodule's mode.

    Attacks and metrics evaluate through it: BatchNorm then uses its running statistics
    (so a point's result does not depend on the batch it sits in, and the statistics are
    not updated) and dropout is off (the attack sees the deterministic network). A model in
    train mode leaves the block in train mode.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


class Normalize(nn.Module):
    r"""The first layer of every model: :math:`x \mapsto (x - \mu) / \sigma`."""

    def __init__(self, mean: float = 0.5, std: float = 0.5) -> None:
        super().__init__()
        if not std > 0:
            raise ValueError(f"std must be positive, got {std}")
        self.mean = mean
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"


def initialise(model: nn.Module, seed: int) -> nn.Module:
    r"""Draw the weights of every linear and convolutional layer of ``model`` as PyTorch's
    default initialisation does, from a private generator seeded with ``seed``:
    :math:`W \sim \text{kaiming-uniform}(a = \sqrt{5})`, i.e.
    :math:`U[-1/\sqrt{\text{fan}_{in}}, 1/\sqrt{\text{fan}_{in}}]`, and the bias from the same
    interval. Returns ``model``.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                if layer.bias is not None:
                    bound = 1 / math.sqrt(layer.weight[0].numel())
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return model


def _check_shape(in_shape: tuple[int, ...], num_classes: int) -> None:
    if len(in_shape) == 0 or any(s < 1 for s in in_shape):
        raise ValueError(f"in_shape must be a tuple of positive sizes, got {in_shape}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")


def linear(
    in_shape: tuple[int, ...],
    num_classes: int,
    *,
    mean: float = 0.5,
    std: float = 0.5,
    seed: int = 0,
) -> nn.Sequential:
    r"""A linear classifier :math:`f_\theta(x) = W (x - \mu)/\sigma + b` (multinomial logistic
    regression when trained with cross-entropy).

    Args:
        in_shape: shape of one input, e.g. ``(2,)`` or ``(1, 8, 8)``.
        num_classes: K.

    >>> model = linear((1, 8, 8), 10)
    >>> model(torch.zeros(3, 1, 8, 8)).shape
    torch.Size([3, 10])
    """
    _check_shape(in_shape, num_classes)
    with torch.random.fork_rng(devices=[]):  # building layers draws from the global generator
        model = nn.Sequential(
            Normalize(mean, std), nn.Flatten(), nn.Linear(math.prod(in_shape), num_classes)
        )
    return initialise(model, seed)


def mlp(
    in_shape: tuple[int, ...],
    num_classes: int,
    *,
    hidden: int = 64,
    depth: int = 2,
    mean: float = 0.5,
    std: float = 0.5,
    seed: int = 0,
) -> nn.Sequential:
    r"""A multilayer perceptron with ``depth`` hidden ReLU layers of width ``hidden``.

    >>> model = mlp((2,), 2, hidden=32)
    >>> model(torch.zeros(5, 2)).shape
    torch.Size([5, 2])
    """
    _check_shape(in_shape, num_classes)
    if hidden < 1 or depth < 1:
        raise ValueError(f"hidden and depth must be positive, got hidden={hidden}, depth={depth}")
    layers: list[nn.Module] = [Normalize(mean, std), nn.Flatten()]
    width = math.prod(in_shape)
    with torch.random.fork_rng(devices=[]):  # building layers draws from the global generator
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, num_classes))
    return initialise(nn.Sequential(*layers), seed)


def small_cnn(
    in_shape: tuple[int, ...] = (1, 8, 8),
    num_classes: int = 10,
    *,
    channels: int = 16,
    mean: float = 0.5,
    std: float = 0.5,
    seed: int = 0,
) -> nn.Sequential:
    r"""Two 3×3 convolutions with ReLU (``channels`` and ``2 * channels`` maps), the second
    with stride 2, adaptive average pooling of the feature maps to 4×4 (the identity for
    8×8 images, whose maps are already 4×4), then a linear layer.

    Works for any image side of at least 4; the number of parameters does not depend on
    the side beyond 8 (pooling to 4×4), so the same architecture serves every resolution.

    >>> model = small_cnn((1, 16, 16), 10)
    >>> model(torch.zeros(2, 1, 16, 16)).shape
    torch.Size([2, 10])
    """
    _check_shape(in_shape, num_classes)
    if len(in_shape) != 3 or min(in_shape[1:]) < 4:
        raise ValueError(
            f"in_shape must be (channels, height, width) with sides >= 4, got {in_shape}"
        )
    with torch.random.fork_rng(devices=[]):  # building layers draws from the global generator
        model = nn.Sequential(
            Normalize(mean, std),
            nn.Conv2d(in_shape[0], channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1, stride=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(2 * channels * 16, num_classes),
        )
    return initialise(model, seed)


class InputQuantization(nn.Module):
    r"""Round every pixel to the nearest of ``levels`` evenly spaced grey levels in [0, 1],

    .. math:: q(x) = \frac{\operatorname{round}\big((L - 1)\, x\big)}{L - 1},

    after adding uniform noise :math:`U[-\text{noise}, \text{noise}]` when ``noise`` > 0
    (a randomised variant). A preprocessing layer of this kind (bit-depth reduction,
    Xu et al. 2018; Guo et al. 2018) is piecewise constant: its derivative is zero almost
    everywhere, so autograd returns a zero input gradient through it. These are the
    *shattered gradients* of Athalye, Carlini & Wagner (2018).

    With ``straight_through = True`` the forward pass is unchanged but the backward pass
    treats q as the identity, :math:`x + \operatorname{stopgrad}(q(x) - x)`: the Backward
    Pass Differentiable Approximation (BPDA) that :func:`advlib.attacks.bpda` switches on.

    Args:
        levels: number of grey levels L, at least 2. With 17 levels the grid is
            :math:`\{0, 1/16, \dots, 1\}`, on which the 8×8 digits already lie, so q changes
            no clean digit.
        noise: half-width of the uniform noise added before rounding (0: deterministic).

    >>> q = InputQuantization(levels=3)
    >>> q(torch.tensor([[0.1, 0.3, 0.8]]))
    tensor([[0.0000, 0.5000, 1.0000]])
    """

    def __init__(self, levels: int = 17, noise: float = 0.0) -> None:
        super().__init__()
        if not isinstance(levels, int) or levels < 2:
            raise ValueError(f"levels must be an integer >= 2, got {levels}")
        if not noise >= 0:
            raise ValueError(f"noise must be non-negative, got {noise}")
        self.levels = levels
        self.noise = noise
        self.straight_through = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.noise > 0:
            x = (x + self.noise * (2 * torch.rand_like(x) - 1)).clamp(0.0, 1.0)
        quantized = torch.round(x * (self.levels - 1)) / (self.levels - 1)
        return x + (quantized - x).detach() if self.straight_through else quantized

    def extra_repr(self) -> str:
        return f"levels={self.levels}, noise={self.noise}"


def quantized(classifier: nn.Module, *, levels: int = 17, noise: float = 0.0) -> nn.Sequential:
    r"""A gradient-masking defence ("Architecture A" of the book): the classifier applied to
    quantised inputs, :math:`f(q(x))` with q = :class:`InputQuantization`.

    The defence barely changes what the classifier computes (with the default 17 levels it
    changes no clean digit), but its input gradient is zero, so gradient attacks such as
    :func:`advlib.attacks.pgd` cannot move and report it as robust. The adaptive attack
    :func:`advlib.attacks.adaptive_pgd` (BPDA, Athalye et al. 2018) breaks it.

    Args:
        classifier: a trained model on [0, 1] inputs (shared, not copied).
        levels, noise: see :class:`InputQuantization`.

    >>> defended = quantized(models.small_cnn((1, 8, 8), 10))  # doctest: +SKIP
    """
    return nn.Sequential(InputQuantization(levels, noise), classifier)
