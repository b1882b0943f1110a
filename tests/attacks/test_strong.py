"""APGD, Square and the worst-case ensemble: what each promises, and that they are strong."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from advlib import attacks, evaluation, metrics, models
from advlib.attacks.blackbox import nested_squares, square_fraction, square_pattern, square_side
from advlib.attacks.gradient import apgd_checkpoints, attack_objective, dlr_loss
from advlib.norms import box_diameter, lp_norm

STRONG = {
    "apgd-ce": functools.partial(attacks.apgd, steps=20),
    "apgd-dlr": functools.partial(attacks.apgd, steps=20, loss="dlr"),
    "apgd-l2": functools.partial(attacks.apgd, steps=20, norm="l2"),
    "apgd-t": functools.partial(attacks.apgd_targeted, steps=10, targets=3),
    "square": functools.partial(attacks.square, queries=200),
    "square-l2": functools.partial(attacks.square, queries=200, norm="l2"),
    "worst-case": functools.partial(evaluation.worst_case, steps=10, queries=100),
    "worst-case-l2": functools.partial(evaluation.worst_case, steps=10, queries=100, norm="l2"),
}
NORM = {"apgd-l2": 2.0, "square-l2": 2.0, "worst-case-l2": 2.0}


def test_the_checkpoints_are_the_papers():
    assert apgd_checkpoints(100) == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    assert apgd_checkpoints(10) == [0, 3, 5, 6, 7, 8, 9, 10]


def test_the_dlr_loss_is_invariant_to_shifting_and_scaling_the_logits():
    logits = torch.randn(20, 10, generator=torch.Generator().manual_seed(0))
    y = torch.arange(20) % 10
    t = (y + 1) % 10
    for loss in (dlr_loss(logits, y), dlr_loss(logits, y, t)):
        assert loss.shape == (20,)
    assert torch.allclose(dlr_loss(3 * logits + 5, y), dlr_loss(logits, y), atol=1e-5)
    assert torch.allclose(dlr_loss(3 * logits + 5, y, t), dlr_loss(logits, y, t), atol=1e-5)
    # positive exactly when the label is not the top logit
    assert torch.equal(dlr_loss(logits, y) > 0, logits.argmax(1) != y)


def test_the_square_schedule_halves_p():
    assert [square_fraction(i, 10_000, 0.8) for i in (0, 10, 11, 51, 8001)] == [
        0.8,
        0.8,
        0.4,
        0.2,
        0.8 / 2**9,
    ]


@pytest.mark.parametrize("name", sorted(STRONG))
def test_every_strong_attack_keeps_the_contract(name, trained_cnn, batch):
    x, y = batch
    x, y = x[:24], y[:24]
    eps, p = 0.15, NORM.get(name, math.inf)
    eps = 0.6 if p == 2.0 else eps
    options = {"norm": "l2"} if p == 2.0 else {}
    before = x.clone()
    state = {k: v.clone() for k, v in trained_cnn.state_dict().items()}
    rng = torch.get_rng_state()
    x_adv = STRONG[name](trained_cnn, x, y, eps=eps, seed=3, **options)
    assert x_adv.shape == x.shape and torch.equal(x, before)
    assert (lp_norm(x_adv - x, p) <= eps + 1e-6).all() and ((x_adv >= 0) & (x_adv <= 1)).all()
    assert all(torch.equal(v, trained_cnn.state_dict()[k]) for k, v in state.items())
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.equal(x_adv, STRONG[name](trained_cnn, x, y, eps=eps, seed=3, **options))
    with torch.no_grad():
        assert torch.equal(x_adv, STRONG[name](trained_cnn, x, y, eps=eps, seed=3, **options))


@pytest.mark.parametrize("name", sorted(STRONG))
def test_bad_input_is_refused(name, trained_cnn, batch):
    x, y = batch
    attack = STRONG[name]
    with pytest.raises(ValueError, match="eps"):
        attack(trained_cnn, x, y, eps=-0.1)
    with pytest.raises(ValueError, match="norm"):
        attack(trained_cnn, x, y, eps=0.1, norm="l3")
    with pytest.raises(ValueError, match="labels"):
        attack(trained_cnn, x, y + 10, eps=0.1)
    with pytest.raises(ValueError, match="x"):
        attack(trained_cnn, x * 2, y, eps=0.1)


def test_apgd_is_at_least_as_strong_as_pgd_with_the_same_passes(trained_cnn, batch):
    x, y = batch
    pgd = metrics.risk_rob(trained_cnn, x, y, functools.partial(attacks.pgd, eps=0.05, steps=50))
    apgd = metrics.risk_rob(trained_cnn, x, y, functools.partial(attacks.apgd, eps=0.05, steps=50))
    assert apgd >= pgd - 1 / len(y)


def test_square_breaks_a_defence_that_masks_gradients(trained_cnn, batch):
    x, y = batch
    defended = models.quantized(trained_cnn)
    by_pgd = metrics.risk_rob(defended, x, y, functools.partial(attacks.pgd, eps=0.1, steps=40))
    by_square = metrics.risk_rob(
        defended, x, y, functools.partial(attacks.square, eps=0.1, queries=500)
    )
    assert by_square > by_pgd + 0.3


def test_the_ensemble_is_worse_for_the_model_than_its_first_attack(trained_cnn, batch):
    x, y = batch
    eps, options = 0.05, {"steps": 20, "queries": 200}
    ensemble = metrics.risk_rob(
        trained_cnn, x, y, functools.partial(evaluation.worst_case, eps=eps, **options)
    )
    first = metrics.risk_rob(trained_cnn, x, y, functools.partial(attacks.apgd, eps=eps, steps=20))
    assert ensemble >= first
    accuracy = evaluation.robust_accuracy(trained_cnn, x, y, eps=eps, **options)
    assert accuracy == pytest.approx(1 - ensemble)


def test_the_targeted_stages_need_four_classes():
    model = models.mlp((2,), 3, hidden=8)
    x, y = torch.rand(5, 2), torch.tensor([0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="4 targeted"):
        attacks.apgd(model, x, y, eps=0.1, loss="dlr", target=(y + 1) % 3)
    two = models.mlp((2,), 2, hidden=8)
    with pytest.raises(ValueError, match="at least 3 classes"):
        attacks.apgd(two, x, y % 2, eps=0.1, loss="dlr")
    # the ensemble skips what a two-class model cannot take, and still keeps the contract
    x_adv = evaluation.worst_case(two, x, y % 2, eps=0.1, steps=5, queries=20)
    assert (lp_norm(x_adv - x, math.inf) <= 0.1 + 1e-6).all()


@pytest.mark.parametrize("norm, eps", [("linf", 0.1), ("l2", 0.5)])
def test_square_works_under_inference_mode_since_it_needs_no_gradient(
    norm, eps, trained_cnn, batch
):
    x, y = batch
    reference = attacks.square(trained_cnn, x, y, eps=eps, norm=norm, queries=50)
    with torch.inference_mode():
        assert torch.equal(
            attacks.square(trained_cnn, x, y, eps=eps, norm=norm, queries=50), reference
        )


# -- the L2 Square attack --------------------------------------------------------------------


def test_the_l2_pattern_is_the_papers_nested_squares():
    # eq. 2 of Andriushchenko et al.: the ring at distance j from the centre adds 1/(j+1)^2
    assert torch.allclose(
        nested_squares(3, 3),
        torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64) / 4,
    )
    for rows, cols in ((1, 1), (3, 3), (5, 5), (7, 7), (2, 5), (1, 6)):
        pattern = square_pattern(rows, cols)
        assert pattern.shape == (rows, cols) and float(pattern.norm()) == pytest.approx(1.0)
        # two halves of opposite signs, the bump largest at each half's centre
        top, bottom = pattern[: rows // 2], pattern[rows // 2 :]
        assert (top >= 0).all() and (bottom < 0).all()
    assert square_pattern(5, 5)[3, 2] == square_pattern(5, 5).min()
    assert [square_side(p, 8, 8, "l2") for p in (0.8, 0.4, 0.2, 0.05)] == [7, 5, 5, 3]


def test_l2_square_never_increases_a_points_margin(trained_cnn, batch):
    x, y = batch
    trace = []
    x_adv = attacks.square(
        trained_cnn, x, y, eps=0.5, norm="l2", queries=150, seed=2,
        callback=lambda i, best: trace.append(best.clone()),
    )  # fmt: skip
    assert len(trace) >= 2
    steps = torch.stack(trace)  # (iterations, N): the best objective -margin per point
    assert (steps[1:] >= steps[:-1]).all()
    with torch.no_grad():
        final = attack_objective(trained_cnn(x_adv), y, "margin")
    assert torch.allclose(final, trace[-1], atol=1e-5)


def test_l2_square_is_about_as_strong_as_pgd_l2_on_a_plain_model(trained_cnn, batch):
    """Measured on this 4-epoch CNN and 64 digits, L2 eps = 1: PGD-20 leaves 1.6% robust,
    Square with 500 queries 6.2% to 9.4% over the seeds 0-4 (200 queries: 10.9%); at
    eps = 1.5 both leave 0%. (At eps = 0.5 Square lags: 69% against PGD's 48%.)"""
    x, y = batch
    eps = 1.0
    by_pgd = metrics.risk_rob(
        trained_cnn, x, y, functools.partial(attacks.pgd, eps=eps, norm="l2", steps=20)
    )
    by_square = metrics.risk_rob(
        trained_cnn, x, y, functools.partial(attacks.square, eps=eps, norm="l2", queries=500)
    )
    assert 1 - by_square <= 0.15 and by_square >= by_pgd - 0.1


@pytest.mark.parametrize("factor", [1.0, 1e30])
def test_l2_square_at_the_box_diameter_is_finite_and_breaks_every_point(factor, trained_cnn, batch):
    x, y = batch
    eps = box_diameter(x[0].numel(), "l2") * factor  # 8 for 8x8 digits: the whole box
    x_adv = attacks.square(trained_cnn, x, y, eps=eps, norm="l2", queries=100)
    assert torch.isfinite(x_adv).all() and x_adv.min() >= 0 and x_adv.max() <= 1
    assert (lp_norm(x_adv - x, 2) <= min(eps, 8.0) + 1e-6).all()
    assert metrics.risk_rob(trained_cnn, x, y, lambda m, a, b: x_adv) == 1.0


def test_l2_square_at_a_zero_budget_returns_x(trained_cnn, batch):
    x, y = batch
    assert torch.equal(attacks.square(trained_cnn, x, y, eps=0.0, norm="l2", queries=20), x)


def test_the_l2_ensemble_runs_square_and_breaks_a_defence_that_masks_gradients(trained_cnn, batch):
    x, y = batch
    defended, eps = models.quantized(trained_cnn), 1.0
    by_apgd = metrics.risk_rob(
        defended, x, y, functools.partial(attacks.apgd, eps=eps, norm="l2", steps=10)
    )
    ensemble = functools.partial(evaluation.worst_case, eps=eps, norm="l2", steps=10, queries=300)
    assert metrics.risk_rob(defended, x, y, ensemble) > by_apgd + 0.5


@pytest.mark.parametrize("attack", [attacks.pgd, attacks.apgd])
def test_the_objective_trace_is_the_best_objective_so_far(attack, trained_cnn, batch):
    x, y = batch
    bound = functools.partial(attack, eps=0.05, steps=12, seed=1)
    trace, x_adv = metrics.objective_trace(trained_cnn, x, y, bound)
    assert len(trace) == 13 and all(b >= a for a, b in zip(trace, trace[1:]))
    # the callback changes nothing: the run gives the attack's own output
    assert torch.equal(x_adv, bound(trained_cnn, x, y))
    assert trace[-1] >= float(metrics.per_sample_loss(trained_cnn, x_adv, y).mean()) - 1e-6
