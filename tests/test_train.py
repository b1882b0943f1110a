"""advlib.train: standard and adversarial training, and the model cache."""

from __future__ import annotations

import functools

import pytest
import torch

from advlib import models, train
from advlib.attacks import pgd
from advlib.metrics import accuracy


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLIB_CACHE", str(tmp_path))
    return tmp_path


def small_run(digits8, **kwargs):
    model = models.mlp((1, 8, 8), 10, hidden=32)
    settings = dict(epochs=3, lr=1e-2, batch_size=128, seed=0)
    settings.update(kwargs)
    history = train.fit(model, digits8.X_train, digits8.y_train, **settings)
    return model, history


def test_standard_training_learns_the_digits(digits8, cache):
    model, history = small_run(digits8, epochs=5)
    assert accuracy(model, digits8.X_test, digits8.y_test) > 0.9
    assert [set(h) for h in history] == [{"loss", "accuracy", "seconds"}] * 5
    assert history[-1]["loss"] < history[0]["loss"]
    assert not model.training


def test_adversarial_training_passes_each_batch_through_the_attack(digits8, cache):
    calls = []

    def counting_attack(model, x, y):
        calls.append(len(y))
        return pgd(model, x, y, eps=0.1, steps=1)

    small_run(digits8, epochs=1, attack=counting_attack, cache=False)
    assert sum(calls) == len(digits8.y_train)


def test_adversarial_training_buys_robustness(digits8, cache):
    attack = functools.partial(pgd, eps=0.1, steps=3)
    standard, _ = small_run(digits8, epochs=8)
    robust, _ = small_run(digits8, epochs=8, attack=attack)
    x, y = digits8.X_test[:200], digits8.y_test[:200]
    assert (
        accuracy(robust, attack(robust, x, y), y)
        > accuracy(standard, attack(standard, x, y), y) + 0.2
    )


def test_a_warm_load_equals_a_cold_train(digits8, cache):
    cold, cold_history = small_run(digits8)
    assert len(list(cache.glob("*.pt"))) == 1
    warm, warm_history = small_run(digits8)
    assert warm_history == cold_history
    for (name, a), (_, b) in zip(cold.state_dict().items(), warm.state_dict().items()):
        assert torch.equal(a, b), name
    uncached, _ = small_run(digits8, cache=False)
    assert all(
        torch.equal(a, b)
        for a, b in zip(cold.state_dict().values(), uncached.state_dict().values())
    )


def test_the_key_depends_on_the_settings_the_data_and_the_initial_weights(digits8, cache):
    small_run(digits8)
    small_run(digits8, lr=5e-3)
    small_run(digits8, attack=functools.partial(pgd, eps=0.1, steps=1))
    model = models.mlp((1, 8, 8), 10, hidden=32, seed=1)
    train.fit(model, digits8.X_train, digits8.y_train, epochs=3, lr=1e-2, batch_size=128, seed=0)
    train.fit(
        models.mlp((1, 8, 8), 10, hidden=32),
        digits8.X_train[:-1],
        digits8.y_train[:-1],
        epochs=3,
        lr=1e-2,
        batch_size=128,
        seed=0,
    )
    assert len(list(cache.glob("*.pt"))) == 5


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign"])
def test_a_damaged_cache_file_is_recomputed_not_trusted(digits8, cache, damage):
    reference, reference_history = small_run(digits8)
    (path,) = cache.glob("*.pt")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a torch file")
    else:  # a valid file holding another model's weights under this name
        other = models.mlp((1, 8, 8), 10, hidden=32, seed=5)
        torch.save({"key": "another key", "state_dict": other.state_dict(), "history": []}, path)
    model, history = small_run(digits8)
    assert [h["loss"] for h in history] == [h["loss"] for h in reference_history]
    assert all(
        torch.equal(a, b)
        for a, b in zip(reference.state_dict().values(), model.state_dict().values())
    )
    assert torch.load(path, weights_only=True)["history"] == history  # repaired on disk


def test_an_interrupted_write_leaves_no_file_behind(digits8, cache, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        small_run(digits8)
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    "bad,message",
    [(dict(epochs=0), "epochs"), (dict(lr=-1.0), "lr"), (dict(batch_size=0), "batch_size")],
)
def test_bad_hyper_parameters_are_refused(digits8, cache, bad, message):
    with pytest.raises(ValueError, match=message):
        small_run(digits8, **bad)


def test_describe_attack_is_stable_and_specific():
    a = train.describe_attack(functools.partial(pgd, eps=0.1, steps=7))
    assert a == train.describe_attack(functools.partial(pgd, steps=7, eps=0.1))
    assert a != train.describe_attack(functools.partial(pgd, eps=0.2, steps=7))
    assert a != train.describe_attack(
        functools.partial(pgd, eps=0.1 + 1e-12, steps=7)
    )  # floats exactly
    assert "pgd" in a and train.describe_attack(None) == "none"


def test_tensor_arguments_are_described_by_their_values_not_a_rounded_repr():
    eps = torch.full((4,), 0.1)
    close = eps.clone()
    close[0] += 1e-6  # prints the same as eps
    describe = lambda e: train.describe_attack(functools.partial(pgd, eps=e))  # noqa: E731
    assert describe(eps) == describe(eps.clone()) != describe(close)


def test_attacks_without_a_stable_description_are_not_described():
    assert train.describe_attack(lambda model, x, y: x) is None
    assert train.describe_attack(functools.partial(lambda model, x, y, eps: x, eps=0.1)) is None
    assert train.describe_attack(functools.partial(pgd, eps=0.1, loss=object())) is None

    def local_attack(model, x, y):
        return pgd(model, x, y, eps=0.1)

    assert train.describe_attack(local_attack) is None


def test_an_attack_without_a_description_trains_uncached_with_a_warning(digits8, cache):
    with pytest.warns(UserWarning, match="without the cache"):
        small_run(digits8, epochs=1, attack=lambda model, x, y: pgd(model, x, y, eps=0.1, steps=1))
    assert list(cache.glob("*.pt")) == []


def test_the_key_covers_advlibs_source_and_the_thread_count(digits8, cache, monkeypatch):
    small_run(digits8, epochs=1)
    monkeypatch.setattr(train, "source_digest", lambda: "an edited advlib")
    small_run(digits8, epochs=1)
    monkeypatch.undo()
    monkeypatch.setenv("ADVLIB_CACHE", str(cache))
    torch.set_num_threads(2)
    try:
        small_run(digits8, epochs=1)
    finally:
        torch.set_num_threads(1)
    assert len(list(cache.glob("*.pt"))) == 3


@pytest.mark.parametrize(
    "history",
    [
        [],
        [{"loss": float("nan"), "accuracy": 0.5, "seconds": 1.0}] * 3,
        [{"loss": 1.0}] * 3,
        "not a list",
    ],
)
def test_a_file_with_an_invalid_history_is_not_half_loaded(digits8, cache, history):
    small_run(digits8)
    (path,) = cache.glob("*.pt")
    saved = torch.load(path, weights_only=True)
    torch.save({**saved, "history": history}, path)
    fresh = models.mlp((1, 8, 8), 10, hidden=32)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    assert train._load_cached(path, saved["key"], fresh, epochs=3) is None
    assert all(torch.equal(before[k], v) for k, v in fresh.state_dict().items())


def test_a_diverging_training_is_an_error_and_is_not_cached(digits8, cache):
    model = models.mlp((1, 8, 8), 10, hidden=32)
    with torch.no_grad():
        model[-1].bias.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="diverged"):
        train.fit(
            model, digits8.X_train, digits8.y_train, epochs=2, lr=1e-2, batch_size=128, seed=0
        )
    assert list(cache.glob("*.pt")) == []


def test_training_seeds_the_global_generator_for_the_attacks_and_restores_it(digits8, cache):
    """An attack with seed=None gets fresh noise per batch, reproducibly, and the caller's
    random state is the same after training as before."""
    starts = []

    def noisy_attack(model, x, y):
        starts.append(torch.rand(1).item())
        return pgd(model, x, y, eps=0.1, steps=1, seed=None)

    def one_epoch():
        model = models.mlp((1, 8, 8), 10, hidden=32)
        torch.manual_seed(123)
        before = torch.get_rng_state()
        train.train_epochs(
            model,
            digits8.X_train,
            digits8.y_train,
            epochs=1,
            lr=1e-2,
            batch_size=128,
            seed=0,
            attack=noisy_attack,
        )
        assert torch.equal(torch.get_rng_state(), before)

    one_epoch()
    first = list(starts)
    starts.clear()
    one_epoch()
    assert starts == first and len(set(first)) == len(first)
