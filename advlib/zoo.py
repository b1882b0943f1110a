r"""The book's canonical trained models, by name.

Each function builds a model, trains it with :func:`advlib.train.fit` (so it comes from the
model cache when it was trained before) and returns it in eval mode. The data are the
book's own splits for the same seed, so a chapter that loads ``data.digits(seed=SEED)``
and calls ``zoo.digits_cnn(seed=SEED)`` evaluates the model on its own test set.

- ``digits_cnn()``: the small CNN on 8×8 digits, 20 epochs of standard training;
- ``digits_cnn(robust=True)``: the same CNN, 10 epochs of PGD-5 training at L∞ ε = 0.1;
- ``digits_mlp()``: an MLP (two layers of 128 hidden units) on 8×8 digits, 20 epochs;
- ``moons_mlp()``: an MLP (two layers of 64 hidden units) on two moons, 100 epochs;
- ``train_digits_cnn(X, y)``: the digits CNN's recipe on any training set of 8×8 images;
- ``manifold_mlp(train_set)``: an MLP on a :func:`advlib.data.manifold` training set.

``seed=None`` means the book's seed (:func:`advlib.book_seed`, ``$ADVLIB_SEED`` or 0).

>>> cnn = zoo.digits_cnn(robust=True, seed=SEED)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import torch
from torch import nn

from advlib import book_seed, data, models, train
from advlib.attacks.gradient import pgd
from advlib.contracts import Attack

#: The optimiser settings of every model of the zoo.
TRAINING = {"lr": 1e-2, "batch_size": 64}
#: Standard and adversarial training epochs of the digits CNN.
STANDARD_EPOCHS, ROBUST_EPOCHS = 20, 10
#: The budget and steps of the robust CNN's PGD training (L∞).
ROBUST_EPS, ROBUST_STEPS = 0.1, 5


def robust_training_attack(seed: int) -> Attack:
    """The attack the robust digits CNN is trained against: PGD-5 at L∞ ε = 0.1."""
    return functools.partial(pgd, eps=ROBUST_EPS, steps=ROBUST_STEPS, seed=seed)


class Trained(NamedTuple):
    """A trained model and the per-epoch history of its training (:func:`advlib.train.fit`:
    loss and accuracy on the training batches, the attacked ones for adversarial training)."""

    model: nn.Module
    history: list[dict]


def digits_cnn(
    robust: bool = False,
    *,
    attack: Attack | None = None,
    epochs: int | None = None,
    seed: int | None = None,
) -> nn.Module:
    """The small CNN (:func:`advlib.models.small_cnn`) trained on the 8×8 digits
    (``data.digits(size=8, seed=seed)``), by :func:`train_digits_cnn`.

    Args:
        robust: adversarially trained against :func:`robust_training_attack`.
        attack: another training attack (adversarial training against it); not with
            ``robust``.
        epochs: default 20 for standard training, 10 for adversarial training.
        seed: the split's, the initial weights' and the training's seed.
    """
    if robust and attack is not None:
        raise ValueError("give either robust=True or an attack, not both")
    seed = book_seed() if seed is None else seed
    if robust:
        attack = robust_training_attack(seed)
    digits = data.digits(size=8, seed=seed)
    return train_digits_cnn(
        digits.X_train, digits.y_train, attack=attack, epochs=epochs, seed=seed
    ).model


def digits_mlp(*, seed: int | None = None) -> nn.Module:
    """An MLP with two hidden layers of 128 units, 20 epochs on the 8×8 digits."""
    seed = book_seed() if seed is None else seed
    digits = data.digits(size=8, seed=seed)
    model = models.mlp((1, 8, 8), 10, hidden=128, seed=seed)
    train.fit(model, digits.X_train, digits.y_train, epochs=STANDARD_EPOCHS, seed=seed, **TRAINING)
    return model


def moons_mlp(*, n: int = 400, noise: float = 0.1, seed: int | None = None) -> nn.Module:
    """An MLP with two hidden layers of 64 units, 100 epochs on ``data.two_moons(n, noise,
    seed)`` (the test points of the chapters are ``two_moons(..., seed=seed + 1)``)."""
    seed = book_seed() if seed is None else seed
    X, y = data.two_moons(n, noise=noise, seed=seed)
    model = models.mlp((2,), 2, hidden=64, seed=seed)
    train.fit(model, X, y, epochs=100, seed=seed, **TRAINING)
    return model


def train_digits_cnn(
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    attack: Attack | None = None,
    epochs: int | None = None,
    seed: int | None = None,
) -> Trained:
    """The digits CNN's recipe (the small CNN, lr 1e-2, batch 64; 20 epochs of standard
    training, or 10 of adversarial training against ``attack``) on any training set of
    8×8 images, such as the datasets of :mod:`advlib.features` (Ilyas et al. 2019 train
    standard models on them). ``train_digits_cnn(d.X_train, d.y_train, seed=s).model`` is
    ``digits_cnn(seed=s)`` for ``d = data.digits(size=8, seed=s)``.

    Args:
        X: images, shape (N, 1, 8, 8), values in [0, 1]. y: labels in 0..9, shape (N,).
        attack: the training attack, or None for standard training.
        epochs: default 20 for standard training, 10 for adversarial training.
        seed: the initial weights' and the training's seed.

    Returns:
        :class:`Trained` ``(model, history)``.

    >>> model, history = zoo.train_digits_cnn(X_det, t_det, seed=SEED)  # doctest: +SKIP
    """
    seed = book_seed() if seed is None else seed
    if epochs is None:
        epochs = STANDARD_EPOCHS if attack is None else ROBUST_EPOCHS
    model = models.small_cnn((1, 8, 8), 10, seed=seed)
    history = train.fit(model, X, y, epochs=epochs, seed=seed, attack=attack, **TRAINING)
    return Trained(model, history)


def manifold_mlp(
    train_set: data.Manifold,
    *,
    hidden: int = 128,
    epochs: int = 30,
    reference_n: int = 200,
    lr: float = 1e-2,
    batch_size: int = 32,
    seed: int | None = None,
) -> nn.Module:
    """An MLP (two layers of ``hidden`` units, two classes) trained on a
    :func:`advlib.data.manifold` training set, as in the chapter on the data manifold.

    A set smaller than ``reference_n`` points gets more epochs,
    ``epochs * max(1, reference_n // n)``, so that every model takes about as many steps.

    >>> model = zoo.manifold_mlp(data.manifold(200, d=16, noise=0.005), seed=SEED)  # doctest: +SKIP
    """
    seed = book_seed() if seed is None else seed
    n, d = train_set.X.shape
    model = models.mlp((d,), 2, hidden=hidden, seed=seed)
    epochs = epochs * max(1, reference_n // n)
    train.fit(
        model, train_set.X, train_set.y, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed
    )
    return model
