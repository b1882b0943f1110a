"""advlib.train's reliability (issue 12, item 8): training without grad mode, labels checked
against the model's classes, and a cache that never makes training fail."""

from __future__ import annotations

import copy
import os
import time

import pytest
import torch
from torch import nn

from advlib import models, train

SHAPE = (1, 4, 4)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLIB_CACHE", str(tmp_path))
    return tmp_path


def small_data(n: int = 40):
    generator = torch.Generator().manual_seed(0)
    return torch.rand((n, *SHAPE), generator=generator), torch.randint(
        0, 3, (n,), generator=generator
    )


def mlp() -> nn.Module:
    return models.mlp(SHAPE, 3, hidden=8)


def batchnorm_model() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)
    )


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))


# -- gradients -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "context", [torch.no_grad, lambda: torch.set_grad_enabled(False)], ids=["no_grad", "off"]
)
def test_fit_trains_without_grad_mode(context):
    X, y = small_data()
    expected, model = mlp(), mlp()
    train.fit(expected, X, y, epochs=2, cache=False)
    with context():
        train.fit(model, X, y, epochs=2, cache=False)
    assert same_weights(model, expected) and not same_weights(model, mlp())


# -- labels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-100, -1, 3])
def test_fit_refuses_labels_outside_the_models_classes(bad, cache):
    X, y = small_data()
    y[5] = bad
    with pytest.raises(ValueError, match=r"y must hold labels in 0..2 \(the model's classes\)"):
        train.fit(mlp(), X, y, epochs=1)


def test_reading_the_classes_changes_neither_the_weights_nor_the_random_state():
    """The forward pass that reads K runs in eval mode, so BatchNorm's statistics stay
    as built, and a model that draws noise (input quantisation with noise) draws it from
    a forked generator."""
    X, y = small_data()
    model, reference = batchnorm_model(), batchnorm_model()
    train.fit(model, X, y, epochs=2, cache=False)
    train.train_epochs(reference, X, y, epochs=2, lr=1e-2, batch_size=64, seed=0)
    assert same_weights(model, reference)
    noisy = models.quantized(mlp(), noise=0.1)
    state = torch.get_rng_state()
    train.check_model_classes(noisy, X, y)
    assert torch.equal(torch.get_rng_state(), state)


# -- the cache -------------------------------------------------------------------------------


def test_an_unwritable_cache_warns_after_training(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ADVLIB_CACHE", str(blocker / "cache"))
    X, y = small_data()
    model, expected = mlp(), mlp()
    train.fit(expected, X, y, epochs=2, cache=False)
    with pytest.warns(UserWarning, match="trained but could not be cached"):
        history = train.fit(model, X, y, epochs=2)
    assert len(history) == 2 and same_weights(model, expected)


def test_the_cache_folder_expands_the_home_and_is_absolute(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ADVLIB_CACHE", "~/models")
    assert train.cache_dir() == tmp_path.resolve() / "models"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADVLIB_CACHE", "relative/../cache")
    assert train.cache_dir() == tmp_path.resolve() / "cache"


def test_writing_the_cache_removes_old_orphan_temporary_files(cache):
    old, fresh, other = cache / "tmpold.tmp", cache / "tmpfresh.tmp", cache / "notes.tmp"
    for path in (old, fresh, other):
        path.write_bytes(b"half a model")
    an_hour_ago = time.time() - 3600
    for path in (old, other):
        os.utime(path, (an_hour_ago, an_hour_ago))
    X, y = small_data()
    train.fit(mlp(), X, y, epochs=1)
    assert not old.exists() and fresh.exists() and other.exists()
    assert len(list(cache.glob("*.pt"))) == 1 and len(list(cache.glob("tmp*.tmp"))) == 1


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_cache_files_are_readable_as_the_umask_allows(cache, umask, mode):
    X, y = small_data()
    previous = os.umask(umask)
    try:
        train.fit(mlp(), X, y, epochs=1)
    finally:
        os.umask(previous)
    (path,) = cache.glob("*.pt")
    assert path.stat().st_mode & 0o777 == mode


def test_a_cache_entry_written_with_the_new_modes_is_served(cache):
    X, y = small_data()
    first, second = mlp(), copy.deepcopy(mlp())
    history = train.fit(first, X, y, epochs=1)
    assert train.fit(second, X, y, epochs=1) == history and same_weights(first, second)
