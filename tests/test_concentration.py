"""Spherical caps and Lévy's bound (advlib.concentration) against closed forms."""

import math

import pytest
import torch
from scipy import stats

from advlib import concentration, data


@pytest.mark.parametrize("t", [-0.9, -0.3, 0.0, 0.25, 0.8])
def test_cap_measure_matches_archimedes_and_the_circle(t):
    # On S^2, x_1 is uniform on [-1, 1] (Archimedes); on the circle, x_1 = cos(theta), theta uniform.
    assert concentration.cap_measure(t, 3) == pytest.approx((1 - t) / 2, abs=1e-12)
    assert concentration.cap_measure(t, 2) == pytest.approx(math.acos(t) / math.pi, abs=1e-12)


@pytest.mark.parametrize("d", [3, 8, 100, 5000])
@pytest.mark.parametrize("mu", [0.01, 0.2, 0.5])
def test_cap_threshold_inverts_cap_measure(mu, d):
    t = concentration.cap_threshold(mu, d)
    assert concentration.cap_measure(t, d) == pytest.approx(mu, rel=1e-9)
    if d == 3:
        assert t == pytest.approx(1 - 2 * mu, abs=1e-12)


def test_cap_measure_agrees_with_samples():
    x = data.sphere(20_000, 16, seed=0, dtype=torch.float64)
    t = 0.3
    sampled = float((x[:, 0] >= t).double().mean())
    exact = concentration.cap_measure(t, 16)
    assert abs(sampled - exact) < 4 * math.sqrt(exact * (1 - exact) / 20_000)


def test_distance_to_cap_is_reached_and_not_beaten():
    d, t = 5, 0.6
    x = data.sphere(50, d, seed=1, dtype=torch.float64)
    x = x[x[:, 0] < t]
    u = x.clone()
    u[:, 0] = 0
    u = u / u.norm(dim=1, keepdim=True)
    y = t * torch.eye(d, dtype=x.dtype)[0] + math.sqrt(1 - t**2) * u  # the closest cap point
    claimed = concentration.distance_to_cap(x[:, 0], t)
    torch.testing.assert_close((x - y).norm(dim=1), claimed)
    cloud = data.sphere(100_000, d, seed=2, dtype=torch.float64)
    cap = cloud[cloud[:, 0] >= t]
    assert (torch.cdist(x, cap).min(dim=1).values >= claimed - 1e-12).all()
    assert (concentration.distance_to_cap(torch.tensor([t, 0.9, 1.0]), t) == 0).all()


def test_chord_and_geodesic():
    assert concentration.chord(0.0) == 0.0
    assert concentration.chord(math.pi / 2) == pytest.approx(math.sqrt(2))
    assert concentration.chord(1.0) < 1.0


@pytest.mark.parametrize("eps", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("t", [-0.5, 0.2, 0.9])
def test_cap_neighbourhood_measure_on_s2(eps, t):
    angle = min(math.acos(t) + 2 * math.asin(eps / 2), math.pi)
    expected = (1 - math.cos(angle)) / 2
    assert concentration.cap_neighbourhood_measure(eps, t, 3) == pytest.approx(expected, abs=1e-12)
    assert concentration.cap_neighbourhood_measure(0.0, t, 3) == pytest.approx((1 - t) / 2)


def test_median_distance_to_cap():
    mu = 0.1
    # On S^2: t = 1 - 2 mu.
    expected = 2 * math.sin(math.asin(1 - 2 * mu) / 2)
    assert concentration.median_distance_to_cap(mu, 3) == pytest.approx(expected, abs=1e-12)
    # Half of the sampled points are closer than the median distance.
    x = data.sphere(20_000, 64, seed=3, dtype=torch.float64)
    dist = concentration.distance_to_cap(x[:, 0], concentration.cap_threshold(mu, 64))
    assert float(dist.median()) == pytest.approx(
        concentration.median_distance_to_cap(mu, 64), rel=0.03
    )
    # Large d: sqrt(d) * eps_1/2 tends to Phi^-1(1 - mu).
    d = 10**6
    z = stats.norm.isf(mu)
    assert math.sqrt(d) * concentration.median_distance_to_cap(mu, d) == pytest.approx(z, rel=1e-3)


@pytest.mark.parametrize("d", [10, 100, 1000, 10_000])
@pytest.mark.parametrize("mu", [0.01, 0.2])
def test_levy_bound_never_exceeds_the_cap(mu, d):
    # The cap is the optimal set (isoperimetry): the bound for every set lies below its value.
    t = concentration.cap_threshold(mu, d)
    for eps in [0.0, 0.01, 0.05, 0.1, 0.3, 1.0, 2.0]:
        bound = concentration.levy_neighbourhood_bound(eps, mu, d)
        assert mu <= bound <= concentration.cap_neighbourhood_measure(eps, t, d) + 1e-12
    assert concentration.levy_radius(mu, d) > concentration.median_distance_to_cap(mu, d)


def test_levy_bound_closed_form_and_radius():
    mu, d, eps = 0.01, 1000, 0.5
    r = 2 * math.asin(eps / 2)
    r_mu = math.sqrt(2 * math.log(1 / mu) / (d - 2))
    expected = 1 - math.exp(-(d - 2) * (r - r_mu) ** 2 / 2)
    assert concentration.levy_neighbourhood_bound(eps, mu, d) == pytest.approx(expected)
    for share in [0.5, 0.9]:
        radius = concentration.levy_radius(mu, d, share=share)
        assert concentration.levy_neighbourhood_bound(radius, mu, d) == pytest.approx(share)
    assert concentration.levy_neighbourhood_bound(0.001, mu, d) == mu  # below r_mu: mu itself


def test_bad_dimensions_are_refused():
    with pytest.raises(ValueError, match="d"):
        concentration.cap_measure(0.0, 1)
    with pytest.raises(ValueError, match="d"):
        concentration.levy_neighbourhood_bound(0.1, 0.01, 2)
