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

:func:`fit` caches its result on disk, keyed by everything that determines it: the model's
architecture and initial weights, the data, the hyper-parameters, the attack, advlib's own
source code, torch's version, its CPU kernels (``ATEN_CPU_CAPABILITY``) and its thread
count. The cache only saves time: it never serves a model that the current code, on the
current machine, would not produce, so a cold run gives the same model.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from advlib import seeded
from advlib.contracts import (
    Attack,
    check_classes,
    check_gradients_possible,
    check_inputs,
    check_positive_int,
)
from advlib.models import evaluated
from advlib.progress import bar

#: Age in seconds beyond which a ``*.tmp`` file of the cache is an orphan (left by a killed
#: process) and is removed when the cache is next written; a write takes well under a second.
ORPHAN_AGE = 600.0


def cache_dir() -> Path:
    """Where trained models are cached: ``$ADVLIB_CACHE`` (``~`` expanded, made absolute,
    so that a kernel changing folder keeps the same cache), else ``.advlib_cache`` in the
    current project (the folder holding ``pyproject.toml`` above the working directory),
    else ``~/.cache/advlib``."""
    if os.environ.get("ADVLIB_CACHE"):
        return Path(os.environ["ADVLIB_CACHE"]).expanduser().resolve()
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "pyproject.toml").exists() and (folder / "advlib").is_dir():
            return folder / ".advlib_cache"
    return Path.home() / ".cache" / "advlib"


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """SHA-256 of advlib's source files (every ``.py`` file of the package, by relative
    path): editing any of them, e.g. :func:`advlib.attacks.pgd` or :func:`train_epochs`,
    changes every cache key."""
    hasher = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        hasher.update(
            path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0"
        )
    return hasher.hexdigest()


def _describe_value(value) -> str | None:
    """A stable text for an argument of an attack, or None when there is none."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return value.hex()  # exact: two floats that differ get different texts
    if isinstance(value, torch.Tensor):
        hasher = hashlib.sha256()
        _tensor_digest(hasher, value)
        return f"tensor:{hasher.hexdigest()}"
    if isinstance(value, nn.Module):
        hasher = hashlib.sha256(repr(value).encode())
        for name, tensor in value.state_dict().items():
            hasher.update(name.encode())
            _tensor_digest(hasher, tensor)
        return f"module:{hasher.hexdigest()}"
    if isinstance(value, (tuple, list)):
        items = [_describe_value(item) for item in value]
        return None if None in items else f"{type(value).__name__}({', '.join(items)})"
    return describe_attack(value) if callable(value) else None


def describe_attack(attack: Attack | None) -> str | None:
    """A stable text for an attack, used in cache keys, e.g. ``advlib.attacks.pgd(eps=0x1.99...p-4,
    steps=7)``; None when the attack cannot be described stably.

    A function of advlib is described by its name (advlib's source is part of the key);
    a ``functools.partial`` by its function and arguments (floats exactly, tensors and
    modules by a digest of their values). A lambda, a function defined in a notebook or
    any other object has no stable description: its behaviour is not visible from its name.
    """
    if attack is None:
        return "none"
    if isinstance(attack, functools.partial):
        parts = [describe_attack(attack.func)] + [_describe_value(a) for a in attack.args]
        parts += [
            None if (v := _describe_value(value)) is None else f"{key}={v}"
            for key, value in sorted(attack.keywords.items())
        ]
        return None if None in parts else f"{parts[0]}({', '.join(parts[1:])})"
    module, name = getattr(attack, "__module__", None) or "", getattr(attack, "__qualname__", "")
    if not module.startswith("advlib") or not name or "<" in name:  # lambdas and local functions
        return None
    return f"{module}.{name}"


def _tensor_digest(hasher: "hashlib._Hash", tensor: torch.Tensor) -> None:
    tensor = tensor.detach().contiguous().cpu()
    hasher.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    hasher.update(tensor.numpy().tobytes())


def cache_key(model: nn.Module, X: torch.Tensor, y: torch.Tensor, settings: dict) -> str:
    """SHA-256 of the model's architecture and initial weights, the data, the settings,
    advlib's source, torch's version, CPU kernels and thread count."""
    hasher = hashlib.sha256()
    machine = f"torch {torch.__version__} cpu {torch.backends.cpu.get_cpu_capability()} threads {torch.get_num_threads()}"
    hasher.update(f"advlib {source_digest()} {machine}\n{model!r}\n".encode())
    for name, tensor in model.state_dict().items():
        hasher.update(name.encode())
        _tensor_digest(hasher, tensor)
    _tensor_digest(hasher, X)
    _tensor_digest(hasher, y)
    hasher.update(repr(sorted(settings.items())).encode())
    return hasher.hexdigest()


def _valid_history(history, epochs: int) -> bool:
    """Whether a cached history has one record per epoch with finite numbers."""
    return (
        isinstance(history, list)
        and len(history) == epochs
        and all(
            isinstance(record, dict)
            and set(record) == {"loss", "accuracy", "seconds"}
            and all(isinstance(v, float) and math.isfinite(v) for v in record.values())
            for record in history
        )
    )


def _load_cached(path: Path, key: str, model: nn.Module, epochs: int) -> list[dict] | None:
    """The cached history after loading the cached weights into ``model``, or None when the
    file is missing, unreadable, corrupt or belongs to another key. Everything is checked
    before the weights are loaded, so a rejected file leaves ``model`` untouched."""
    try:  # an unreadable folder is a missing file
        if not path.exists():
            return None
        saved = torch.load(path, weights_only=True)
        state, expected, history = saved["state_dict"], model.state_dict(), saved["history"]
    except Exception:  # a corrupt or foreign file is never trusted: recompute
        return None
    if (
        saved.get("key") != key
        or not _valid_history(history, epochs)
        or state.keys() != expected.keys()
    ):
        return None
    if any(
        state[name].shape != expected[name].shape
        or state[name].dtype != expected[name].dtype
        or (state[name].is_floating_point() and not torch.isfinite(state[name]).all())
        for name in expected
    ):
        return None
    model.load_state_dict(state)
    return list(history)


def _current_umask() -> int:
    """The process's umask (read by setting it, then setting it back)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _remove_orphans(folder: Path, age: float = ORPHAN_AGE) -> None:
    """Delete the temporary files of :func:`_save_atomically` older than ``age`` seconds:
    a process killed while writing leaves one behind. A file another process removes
    first, or cannot be removed, is left alone."""
    oldest = time.time() - age
    for orphan in folder.glob("tmp*.tmp"):
        try:
            if orphan.stat().st_mtime < oldest:
                orphan.unlink()
        except OSError:
            pass


def _save_atomically(path: Path, payload: dict) -> None:
    """Write to a temporary file in the same folder, then rename: readers see either the
    old file or the complete new one, never half of it. The file is readable as the umask
    allows (mode ``0o666 & ~umask``, not the 0o600 of ``mkstemp``), and orphan temporary
    files are removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(payload, stream)
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _save_or_warn(path: Path, payload: dict) -> None:
    """:func:`_save_atomically`, with a warning instead of an error when the cache cannot
    be written (a read-only folder, a full disk): the cache only saves time."""
    try:
        _save_atomically(path, payload)
    except OSError as error:
        warnings.warn(
            f"the model is trained but could not be cached in {path.parent} ({error}); "
            "set ADVLIB_CACHE to a writable folder to cache it",
            stacklevel=3,
        )


def check_model_classes(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse labels outside the model's classes 0..K-1 (cross-entropy would silently skip
    a label of -100), K read off one forward pass of ``X[:1]`` in eval mode without
    gradients: no buffer changes, and torch's random state is restored after it (a
    randomised model draws noise even in eval mode)."""
    devices = [X.device] if X.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad(), evaluated(model):
        logits = model(X[:1])
    check_classes(logits, y)


def train_epochs(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    attack: Attack | None = None,
    weight_decay: float = 0.0,
) -> list[dict]:
    r"""The training loop itself (no cache): Adam on the cross-entropy, shuffled mini-batches,
    each batch replaced by ``attack(model, xb, yb)`` when an attack is given.

    Returns one dict per epoch: ``loss`` (mean training loss, on the attacked batches for
    adversarial training), ``accuracy`` (on those same batches) and ``seconds``.

    The loop runs with torch's global generator seeded from ``seed`` (and restored
    afterwards), so an attack that draws from it, such as ``pgd(..., seed=None)``, gets
    fresh but reproducible noise for every batch.

    Raises:
        FloatingPointError: when a batch's loss is not finite (training diverged, e.g. the
            learning rate is too large); nothing is cached then.
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = []
    model.train()
    with seeded(seed), torch.enable_grad():  # the caller's random state is restored after
        for _ in bar(
            range(epochs), desc="training", unit="epoch"
        ):  # silent under tests, see advlib.progress
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
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"training diverged: the loss is {float(loss.detach())} at epoch "
                        f"{len(history) + 1}; try a smaller lr (got {lr})"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total_loss += loss.detach() * len(yb)
                correct += (logits.argmax(dim=1) == yb).sum()
            history.append(
                {
                    "loss": float(total_loss) / len(y),
                    "accuracy": float(correct) / len(y),
                    "seconds": time.perf_counter() - start,
                }
            )
    model.eval()
    for parameter in model.parameters():
        parameter.grad = None
    return history


def fit(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 20,
    lr: float = 1e-2,
    batch_size: int = 64,
    seed: int = 0,
    attack: Attack | None = None,
    weight_decay: float = 0.0,
    cache: bool = True,
) -> list[dict]:
    r"""Train ``model`` in place, by standard training or, given an attack, adversarial
    training; the model is left in eval mode.

    .. math:: \theta \leftarrow \theta - \text{Adam}\big(\nabla_\theta \tfrac{1}{B}
              \textstyle\sum_{i \in B} \ell(f_\theta(x'_i), y_i)\big),
              \qquad x'_i = x_i \text{ or } A(x_i).

    With ``cache=True`` (the default) a model trained before with the same architecture,
    initial weights, data and settings, by the same advlib source on the same torch, CPU
    kernels and thread count, is loaded from :func:`cache_dir` instead of being retrained;
    the file is written atomically and loaded with ``weights_only=True``, and a corrupt or
    foreign file is ignored and overwritten; a cache that cannot be written gives a
    warning, and the trained model. An attack that :func:`describe_attack`
    cannot describe (a lambda, a notebook's function) is trained without the cache, with
    a warning.

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

    Raises:
        ValueError: for labels outside the model's classes (:func:`check_model_classes`),
            and under ``torch.inference_mode``; under ``torch.no_grad`` it trains.

    >>> history = fit(model, data.X_train, data.y_train, epochs=10)  # doctest: +SKIP
    """
    check_inputs(X, y)
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    check_gradients_possible("fit")
    check_model_classes(model, X, y)
    train = functools.partial(
        train_epochs,
        model,
        X,
        y,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        attack=attack,
        weight_decay=weight_decay,
    )
    description = describe_attack(attack)
    if cache and description is None:
        warnings.warn(
            f"the attack {attack!r} has no stable description (a lambda or a function "
            "outside advlib?), so the model is trained without the cache; pass a "
            "functools.partial of an advlib attack to cache it",
            stacklevel=2,
        )
    if not cache or description is None:
        return train()
    settings = dict(
        epochs=epochs,
        lr=float(lr).hex(),
        batch_size=batch_size,
        seed=seed,
        weight_decay=float(weight_decay).hex(),
        attack=description,
    )
    key = cache_key(model, X, y, settings)
    path = cache_dir() / f"{key}.pt"
    history = _load_cached(path, key, model, epochs)
    if history is not None:
        model.eval()
        return history
    history = train()
    _save_or_warn(path, {"key": key, "state_dict": model.state_dict(), "history": history})
    return history


@contextlib.contextmanager
def passes_through(model: nn.Module) -> Iterator[dict[str, int]]:
    """Count, inside the block, the samples that go through ``model`` forward, and backward
    through its output: ``{"forward": ..., "backward": ...}`` (a batch of B inputs counts
    B; r batched restarts count r times). A forward hook on ``model``, and a hook on each
    output that requires a gradient; both are removed when the block ends, even on error.
    """
    counts = {"forward": 0, "backward": 0}

    def count_backward(grad: torch.Tensor) -> None:
        counts["backward"] += grad.shape[0]

    def count_forward(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        counts["forward"] += inputs[0].shape[0]
        if output.requires_grad:
            output.register_hook(count_backward)

    handle = model.register_forward_hook(count_forward)
    try:
        yield counts
    finally:
        handle.remove()


def count_passes(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, attack: Attack | None = None
) -> dict[str, int]:
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
        ``{"forward": ..., "backward": ...}``, in batches of B inputs (:func:`passes_through`).

    >>> count_passes(model, xb, yb, functools.partial(pgd, eps=0.1, steps=5))  # doctest: +SKIP
    {'forward': 7, 'backward': 6}
    """
    check_inputs(X, y)
    with passes_through(model) as samples:
        x_train = X if attack is None else attack(model, X, y)
        loss = F.cross_entropy(model(x_train), y)
        torch.autograd.grad(loss, [p for p in model.parameters() if p.requires_grad])
    return {kind: count // len(y) for kind, count in samples.items()}
