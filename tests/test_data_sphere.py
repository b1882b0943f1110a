"""advlib.data.sphere: uniform points on the sphere S^{d-1} of R^d."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from advlib import data


@pytest.mark.parametrize("d", [2, 8, 300])
def test_points_lie_on_the_sphere_of_the_given_radius(d):
    X = data.sphere(500, d, radius=2.5, seed=1)
    assert X.shape == (500, d) and X.dtype == torch.float32
    assert torch.allclose(X.norm(dim=1), torch.full((500,), 2.5), atol=1e-5)


def test_draw_is_reproducible_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    X = data.sphere(50, 10, seed=7)
    assert torch.equal(torch.rand(3), before)
    assert torch.equal(X, data.sphere(50, 10, seed=7))
    assert not torch.equal(X, data.sphere(50, 10, seed=8))


@pytest.mark.parametrize("d", [3, 16, 512])
def test_a_coordinate_has_the_beta_law_of_the_uniform_measure(d):
    # (x_1 + 1) / 2 ~ Beta((d-1)/2, (d-1)/2) exactly when x is uniform on S^{d-1};
    # d = 3 is Archimedes' theorem: x_1 is uniform on [-1, 1].
    X = data.sphere(4000, d, seed=0, dtype=torch.float64)
    a = (d - 1) / 2
    result = stats.kstest(((X[:, 0] + 1) / 2).numpy(), stats.beta(a, a).cdf)
    assert result.pvalue > 1e-3, result
    assert abs(float(X[:, 0].var()) * d - 1.0) < 0.1  # variance 1/d


def test_directions_are_isotropic():
    X = data.sphere(20000, 5, seed=0, dtype=torch.float64)
    assert X.mean(dim=0).abs().max() < 0.02
    covariance = X.T @ X / len(X)
    assert torch.allclose(covariance, torch.eye(5, dtype=torch.float64) / 5, atol=0.01)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n=0, d=3), "n"),
        (dict(n=5, d=1), "d"),
        (dict(n=5, d=3, radius=0.0), "radius"),
        (dict(n=5, d=3, radius=-1.0), "radius"),
        (dict(n=5, d=3, radius=math.nan), "radius"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, name):
    n, d = kwargs.pop("n"), kwargs.pop("d")
    with pytest.raises(ValueError, match=name):
        data.sphere(n, d, **kwargs)
