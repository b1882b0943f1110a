r"""Three small classifiers: linear, MLP and CNN.

Each model takes inputs in [0, 1] and returns K logits (the scores f(x) before the
softmax; g(x) = argmax_i f(x)_i). Input normalisation, :math:`(x - \mu)/\sigma`, is the
model's first layer, so attacks always work in the [0, 1] pixel space where ε is defined.

The constructors draw their initial weights from ``torch.manual_seed(seed)``, so a model
is a pure function of its arguments.
"""

from __future__ import annotations

import math

import torch
from torch import nn


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


def _check_shape(in_shape: tuple[int, ...], num_classes: int) -> None:
    if len(in_shape) == 0 or any(s < 1 for s in in_shape):
        raise ValueError(f"in_shape must be a tuple of positive sizes, got {in_shape}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")


def linear(in_shape: tuple[int, ...], num_classes: int, *, mean: float = 0.5, std: float = 0.5,
           seed: int = 0) -> nn.Sequential:
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
    torch.manual_seed(seed)
    return nn.Sequential(Normalize(mean, std), nn.Flatten(), nn.Linear(math.prod(in_shape), num_classes))


def mlp(in_shape: tuple[int, ...], num_classes: int, *, hidden: int = 64, depth: int = 2,
        mean: float = 0.5, std: float = 0.5, seed: int = 0) -> nn.Sequential:
    r"""A multilayer perceptron with ``depth`` hidden ReLU layers of width ``hidden``.

    >>> model = mlp((2,), 2, hidden=32)
    >>> model(torch.zeros(5, 2)).shape
    torch.Size([5, 2])
    """
    _check_shape(in_shape, num_classes)
    if hidden < 1 or depth < 1:
        raise ValueError(f"hidden and depth must be positive, got hidden={hidden}, depth={depth}")
    torch.manual_seed(seed)
    layers: list[nn.Module] = [Normalize(mean, std), nn.Flatten()]
    width = math.prod(in_shape)
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def small_cnn(in_shape: tuple[int, ...] = (1, 8, 8), num_classes: int = 10, *, channels: int = 16,
              mean: float = 0.5, std: float = 0.5, seed: int = 0) -> nn.Sequential:
    r"""Two 3×3 convolutions with ReLU (``channels`` and ``2 * channels`` maps), the second
    with stride 2, global average pooling when the image is larger than 8×8, then a
    linear layer.

    Works for any image side of at least 4; the number of parameters does not depend on
    the side beyond 8 (pooling to 4×4), so the same architecture serves every resolution.

    >>> model = small_cnn((1, 16, 16), 10)
    >>> model(torch.zeros(2, 1, 16, 16)).shape
    torch.Size([2, 10])
    """
    _check_shape(in_shape, num_classes)
    if len(in_shape) != 3 or min(in_shape[1:]) < 4:
        raise ValueError(f"in_shape must be (channels, height, width) with sides >= 4, got {in_shape}")
    torch.manual_seed(seed)
    return nn.Sequential(
        Normalize(mean, std),
        nn.Conv2d(in_shape[0], channels, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(channels, 2 * channels, 3, padding=1, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(2 * channels * 16, num_classes),
    )
