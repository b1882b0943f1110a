"""advlib.norms: the steepest-direction identity, dual exponents and projections."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from advlib.norms import (
    as_p,
    box_diameter,
    clip_to_box,
    dual_exponent,
    lp_norm,
    project,
    steepest_direction,
    steepest_value,
    uniform_in_ball,
)

P_VALUES = [1.0, 2.0, math.inf]


def random_tensor(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(
    "p,q", [(1, math.inf), (2, 2.0), (math.inf, 1.0), ("l1", math.inf), ("linf", 1.0)]
)
def test_dual_exponent(p, q):
    assert dual_exponent(p) == q


@pytest.mark.parametrize("bad", ["l3", 3, 0.5, "inf", None, -1])
def test_unknown_norm_is_refused_with_the_accepted_values(bad):
    with pytest.raises(ValueError, match="norm must be one of 'l1', 'l2', 'linf'"):
        as_p(bad)


def test_lp_norm_is_per_sample():
    x = torch.tensor([[3.0, -4.0], [1.0, 1.0]])
    assert torch.allclose(lp_norm(x, 2), torch.tensor([5.0, math.sqrt(2)]))
    assert torch.allclose(lp_norm(x, 1), torch.tensor([7.0, 2.0]))
    assert torch.allclose(lp_norm(x, "linf"), torch.tensor([4.0, 1.0]))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 5),
    d=st.integers(1, 40),
    p=st.sampled_from(P_VALUES),
)
def test_steepest_direction_attains_the_dual_norm(seed, n, d, p):
    g = random_tensor(seed, (n, d))
    eta = steepest_direction(g, p)
    assert torch.all(lp_norm(eta, p) <= 1 + 1e-12)
    value = (g * eta).sum(dim=1)
    assert torch.allclose(value, lp_norm(g, dual_exponent(p)), rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from(P_VALUES))
def test_no_point_of_the_ball_beats_the_steepest_direction(seed, p):
    g = random_tensor(seed, (1, 6))
    best = (g * steepest_direction(g, p)).sum()
    candidates = project(random_tensor(seed + 1, (500, 6)) * 3, p, 1.0)
    assert torch.all((candidates * g).sum(dim=1) <= best + 1e-10)


def test_steepest_direction_of_a_zero_gradient_is_zero():
    for p in P_VALUES:
        assert torch.all(steepest_direction(torch.zeros(2, 3), p) == 0)


def test_steepest_direction_keeps_the_shape_of_images():
    g = random_tensor(0, (3, 1, 4, 4))
    for p in P_VALUES:
        assert steepest_direction(g, p).shape == g.shape


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    d=st.integers(1, 30),
    eps=st.floats(0.0, 5.0),
    p=st.sampled_from(P_VALUES),
)
def test_projection_lands_in_the_ball_and_fixes_its_points(seed, d, eps, p):
    delta = random_tensor(seed, (4, d)) * 3
    projected = project(delta, p, eps)
    assert torch.all(lp_norm(projected, p) <= eps + 1e-9)
    inside = project(projected, p, eps)
    assert torch.allclose(inside, projected, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from(P_VALUES))
def test_projection_is_the_nearest_point_of_the_ball(seed, p):
    delta = random_tensor(seed, (1, 5)) * 2
    projected = project(delta, p, 1.0)
    others = project(random_tensor(seed + 7, (400, 5)) * 2, p, 1.0)
    distance = lp_norm(delta - projected, 2)
    assert torch.all(lp_norm(delta - others, 2) >= distance - 1e-9)


def test_projection_takes_one_radius_per_sample():
    delta = torch.ones(2, 4)
    projected = project(delta, "l2", torch.tensor([1.0, 0.5]))
    assert torch.allclose(lp_norm(projected, 2), torch.tensor([1.0, 0.5]))


def test_clip_to_box_keeps_x_plus_delta_in_the_box_and_never_grows_the_norm():
    x = torch.rand(10, 8, generator=torch.Generator().manual_seed(1))
    delta = random_tensor(2, (10, 8)).float()
    clipped = clip_to_box(x, delta)
    assert torch.all((x + clipped >= 0) & (x + clipped <= 1))
    for p in P_VALUES:
        assert torch.all(lp_norm(clipped, p) <= lp_norm(delta, p) + 1e-6)


def test_a_bool_is_not_a_norm():
    with pytest.raises(ValueError, match="norm"):
        as_p(True)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from([1.0, 2.0, math.inf]), eps=st.floats(0, 3))
def test_steepest_value_is_the_inner_product_at_the_steepest_direction(seed, p, eps):
    g = torch.randn(5, 1, 3, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    attained = (g * eps * steepest_direction(g, p)).flatten(1).sum(dim=1)
    assert torch.allclose(steepest_value(g, p, eps), attained, rtol=1e-9, atol=1e-12)
    assert torch.allclose(steepest_value(g, p, eps), eps * lp_norm(g, dual_exponent(p)))


@pytest.mark.parametrize("p, expected", [("linf", 1.0), ("l2", 8.0), ("l1", 64.0)])
def test_box_diameter_is_the_distance_between_opposite_corners(p, expected):
    assert box_diameter(64, p) == expected
    assert float(lp_norm(torch.ones(1, 64) - torch.zeros(1, 64), p)) == pytest.approx(expected)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from([1.0, 2.0, math.inf]), eps=st.floats(0, 2))
def test_uniform_in_ball_stays_in_the_ball_and_is_reproducible(seed, p, eps):
    x = torch.rand(50, 1, 4, 4)
    first = uniform_in_ball(x, p, eps, torch.Generator().manual_seed(seed))
    again = uniform_in_ball(x, p, eps, torch.Generator().manual_seed(seed))
    assert first.shape == x.shape and torch.equal(first, again)
    assert torch.isfinite(first).all() and (lp_norm(first, p) <= eps * (1 + 1e-5) + 1e-7).all()


@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
def test_uniform_in_ball_fills_the_ball_as_a_uniform_law_does(p):
    # For a uniform law on the d-ball, P(||eta|| <= r * eps) = r**d; with d = 2, r = 1/2: 1/4.
    x = torch.zeros(40_000, 2)
    radius = lp_norm(uniform_in_ball(x, p, 1.0, torch.Generator().manual_seed(0)), p)
    assert float((radius <= 0.5).float().mean()) == pytest.approx(0.25, abs=0.01)


def test_uniform_in_ball_takes_one_radius_per_sample():
    x = torch.zeros(3, 4)
    eta = uniform_in_ball(x, "l2", torch.tensor([0.0, 1.0, 2.0]), torch.Generator().manual_seed(1))
    assert (
        float(lp_norm(eta, 2)[0]) == 0.0 and (lp_norm(eta, 2)[1:] <= torch.tensor([1.0, 2.0])).all()
    )
