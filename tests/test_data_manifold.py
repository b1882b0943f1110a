"""advlib.data.manifold and manifold_parts: two concentric m-spheres embedded in [0, 1]^d."""

from __future__ import annotations

import pytest
import torch

from advlib import data


@pytest.mark.parametrize("m,d", [(1, 2), (1, 50), (3, 20)])
def test_clean_points_lie_on_their_class_sphere_inside_the_box(m, d):
    man = data.manifold(300, m=m, d=d, radii=(0.2, 0.45), seed=3)
    assert man.X.shape == (300, d) and man.X.dtype == torch.float32
    assert man.basis.shape == (d, m + 1)
    assert torch.allclose(man.basis.T @ man.basis, torch.eye(m + 1), atol=1e-5)
    offset = man.X - man.center
    # on the subspace of the basis, at the distance of the class's radius
    assert torch.allclose(offset, (offset @ man.basis) @ man.basis.T, atol=1e-5)
    assert torch.allclose(offset.norm(dim=1), man.radii[man.y], atol=1e-5)
    assert man.X.min() >= 0 and man.X.max() <= 1
    assert torch.equal(torch.bincount(man.y), torch.tensor([150, 150]))


def test_seeds_fix_the_points_and_the_basis_separately():
    a = data.manifold(40, m=1, d=10, seed=0)
    b = data.manifold(40, m=1, d=10, seed=1)
    c = data.manifold(40, m=1, d=10, seed=0, basis_seed=1)
    assert torch.equal(a.X, data.manifold(40, m=1, d=10, seed=0).X)
    assert torch.equal(a.basis, b.basis) and not torch.equal(a.X, b.X)
    assert not torch.equal(a.basis, c.basis)


def test_noise_moves_points_off_the_manifold_by_sigma_per_coordinate():
    man = data.manifold(2000, m=1, d=100, noise=0.01, seed=0)
    clean = data.manifold(2000, m=1, d=100, noise=0.0, seed=0)
    residual = man.X - clean.X
    assert abs(float(residual.std()) - 0.01) < 0.001


def test_parts_are_orthogonal_add_up_and_have_the_right_dimensions():
    man = data.manifold(200, m=2, d=30, seed=0)
    delta = torch.randn(200, 30, generator=torch.Generator().manual_seed(1))
    parts = data.manifold_parts(man, man.X, delta)
    assert torch.allclose(parts.tangent + parts.radial + parts.orthogonal, delta, atol=1e-5)
    for a, b in [
        (parts.tangent, parts.radial),
        (parts.tangent, parts.orthogonal),
        (parts.radial, parts.orthogonal),
    ]:
        assert (a * b).sum(dim=1).abs().max() < 1e-4
    # a random direction puts on average m/d, 1/d, (d-m-1)/d of its squared norm in each part
    energy = delta.norm(dim=1) ** 2
    shares = [float((part.norm(dim=1) ** 2 / energy).mean()) for part in parts]
    assert shares == pytest.approx([2 / 30, 1 / 30, 27 / 30], abs=0.02)


def test_tangent_part_is_tangent_to_the_sphere_and_radial_part_changes_the_radius():
    man = data.manifold(50, m=1, d=5, radii=(0.2, 0.4), seed=0)
    offset = man.X - man.center
    radial_direction = offset / offset.norm(dim=1, keepdim=True)
    parts = data.manifold_parts(man, man.X, 0.1 * radial_direction)
    assert parts.tangent.norm(dim=1).max() < 1e-5 and parts.orthogonal.norm(dim=1).max() < 1e-5
    # a small tangent step stays on the sphere to second order
    step = 1e-3 * parts.tangent + 1e-3 * data.manifold_parts(man, man.X, torch.randn(50, 5)).tangent
    moved = (man.X + step - man.center).norm(dim=1)
    assert torch.allclose(moved, man.radii[man.y], atol=1e-4)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n=1),
        dict(m=0),
        dict(d=1),
        dict(radii=(0.4, 0.2)),
        dict(radii=(0.2, 0.6)),
        dict(noise=-1.0),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs):
    arguments = dict(n=10, m=1, d=2) | kwargs
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"^{name} must"):
        data.manifold(arguments.pop("n"), **arguments)


def test_parts_refuse_mismatched_shapes():
    man = data.manifold(10, m=1, d=4)
    with pytest.raises(ValueError, match="delta"):
        data.manifold_parts(man, man.X, torch.zeros(10, 3))


def test_manifold_split_shares_the_manifold_and_keeps_the_test_set_on_it():
    train_set, test_set = data.manifold_split(60, 40, m=2, d=12, noise=0.01, seed=5, basis_seed=2)
    expected = data.manifold(60, m=2, d=12, noise=0.01, seed=5, basis_seed=2)
    assert torch.equal(train_set.X, expected.X) and torch.equal(train_set.y, expected.y)
    assert torch.equal(test_set.X, data.manifold(40, m=2, d=12, seed=6, basis_seed=2).X)
    assert torch.equal(train_set.basis, test_set.basis)
    offset = test_set.X - test_set.center
    assert torch.allclose(offset.norm(dim=1), test_set.radii[test_set.y], atol=1e-5)


def test_energy_shares_of_pure_and_random_perturbations():
    man = data.manifold(200, m=1, d=64, seed=0)
    offset = man.X - man.center
    radial = 0.01 * offset / offset.norm(dim=1, keepdim=True)
    shares = data.manifold_energy_shares(man, man.X, radial)
    assert shares["radial"] == pytest.approx(1.0, abs=1e-4) and shares["tangent"] < 1e-4
    parts = data.manifold_parts(
        man, man.X, torch.randn(200, 64, generator=torch.Generator().manual_seed(1))
    )
    tangent = data.manifold_energy_shares(man, man.X, parts.tangent)
    assert tangent["tangent"] == pytest.approx(1.0, abs=1e-4)
    random = data.manifold_energy_shares(
        man, man.X, torch.randn(200, 64, generator=torch.Generator().manual_seed(2))
    )
    assert sum(random.values()) == pytest.approx(1.0, abs=1e-5)
    # A random direction: m/d along the manifold, 1/d along the radius, the rest outside.
    assert random["orthogonal"] == pytest.approx(62 / 64, abs=0.01)
    assert random["tangent"] == pytest.approx(1 / 64, abs=0.01)


def test_energy_shares_refuse_a_zero_perturbation():
    man = data.manifold(10, d=4, seed=0)
    with pytest.raises(ValueError, match="non-zero"):
        data.manifold_energy_shares(man, man.X, torch.zeros(10, 4))
