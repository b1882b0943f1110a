r"""One training loop for standard and adversarial training, and a cache of trained models.

Standard training minimises the empirical loss (the talk's eq. 12)

.. math:: \mathcal{L}_{std}(\theta) = \frac{1}{N} \sum_i \ell(f_\theta(x_i), y_i);

adversarial training minimises the robust loss (eq. 11), where each :math:`x_i` is replaced
by the worst point of its ε-ball. By Danskin's theorem the gradient of the robust loss is
the gradient of the standard loss at the attack's points, so :func:`fit` with an
``attack`` simply replaces each batch by its adversarial version before the step
(Madry et al., 2018). Fast adversarial training (Wong, Rice & Kolter, 2020) is the attack
``partial(pgd, eps=eps, steps=1, step_size=1.25 * eps, keep_best=False, seed=None)``:
FGSM from a random start, keeping the stepped point, with fresh noise for every batch.

:func:`fit` caches its result on disk, keyed by everything that determines it (the model's
architecture and initial weights, the data, the hyper-parameters, the attack, advlib's and
torch's versions): the cache only saves time, a cold run gives the same model.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import advlib
from advlib.attacks import Attack, check_inputs
from advlib.progress import bar


def cache_dir() -> Path:
    """Where trained models are cached: ``$ADVLIB_CACHE``, else ``.advlib_cache`` in the
    current project (the folder holding ``pyproject.toml`` above the working directory),
    else ``~/.cache/advlib``."""
    if os.environ.get("ADVLIB_CACHE"):
        return Path(os.environ["ADVLIB_CACHE"])
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "pyproject.toml").exists() and (folder / "advlib").is_dir():
            return folder / ".advlib_cache"
    return Path.home() / ".cache" / "advlib"


def describe_attack(attack: Attack | None) -> str:
    """A stable text for an attack, used in cache keys: ``pgd(eps=0.1, steps=7)``."""
    if attack is None:
        return "none"
    if isinstance(attack, functools.partial):
        arguments = [repr(a) for a in attack.args] + [f"{k}={v!r}" for k, v in sorted(attack.keywords.items())]
        return f"{describe_attack(attack.func)}({', '.join(arguments)})"
    return f"{getattr(attack, '__module__', '')}.{getattr(attack, '__qualname__', repr(attack))}"


def _tensor_digest(hasher: "hashlib._Hash", tensor: torch.Tensor) -> None:
    tensor = tensor.detach().contiguous().cpu()
    hasher.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    hasher.update(tensor.numpy().tobytes())


def cache_key(model: nn.Module, X: torch.Tensor, y: torch.Tensor, settings: dict) -> str:
    """SHA-256 of the model's architecture and initial weights, the data and the settings."""
    hasher = hashlib.sha256()
    hasher.update(f"advlib {advlib.__version__} torch {torch.__version__}\n{model!r}\n".encode())
    for name, tensor in model.state_dict().items():
        hasher.update(name.encode())
        _tensor_digest(hasher, tensor)
    _tensor_digest(hasher, X)
    _tensor_digest(hasher, y)
    hasher.update(repr(sorted(settings.items())).encode())
    return hasher.hexdigest()


def _load_cached(path: Path, key: str, model: nn.Module) -> list[dict] | None:
    """The cached history after loading the cached weights into ``model``, or None when the
    file is missing, unreadable, corrupt or belongs to another key (then it is ignored)."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, weights_only=True)
        state, expected = saved["state_dict"], model.state_dict()
        if saved.get("key") != key or state.keys() != expected.keys():
            return None
        if any(state[name].shape != expected[name].shape for name in expected):
            return None
        model.load_state_dict(state)
        return list(saved["history"])
    except Exception:  # a corrupt or foreign file is never trusted: recompute
        return None


def _save_atomically(path: Path, payload: dict) -> None:
    """Write to a temporary file in the same folder, then rename: readers see either the
    old file or the complete new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(payload, stream)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def train_epochs(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
                 batch_size: int, seed: int, attack: Attack | None = None,
                 weight_decay: float = 0.0) -> list[dict]:
    r"""The training loop itself (no cache): Adam on the cross-entropy, shuffled mini-batches,
    each batch replaced by ``attack(model, xb, yb)`` when an attack is given.

    Returns one dict per epoch: ``loss`` (mean training loss, on the attacked batches for
    adversarial training), ``accuracy`` (on those same batches) and ``seconds``.

    The loop runs with torch's global generator seeded from ``seed`` (and restored
    afterwards), so an attack that draws from it, such as ``pgd(..., seed=None)``, gets
    fresh but reproducible noise for every batch.
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = []
    model.train()
    with torch.random.fork_rng(devices=[]):  # the caller's random state is restored after
        torch.manual_seed(seed)
        for _ in bar(range(epochs), desc="training", unit="epoch"):  # silent under tests, see advlib.progress
            start = time.perf_counter()
            order = torch.randperm(len(y), generator=generator)
            total_loss = torch.zeros(())
            correct = torch.zeros((), dtype=torch.long)
            for batch in order.split(batch_size):
                xb, yb = X[batch], y[batch]
                if attack is not None:
                    xb = attack(model, xb, yb)
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total_loss += loss.detach() * len(yb)
                correct += (logits.argmax(dim=1) == yb).sum()
            history.append({
                "loss": float(total_loss) / len(y),
                "accuracy": float(correct) / len(y),
                "seconds": time.perf_counter() - start,
            })
    model.eval()
    for parameter in model.parameters():
        parameter.grad = None
    return history


def fit(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, epochs: int = 20, lr: float = 1e-2,
        batch_size: int = 64, seed: int = 0, attack: Attack | None = None, weight_decay: float = 0.0,
        cache: bool = True) -> list[dict]:
    r"""Train ``model`` in place, by standard training or, given an attack, adversarial
    training; the model is left in eval mode.

    .. math:: \theta \leftarrow \theta - \text{Adam}\big(\nabla_\theta \tfrac{1}{B}
              \textstyle\sum_{i \in B} \ell(f_\theta(x'_i), y_i)\big),
              \qquad x'_i = x_i \text{ or } A(x_i).

    With ``cache=True`` (the default) a model trained before with the same architecture,
    initial weights, data and settings is loaded from :func:`cache_dir` instead of being
    retrained; the file is written atomically and loaded with ``weights_only=True``, and a
    corrupt or foreign file is ignored and overwritten.

    Args:
        model: a freshly built model (its initial weights are part of the cache key).
        X: training inputs in [0, 1], shape (N, ...). y: labels, shape (N,).
        epochs, lr, batch_size, seed, weight_decay: the usual hyper-parameters.
        attack: ``attack(model, xb, yb) -> x_adv`` for adversarial training, e.g.
            ``functools.partial(pgd, eps=0.1, steps=7)``.
        cache: use the on-disk cache.

    Returns:
        The per-epoch history (list of dicts with ``loss``, ``accuracy``, ``seconds``); for
        a cached model, the history recorded when it was trained.

    >>> history = fit(model, data.X_train, data.y_train, epochs=10)  # doctest: +SKIP
    """
    check_inputs(X, y)
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    settings = dict(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                    weight_decay=weight_decay, attack=describe_attack(attack))
    train = functools.partial(train_epochs, model, X, y, epochs=epochs, lr=lr, batch_size=batch_size,
                              seed=seed, attack=attack, weight_decay=weight_decay)
    if not cache:
        return train()
    key = cache_key(model, X, y, settings)
    path = cache_dir() / f"{key}.pt"
    history = _load_cached(path, key, model)
    if history is not None:
        model.eval()
        return history
    history = train()
    _save_atomically(path, {"key": key, "state_dict": model.state_dict(), "history": history})
    return history


def count_passes(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                 attack: Attack | None = None) -> dict[str, int]:
    r"""Forward and backward passes through ``model`` in one training step on the batch
    ``(X, y)``: the attack's passes, then the step's own forward and backward pass.

    This is the cost of adversarial training in units of standard training, independent
    of the machine: standard training does 1 forward and 1 backward pass per batch, FGSM
    training 2 and 2, and training against ``pgd(steps=k)`` does :math:`k + 2` forward
    passes (PGD also evaluates its last iterate) and :math:`k + 1` backward passes
    (Madry et al., 2018, trained with k = 7 on CIFAR-10 and k = 40 on MNIST).

    The step is not taken: the gradient is computed with ``torch.autograd.grad``, so the
    parameters, their ``.grad`` and the model's mode are left as they were.

    Args:
        model: the model being trained. X: a batch of inputs in [0, 1], shape (B, ...).
        y: its labels, shape (B,). attack: as in :func:`fit`, or None for standard training.

    Returns:
        ``{"forward": ..., "backward": ...}``.

    >>> count_passes(model, xb, yb, functools.partial(pgd, eps=0.1, steps=5))  # doctest: +SKIP
    {'forward': 7, 'backward': 6}
    """
    check_inputs(X, y)
    counts = {"forward": 0, "backward": 0}

    def count_backward(grad: torch.Tensor) -> None:
        counts["backward"] += 1

    def count_forward(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        counts["forward"] += 1
        if output.requires_grad:
            output.register_hook(count_backward)

    handle = model.register_forward_hook(count_forward)
    try:
        x_train = X if attack is None else attack(model, X, y)
        loss = F.cross_entropy(model(x_train), y)
        torch.autograd.grad(loss, [p for p in model.parameters() if p.requires_grad])
    finally:
        handle.remove()
    return counts
