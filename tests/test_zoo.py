"""advlib.zoo: each named model is the configuration it documents, trained through the cache."""

from __future__ import annotations

import pytest
import torch

from advlib import data, models, train, zoo


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLIB_CACHE", str(tmp_path))


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_the_robust_digits_cnn_is_pgd_training_of_the_small_cnn():
    digits = data.digits(size=8, seed=2)
    by_hand = models.small_cnn((1, 8, 8), 10, seed=2)
    attack = zoo.robust_training_attack(2)
    train.fit(
        by_hand, digits.X_train, digits.y_train, epochs=1, seed=2, attack=attack, **zoo.TRAINING
    )
    model = zoo.digits_cnn(robust=True, epochs=1, seed=2)
    assert same_weights(model, by_hand) and not model.training


def test_the_digits_mlp_and_the_moons_mlp_are_their_documented_configurations():
    digits = data.digits(size=8, seed=1)
    mlp = models.mlp((1, 8, 8), 10, hidden=128, seed=1)
    train.fit(mlp, digits.X_train, digits.y_train, epochs=20, lr=1e-2, batch_size=64, seed=1)
    assert same_weights(zoo.digits_mlp(seed=1), mlp)
    X, y = data.two_moons(200, noise=0.2, seed=1)
    moons = models.mlp((2,), 2, hidden=64, seed=1)
    train.fit(moons, X, y, epochs=100, lr=1e-2, batch_size=64, seed=1)
    assert same_weights(zoo.moons_mlp(n=200, noise=0.2, seed=1), moons)


def test_the_default_seed_is_the_books(monkeypatch):
    monkeypatch.setenv("ADVLIB_SEED", "1")
    assert same_weights(zoo.moons_mlp(n=100), zoo.moons_mlp(n=100, seed=1))
    assert not same_weights(zoo.moons_mlp(n=100), zoo.moons_mlp(n=100, seed=0))


def test_robust_and_an_attack_together_are_refused():
    with pytest.raises(ValueError, match="either robust=True or an attack"):
        zoo.digits_cnn(robust=True, attack=zoo.robust_training_attack(0))


def test_the_recipe_returns_the_model_and_its_training_history():
    attack = zoo.robust_training_attack(0)
    digits = data.digits(size=8, seed=0)
    model, history = zoo.train_digits_cnn(
        digits.X_train, digits.y_train, attack=attack, epochs=2, seed=0
    )
    assert len(history) == 2 and {"loss", "accuracy"} <= set(history[0])
    assert same_weights(model, zoo.digits_cnn(attack=attack, epochs=2, seed=0))
    by_hand = models.small_cnn((1, 8, 8), 10, seed=0)
    again = train.fit(by_hand, digits.X_train, digits.y_train, epochs=2, seed=0, attack=attack)
    assert [h["accuracy"] for h in again] == [h["accuracy"] for h in history]


def test_the_digits_cnn_recipe_on_another_training_set():
    digits = data.digits(size=8, seed=3)
    X, y = digits.X_train[:200], (digits.y_train[:200] + 1) % 10
    by_hand = models.small_cnn((1, 8, 8), 10, seed=3)
    train.fit(by_hand, X, y, epochs=2, lr=1e-2, batch_size=64, seed=3)
    assert same_weights(zoo.train_digits_cnn(X, y, epochs=2, seed=3).model, by_hand)
    on_digits = zoo.train_digits_cnn(digits.X_train, digits.y_train, epochs=1, seed=3).model
    assert same_weights(on_digits, zoo.digits_cnn(epochs=1, seed=3)) and not on_digits.training


def test_the_manifold_mlp_gets_more_epochs_on_fewer_points():
    small, _ = data.manifold_split(50, 10, d=8, noise=0.005, seed=1)
    by_hand = models.mlp((8,), 2, hidden=16, seed=1)
    history = train.fit(by_hand, small.X, small.y, epochs=2 * 4, lr=1e-2, batch_size=32, seed=1)
    model = zoo.manifold_mlp(small, hidden=16, epochs=2, reference_n=200, seed=1)
    assert len(history) == 8 and same_weights(model, by_hand) and not model.training
