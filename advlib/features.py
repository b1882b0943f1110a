r"""Robust and non-robust features: the datasets of Ilyas et al. (2019).

Ilyas, Santurkar, Tsipras, Engstrom, Tran & Madry, "Adversarial Examples Are Not Bugs,
They Are Features" (NeurIPS 2019), build new training sets from a trained model and train
fresh models on them:

- :func:`relabelled_adversarial` makes the *non-robust* sets :math:`D_{det}` and
  :math:`D_{rand}`: every training image is moved by a small targeted attack toward a
  class t and relabelled t. To a person the images keep their old class; only features
  the model is sensitive to, and that a small perturbation can plant, point to t.
- :func:`representation_dataset` makes :math:`D_R` (with an adversarially trained model)
  and :math:`D_{NR}` (with a standard one): images whose representation in the model's
  penultimate layer (:func:`representation`) matches the original's, found by
  :func:`match_representation` from another starting image, and keeping the original
  label. With a robust model they only carry the features a robust model uses.

The model is a ``torch.nn.Sequential`` whose last layer is the linear classifier, like
every model of :mod:`advlib.models`.
"""

from __future__ import annotations

import torch
from torch import nn

from advlib.attacks.gradient import pgd
from advlib.contracts import check_images, check_inputs, check_positive_int
from advlib.norms import steepest_direction


def representation(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    r"""The representation :math:`\phi(x)` of the penultimate layer: the input of the last
    (linear) layer of a ``Sequential`` model, flattened to shape (N, features).

    >>> phi = representation(models.small_cnn((1, 8, 8), 10), torch.zeros(2, 1, 8, 8))
    >>> tuple(phi.shape)
    (2, 512)
    """
    if not isinstance(model, nn.Sequential) or len(model) < 2:
        raise ValueError("model must be an nn.Sequential whose last layer is the classifier")
    return model[:-1](x).flatten(1)


def match_representation(
    model: nn.Sequential,
    x: torch.Tensor,
    start: torch.Tensor,
    *,
    steps: int = 30,
    step_size: float = 0.1,
) -> torch.Tensor:
    r"""Inputs whose representation matches that of ``x``, by normalised gradient descent
    from ``start`` (Ilyas et al., 2019, Sec. 3.1):

    .. math::

        x_r = \arg\min_{z \in [0,1]^d} \|\phi(z) - \phi(x)\|_2^2,

        z_{t+1} = \operatorname{clip}_{[0,1]}\Big(z_t - \alpha \frac{\nabla_z \|\phi(z_t) -
        \phi(x)\|^2}{\|\nabla_z \|\phi(z_t) - \phi(x)\|^2\|_2}\Big), \quad z_0 = \text{start},

    with :math:`\phi` = :func:`representation`. Each step has L2 length α (before
    clipping), so the result is at most ``steps * step_size`` away from ``start``: the
    number of steps decides how much of ``start`` survives. The model's parameters, their
    ``.grad`` and its mode are left unchanged.

    Args:
        model: a ``Sequential`` classifier. x: the inputs to imitate, shape (N, ...), in [0, 1].
        start: the starting points, same shape, in [0, 1] (another image, or noise).
        steps: number of gradient steps, at least 1. step_size: α, positive.

    Returns:
        ``x_r``, shape of ``x``, in [0, 1].

    >>> x_r = match_representation(robust_cnn, X_train, X_train[torch.randperm(len(X_train))])  # doctest: +SKIP
    """
    check_images(x)
    check_images(start, "start")
    check_positive_int(steps, "steps")
    if start.shape != x.shape:
        raise ValueError(
            f"start must have the shape of x, got {tuple(start.shape)} and {tuple(x.shape)}"
        )
    if not step_size > 0:
        raise ValueError(f"step_size must be positive, got {step_size}")
    with torch.no_grad():
        target = representation(model, x)
    z = start.detach().clone()
    for _ in range(steps):
        z.requires_grad_(True)
        loss = (representation(model, z) - target).pow(2).sum()
        (grad,) = torch.autograd.grad(loss, z)
        z = (z.detach() - step_size * steepest_direction(grad, 2)).clamp(0.0, 1.0)
    return z.detach()


def relabelled_adversarial(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    targets: str = "det",
    eps: float,
    norm: str | float,
    steps: int = 20,
    batch_size: int = 512,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A "non-robust" training set: each image moved by a targeted attack toward a class t,
    and relabelled t (Ilyas et al., 2019, Sec. 3.2).

    .. math::

        x' = \arg\min_{\|x' - x\|_p \le \epsilon} \ell(f(x'), t), \qquad
        t = \begin{cases} (y + 1) \bmod K & D_{det} \\ \text{uniform in } \{0, \dots, K-1\} & D_{rand} \end{cases}

    solved by targeted :func:`~advlib.attacks.pgd`. Every image is kept, whether or not
    the attack reached t. In :math:`D_{rand}` the label is independent of the image's
    robust features; in :math:`D_{det}` it is anti-correlated with them (it is always the
    wrong class). A model that learns from these sets and still classifies the original
    test set well has learned from the planted, non-robust features.

    Args:
        model: the standard model whose features are planted, (N, ...) → (N, K) logits.
        X: images in [0, 1], shape (N, ...). y: their labels, shape (N,).
        targets: ``"det"`` or ``"rand"``.
        eps, norm: the targeted PGD's budget and its norm (required: Ilyas et al. use L2).
        steps: its number of steps.
        batch_size: images attacked at once (memory only; the result does not depend on it
            except through the random starts, which are drawn per batch from ``seed``).
        seed: seed of the random targets and of the attack's random starts.

    Returns:
        ``(X_adv, t)``: the new images and their new labels.

    >>> X_det, t_det = relabelled_adversarial(cnn, d.X_train, d.y_train, targets="det", eps=1.0, norm="l2")  # doctest: +SKIP
    """
    check_inputs(X, y, eps)
    check_positive_int(steps, "steps")
    if targets not in ("det", "rand"):
        raise ValueError(f"targets must be 'det' or 'rand', got {targets!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size}")
    with torch.no_grad():
        num_classes = model(X[:1]).shape[1]
    if targets == "det":
        t = (y + 1) % num_classes
    else:
        t = torch.randint(0, num_classes, y.shape, generator=torch.Generator().manual_seed(seed))
    batches = [
        pgd(model, xb, tb, eps=eps, norm=norm, steps=steps, targeted=True, seed=seed + i)
        for i, (xb, tb) in enumerate(zip(X.split(batch_size), t.split(batch_size)))
    ]
    return torch.cat(batches), t


def representation_dataset(
    model: nn.Sequential,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    start: str = "image",
    steps: int = 30,
    step_size: float = 0.1,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The datasets :math:`D_R` (``model`` adversarially trained) and :math:`D_{NR}` (``model``
    standard) of Ilyas et al. (2019): every image replaced by :func:`match_representation` of
    it, with its label kept,

    .. math:: D_R = \{(x_r, y)\}, \qquad x_r \approx \arg\min_z \|\phi(z) - \phi(x)\|_2^2 ,

    started from another training image drawn at random (``start="image"``, as in the
    paper) or from uniform noise (``start="noise"``).

    Returns:
        ``(X_r, y)``.

    >>> X_R, y_R = representation_dataset(robust_cnn, d.X_train, d.y_train)  # doctest: +SKIP
    """
    check_inputs(X, y)
    check_positive_int(steps, "steps")
    generator = torch.Generator().manual_seed(seed)
    if start == "image":
        x0 = X[torch.randperm(len(X), generator=generator)]
    elif start == "noise":
        x0 = torch.rand(X.shape, generator=generator, dtype=X.dtype)
    else:
        raise ValueError(f"start must be 'image' or 'noise', got {start!r}")
    return match_representation(model, X, x0, steps=steps, step_size=step_size), y.clone()
