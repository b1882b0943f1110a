"""advlib.attacks: the contract every attack keeps, exactness on linear models, PGD's strength."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from advlib import models
from advlib.attacks import fgm, fgsm, minimal_perturbation, pgd
from advlib.norms import dual_exponent, lp_norm

ATTACKS = {
    "fgsm": lambda m, x, y, eps, seed: fgsm(m, x, y, eps=eps),
    "fgm": lambda m, x, y, eps, seed: fgm(m, x, y, eps=eps),
    "pgd-linf": lambda m, x, y, eps, seed: pgd(m, x, y, eps=eps, steps=3, seed=seed),
    "pgd-l2": lambda m, x, y, eps, seed: pgd(
        m, x, y, eps=eps, norm="l2", steps=3, restarts=2, seed=seed
    ),
    "pgd-l1": lambda m, x, y, eps, seed: pgd(m, x, y, eps=eps, norm="l1", steps=3, seed=seed),
    "pgd-margin-targeted": lambda m, x, y, eps, seed: pgd(
        m, x, y, eps=eps, steps=3, loss="margin", targeted=True, seed=seed
    ),
}
NORM_OF = {
    "fgsm": math.inf,
    "fgm": 2.0,
    "pgd-linf": math.inf,
    "pgd-l2": 2.0,
    "pgd-l1": 1.0,
    "pgd-margin-targeted": math.inf,
}


def random_model(kind: str, side: int, num_classes: int, seed: int) -> nn.Module:
    shape = (1, side, side)
    if kind == "linear":
        return models.linear(shape, num_classes, seed=seed)
    if kind == "mlp":
        return models.mlp(shape, num_classes, hidden=16, seed=seed)
    return models.small_cnn(shape, num_classes, channels=4, seed=seed)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(ATTACKS)),
    kind=st.sampled_from(["linear", "mlp", "cnn"]),
    n=st.integers(1, 6),
    side=st.integers(4, 9),
    num_classes=st.integers(2, 5),
    eps=st.floats(0.0, 2.0),
    seed=st.integers(0, 1000),
)
def test_every_attack_stays_in_the_ball_and_the_box(name, kind, n, side, num_classes, eps, seed):
    model = random_model(kind, side, num_classes, seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, side, side, generator=generator)
    x[0, 0, 0, 0] = 0.0  # points on the faces of the box are the hard case for clipping
    y = torch.randint(0, num_classes, (n,), generator=generator)
    x_adv = ATTACKS[name](model, x, y, eps, seed)
    assert x_adv.shape == x.shape
    assert torch.all(lp_norm(x_adv - x, NORM_OF[name]) <= eps + 1e-6)
    assert torch.all((x_adv >= 0) & (x_adv <= 1))


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_attacks_change_neither_input_nor_model(name, mode, batch):
    x, y = batch
    model = models.small_cnn((1, 8, 8), 10, channels=4)
    model.train(mode == "train")
    model(x).sum().backward()  # parameters carry a .grad that must survive the attack
    before = copy.deepcopy(model.state_dict())
    grads = [p.grad.clone() for p in model.parameters()]
    x_copy = x.clone()
    ATTACKS[name](model, x, y, 0.1, 0)
    assert torch.equal(x, x_copy)
    assert model.training == (mode == "train")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_are_deterministic_for_a_seed(name, trained_cnn, batch):
    x, y = batch
    first = ATTACKS[name](trained_cnn, x, y, 0.1, 3)
    second = ATTACKS[name](trained_cnn, x, y, 0.1, 3)
    assert torch.equal(first, second)


def test_random_starts_depend_on_the_seed(trained_cnn, batch):
    x, y = batch
    assert not torch.equal(
        pgd(trained_cnn, x, y, eps=0.1, steps=1, seed=0),
        pgd(trained_cnn, x, y, eps=0.1, steps=1, seed=1),
    )


def linear_binary_model(d: int, seed: int) -> tuple[nn.Module, torch.Tensor]:
    """Two logits (0, <θ, x>): cross-entropy on class 1 decreases in the score <θ, x>."""
    theta = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    layer = nn.Linear(d, 2, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.stack([torch.zeros(d, dtype=torch.float64), theta]))
    return layer, theta


@pytest.mark.parametrize("attack,p", [(fgsm, math.inf), (fgm, 2.0)])
@pytest.mark.parametrize("seed", range(5))
def test_fast_gradient_attacks_solve_the_linear_problem_exactly(attack, p, seed):
    """For f(x) = <θ, x> the largest decrease of the score over the ε-ball is ε‖θ‖_q."""
    d, eps = 30, 0.05
    model, theta = linear_binary_model(d, seed)
    x = 0.25 + 0.5 * torch.rand(
        4, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    y = torch.ones(4, dtype=torch.long)  # box constraints inactive: x ± ε stays in [0, 1]
    x_adv = attack(model, x, y, eps=eps)
    change = x @ theta - x_adv @ theta
    expected = eps * torch.linalg.vector_norm(theta, ord=dual_exponent(p))
    assert torch.allclose(change, expected.expand(4), rtol=1e-9)


def mean_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return F.cross_entropy(model(x), y, reduction="none")


def test_pgd_starting_with_an_fgsm_step_never_ends_below_fgsm(trained_cnn, batch):
    x, y = batch
    eps = 0.1
    fgsm_loss = mean_loss(trained_cnn, fgsm(trained_cnn, x, y, eps=eps), y)
    pgd_loss = mean_loss(
        trained_cnn, pgd(trained_cnn, x, y, eps=eps, steps=10, step_size=eps, random_start=False), y
    )
    assert torch.all(pgd_loss >= fgsm_loss - 1e-5)


def test_pgd_with_default_settings_is_stronger_than_fgsm(trained_cnn, batch):
    x, y = batch
    fgsm_loss = mean_loss(trained_cnn, fgsm(trained_cnn, x, y, eps=0.1), y).mean()
    pgd_loss = mean_loss(trained_cnn, pgd(trained_cnn, x, y, eps=0.1), y).mean()
    assert pgd_loss > fgsm_loss


@pytest.mark.parametrize("loss", ["ce", "margin"])
def test_restarts_never_make_pgd_worse(trained_cnn, batch, loss):
    x, y = batch
    one = pgd(trained_cnn, x, y, eps=0.05, steps=5, loss=loss)
    many = pgd(trained_cnn, x, y, eps=0.05, steps=5, restarts=4, loss=loss)
    with torch.no_grad():
        fooled_one = trained_cnn(one).argmax(1) != y
        fooled_many = trained_cnn(many).argmax(1) != y
    assert torch.all(fooled_many | ~fooled_one)
    assert fooled_many.sum() >= fooled_one.sum()


def test_targeted_pgd_reaches_the_target(trained_cnn, batch):
    x, _ = batch
    target = torch.full((len(x),), 3)
    x_adv = pgd(trained_cnn, x, target, eps=0.5, steps=40, targeted=True)
    with torch.no_grad():
        assert (trained_cnn(x_adv).argmax(1) == target).float().mean() > 0.9


def test_pgd_accepts_one_budget_per_sample(trained_cnn, batch):
    x, y = batch
    eps = torch.linspace(0, 0.2, len(x))
    x_adv = pgd(trained_cnn, x, y, eps=eps, steps=3)
    assert torch.all(lp_norm(x_adv - x, "linf") <= eps + 1e-6)


def test_minimal_perturbation_flips_the_prediction_with_a_small_radius(trained_cnn, batch):
    x, y = batch
    result = minimal_perturbation(trained_cnn, x, y, norm="l2", steps=10, search_steps=8)
    with torch.no_grad():
        clean = trained_cnn(x).argmax(1)
        flipped = trained_cnn(result.x_adv).argmax(1) != y
    found = torch.isfinite(result.radius)
    assert found.float().mean() > 0.95
    assert torch.all(flipped[found])
    assert torch.allclose(result.radius[found], lp_norm(result.x_adv - x, 2)[found])
    assert torch.all(result.radius[clean != y] == 0)
    # a budget well below the radius found leaves (almost) every point correctly classified
    robust = pgd(trained_cnn, x, y, eps=0.5 * result.radius.clamp(max=10), norm="l2", steps=20)
    with torch.no_grad():
        assert (trained_cnn(robust).argmax(1) == y)[found & (clean == y)].float().mean() > 0.9


def test_minimal_perturbation_reports_inf_when_nothing_is_found():
    model = models.linear((1, 4, 4), 2)
    with torch.no_grad():
        model[-1].weight.zero_()
        model[-1].bias.copy_(torch.tensor([1.0, 0.0]))  # constant classifier: always class 0
    x = torch.rand(3, 1, 4, 4)
    result = minimal_perturbation(
        model, x, torch.zeros(3, dtype=torch.long), norm="linf", search_steps=2, steps=2
    )
    assert torch.all(torch.isinf(result.radius))
    assert torch.equal(result.x_adv, x)


BAD_INPUTS = [
    (dict(eps=-0.1), "eps"),
    (dict(eps=float("nan")), "eps"),
    (dict(norm="l3"), "norm"),
    (dict(steps=0), "steps"),
    (dict(restarts=0), "restarts"),
    (dict(loss="hinge"), "loss"),
    (dict(x_shift=1.5), "x must lie in \\[0, 1\\]"),
    (dict(x_nan=True), "x must lie in \\[0, 1\\]"),
    (dict(y_short=True), "same batch size"),
    (dict(y_value=10), "y must hold labels in 0..9"),
    (dict(y_value=-1), "y must hold labels in 0..9"),
]


@pytest.mark.parametrize("bad,message", BAD_INPUTS)
def test_bad_input_is_refused_with_a_value_error_naming_the_argument(bad, message, batch):
    x, y = batch
    x, y = x[:4].clone(), y[:4].clone()
    model = models.small_cnn((1, 8, 8), 10, channels=4)
    kwargs = dict(eps=0.1, norm="linf", steps=2)
    kwargs.update(
        {k: v for k, v in bad.items() if k in ("eps", "norm", "steps", "restarts", "loss")}
    )
    if "x_shift" in bad:
        x = x + bad["x_shift"]
    if "x_nan" in bad:
        x[0, 0, 0, 0] = float("nan")
    if "y_short" in bad:
        y = y[:3]
    if "y_value" in bad:
        y[0] = bad["y_value"]
    with pytest.raises(ValueError, match=message):
        pgd(model, x, y, **kwargs)
    if set(bad) <= {"eps", "x_shift", "x_nan", "y_short", "y_value"}:
        with pytest.raises(ValueError, match=message):
            fgsm(model, x, y, eps=kwargs["eps"])
        with pytest.raises(ValueError, match=message):
            fgm(model, x, y, eps=kwargs["eps"])


def test_an_attack_bound_with_partial_is_an_attack(trained_cnn, batch):
    x, y = batch
    attack = functools.partial(pgd, eps=0.1, steps=2)
    assert attack(trained_cnn, x, y).shape == x.shape


def test_keep_best_false_returns_the_last_iterate(trained_cnn, batch):
    """One step from a random start, kept whatever its loss: fast adversarial training."""
    x, y = batch
    eps = 0.1
    x_adv = pgd(trained_cnn, x, y, eps=eps, steps=1, step_size=1.25 * eps, keep_best=False, seed=3)
    generator = torch.Generator().manual_seed(3)
    from advlib.attacks import input_gradient
    from advlib.norms import clip_to_box, project, uniform_in_ball

    start = clip_to_box(x, uniform_in_ball(x, math.inf, eps, generator))
    step = start + 1.25 * eps * input_gradient(trained_cnn, x + start, y).sign()
    expected = x + clip_to_box(x, project(step, math.inf, eps))
    assert torch.allclose(x_adv, expected, atol=1e-6)


def test_seed_none_draws_fresh_reproducible_noise_from_the_global_generator(trained_cnn, batch):
    x, y = batch
    torch.manual_seed(7)
    first, second = (pgd(trained_cnn, x, y, eps=0.1, steps=1, seed=None) for _ in range(2))
    torch.manual_seed(7)
    again = pgd(trained_cnn, x, y, eps=0.1, steps=1, seed=None)
    assert not torch.equal(first, second)
    assert torch.equal(first, again)
