"""The reliability contracts of every attack (issue 12, item 8): gradient modes, models in
train mode, precision, budgets at the extremes, devices and memory bounds."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from advlib import checks, metrics, models, seeded
from advlib.attacks import (
    adaptive_pgd,
    apgd,
    dense_search,
    fgm,
    fgsm,
    minimal_perturbation,
    nearest_misclassified,
    pgd,
    square,
)
from advlib.contracts import at_budget
from advlib.evaluation import worst_case
from advlib.norms import box_diameter, lp_norm, uniform_in_ball

SHAPE = (1, 4, 4)

#: Every gradient attack, bound to a small budget, as ``(model, x, y) -> x_adv``.
GRADIENT_ATTACKS = {
    "fgsm": functools.partial(fgsm, eps=0.1),
    "fgm": functools.partial(fgm, eps=0.5),
    "pgd-linf": functools.partial(pgd, eps=0.1, steps=3, restarts=2),
    "pgd-l2": functools.partial(pgd, eps=0.5, norm="l2", steps=3),
    "pgd-l1": functools.partial(pgd, eps=1.0, norm="l1", steps=3),
    "adaptive_pgd": functools.partial(adaptive_pgd, eps=0.1, steps=3),
    "minimal_perturbation": lambda m, x, y: (
        minimal_perturbation(m, x, y, search_steps=3, steps=3).x_adv
    ),
    "apgd-ce": functools.partial(apgd, eps=0.1, steps=4),
    "apgd-l2-dlr": functools.partial(apgd, eps=0.5, norm="l2", steps=4, loss="dlr"),
    "worst_case": functools.partial(worst_case, eps=0.1, steps=3, queries=10),
}

#: The score-based attacks: no gradient, so they also work under ``torch.inference_mode``.
SCORE_ATTACKS = {
    "square-linf": functools.partial(square, eps=0.1, queries=20),
    "square-l2": functools.partial(square, eps=0.5, norm="l2", queries=20),
}


def small_batch(n: int = 6, seed: int = 0, dtype: torch.dtype = torch.float32):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand((n, *SHAPE), generator=generator, dtype=dtype)
    y = torch.randint(0, 3, (n,), generator=generator)
    return x, y


def mlp(seed: int = 0) -> nn.Module:
    return models.mlp(SHAPE, 3, hidden=8, seed=seed)


def batchnorm_dropout_model() -> nn.Module:
    """A model whose train mode differs from its eval mode: BatchNorm and Dropout."""
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(8, 3),
    )  # fmt: skip
    model(torch.rand(32, *SHAPE))  # running statistics away from their initial values
    return model.train()


# -- gradients: no_grad, set_grad_enabled(False), inference_mode ------------------------------


@pytest.mark.parametrize("name", sorted(GRADIENT_ATTACKS))
@pytest.mark.parametrize(
    "context", [torch.no_grad, lambda: torch.set_grad_enabled(False)], ids=["no_grad", "off"]
)
def test_attacks_work_without_grad_mode(name, context):
    attack, model, (x, y) = GRADIENT_ATTACKS[name], mlp(), small_batch()
    expected = attack(model, x, y)
    with context():
        assert torch.equal(attack(model, x, y), expected)
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("name", sorted(GRADIENT_ATTACKS))
def test_attacks_refuse_inference_mode_clearly(name):
    attack, model, (x, y) = GRADIENT_ATTACKS[name], mlp(), small_batch()
    message = f"^{name.split('-')[0]} needs gradients, which torch.inference_mode forbids"
    with torch.inference_mode(), pytest.raises(ValueError, match=message):
        attack(model, x, y)


@pytest.mark.parametrize("name", sorted(SCORE_ATTACKS))
@pytest.mark.parametrize(
    "context",
    [torch.no_grad, lambda: torch.set_grad_enabled(False), torch.inference_mode],
    ids=["no_grad", "off", "inference_mode"],
)
def test_score_attacks_work_in_every_grad_mode(name, context):
    attack, model, (x, y) = SCORE_ATTACKS[name], mlp(), small_batch()
    expected = attack(model, x, y)
    with context():
        assert torch.equal(attack(model, x, y), expected)
    assert torch.is_grad_enabled()


# -- models in train mode: BatchNorm, Dropout ------------------------------------------------


@pytest.mark.parametrize("name", sorted(GRADIENT_ATTACKS) + sorted(SCORE_ATTACKS))
def test_attacks_leave_a_train_mode_model_and_the_random_state_alone(name):
    model, (x, y) = batchnorm_dropout_model(), small_batch()
    state = copy.deepcopy(model.state_dict())
    random_state = torch.get_rng_state()
    {**GRADIENT_ATTACKS, **SCORE_ATTACKS}[name](model, x, y)
    assert all(module.training for module in model.modules())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), random_state)


@pytest.mark.parametrize("name", sorted(GRADIENT_ATTACKS))
def test_a_samples_result_does_not_depend_on_the_rest_of_its_batch(name):
    """BatchNorm in train mode would mix the batch's statistics into every sample; the
    attacks evaluate in eval mode, so changing the other samples changes nothing."""
    attack, model, (x, y) = GRADIENT_ATTACKS[name], batchnorm_dropout_model(), small_batch()
    other = x.clone()
    other[1:] = small_batch(seed=1)[0][1:]
    assert torch.equal(attack(model, x, y)[0], attack(model, other, y)[0])


def test_attacks_see_the_deterministic_network():
    """Dropout is off during an attack: two runs give the same point, and the same point
    as on the model put in eval mode by hand."""
    model, (x, y) = batchnorm_dropout_model(), small_batch()
    first, second = pgd(model, x, y, eps=0.1, steps=3), pgd(model, x, y, eps=0.1, steps=3)
    assert torch.equal(first, second)
    assert torch.equal(first, pgd(copy.deepcopy(model).eval(), x, y, eps=0.1, steps=3))


# -- precision and the ε-ball ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    "name", sorted(GRADIENT_ATTACKS) + sorted(SCORE_ATTACKS) + ["dense_search", "nearest"]
)
def test_low_precision_inputs_are_refused(name, dtype):
    model, (x, y) = mlp(), small_batch()
    attacks = {
        **GRADIENT_ATTACKS,
        **SCORE_ATTACKS,
        "dense_search": functools.partial(dense_search, eps=0.1),
        "nearest": lambda m, x, y: nearest_misclassified(m, x, y, x, y),
    }
    if name == "dense_search":
        model, x = models.mlp((2,), 3, hidden=8), x.flatten(1)[:, :2]
    with pytest.raises(ValueError, match="float32 or float64"):
        attacks[name](model.to(dtype), x.to(dtype), y)


@settings(max_examples=30, deadline=None)
@given(
    norm=st.sampled_from(["linf", "l2", "l1"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    eps=st.floats(0.0, 20.0),
    steps=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_pgd_never_leaves_the_ball_in_float32_or_float64(norm, dtype, eps, steps, seed):
    model, (x, y) = mlp(seed).to(dtype), small_batch(seed=seed, dtype=dtype)
    x_adv = pgd(model, x, y, eps=eps, norm=norm, steps=steps, seed=seed)
    assert x_adv.dtype == dtype
    assert (lp_norm(x_adv - x, norm) <= eps + 1e-6).all()
    assert x_adv.min() >= 0 and x_adv.max() <= 1


@settings(max_examples=30, deadline=None)
@given(
    norm=st.sampled_from(["linf", "l2"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    shape=st.sampled_from([SHAPE, (3, 4, 4), (16,), (1, 2, 9)]),
    eps=st.floats(0.0, 20.0),
    seed=st.integers(0, 1000),
)
def test_square_never_leaves_the_ball_or_the_box(norm, dtype, shape, eps, seed):
    """Images with one or three channels, vectors (one row of pixels) and windows that do
    not fit: the point stays in the ball (ε up to and past the box's diameter, 4 here) and
    in the box, and the same seed gives the same point."""
    model = models.mlp(shape, 3, hidden=8, seed=seed).to(dtype)
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand((5, *shape), generator=generator, dtype=dtype)
    y = torch.randint(0, 3, (5,), generator=generator)
    x_adv = square(model, x, y, eps=eps, norm=norm, queries=15, seed=seed)
    assert x_adv.dtype == dtype and x_adv.shape == x.shape and torch.isfinite(x_adv).all()
    assert (lp_norm(x_adv - x, norm) <= eps + 1e-6).all()
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert torch.equal(x_adv, square(model, x, y, eps=eps, norm=norm, queries=15, seed=seed))


@settings(max_examples=20, deadline=None)
@given(dtype=st.sampled_from([torch.float32, torch.float64]), eps=st.floats(0.0, 20.0))
def test_fast_gradients_never_leave_the_ball(dtype, eps):
    model, (x, y) = mlp().to(dtype), small_batch(dtype=dtype)
    for attack, norm in ((fgsm, "linf"), (fgm, "l2")):
        assert (lp_norm(attack(model, x, y, eps=eps) - x, norm) <= eps + 1e-6).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_l1_random_starts_are_finite_when_the_uniform_draw_is_zero(monkeypatch, dtype):
    """A uniform draw of exactly 0 gives an infinite exponential, and inf / inf = NaN in the
    simplex; forcing every draw to 0 shows the clamp at the smallest positive float."""
    x = torch.rand(3, *SHAPE, dtype=dtype)

    def zeros(*size, generator=None, **options):
        return torch.zeros(*size, **options)

    monkeypatch.setattr(torch, "rand", zeros)
    delta = uniform_in_ball(x, "l1", 0.5, torch.Generator().manual_seed(0))
    assert torch.isfinite(delta).all() and (lp_norm(delta, "l1") <= 0.5).all()


def test_l1_random_starts_are_finite_over_many_draws():
    x = torch.rand(2000, *SHAPE)
    delta = uniform_in_ball(x, "l1", 1.0, torch.Generator().manual_seed(0))
    assert torch.isfinite(delta).all() and (lp_norm(delta, "l1") <= 1.0 + 1e-6).all()


# -- extreme budgets and step sizes ----------------------------------------------------------


def flat_model() -> nn.Module:
    """A model with a zero input gradient (quantised inputs): ∞ · 0 is NaN."""
    return models.quantized(mlp())


@pytest.mark.parametrize("model", [mlp, flat_model])
@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
@pytest.mark.parametrize(
    "options", [{"eps": 1e30}, {"eps": 1e300}, {"eps": 0.5, "step_size": math.inf}]
)
def test_pgd_stays_finite_for_a_huge_budget_or_step(model, norm, options):
    (x, y) = small_batch()
    x_adv = pgd(model(), x, y, norm=norm, steps=3, **options)
    assert torch.isfinite(x_adv).all() and x_adv.min() >= 0 and x_adv.max() <= 1
    assert (lp_norm(x_adv - x, norm) <= options["eps"] + 1e-6).all()


def test_pgd_stays_finite_for_a_huge_budget_when_a_random_start_coordinate_is_zero(monkeypatch):
    """An L∞ start is (2u - 1) ε: u = 1/2 gives 0 · ε, NaN for an ε infinite in float32."""

    def halves(*size, generator=None, **options):
        return torch.full(size[0] if len(size) == 1 else size, 0.5, **options)

    model, (x, y) = mlp(), small_batch()
    monkeypatch.setattr(torch, "rand", halves)
    assert torch.isfinite(pgd(model, x, y, eps=1e300, steps=1)).all()


@pytest.mark.parametrize("model", [mlp, flat_model])
@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("eps", [None, 1e30, 1e300])  # None: the box's diameter
def test_square_stays_finite_at_the_box_diameter_and_beyond(model, norm, eps):
    (x, y) = small_batch()
    eps = box_diameter(x[0].numel(), norm) if eps is None else eps
    x_adv = square(model(), x, y, eps=eps, norm=norm, queries=30)
    assert torch.isfinite(x_adv).all() and x_adv.min() >= 0 and x_adv.max() <= 1
    assert (lp_norm(x_adv - x, norm) <= min(eps, box_diameter(16, norm)) + 1e-6).all()


@pytest.mark.parametrize("model", [mlp, flat_model])
@pytest.mark.parametrize("eps", [1e30, 1e300])  # 1e300 is infinite in float32
@pytest.mark.parametrize("attack", [fgsm, fgm])
def test_fast_gradients_stay_finite_for_a_huge_budget(attack, eps, model):
    (x, y) = small_batch()
    x_adv = attack(model(), x, y, eps=eps)
    assert torch.isfinite(x_adv).all() and x_adv.min() >= 0 and x_adv.max() <= 1


# -- devices ---------------------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", sorted(GRADIENT_ATTACKS) + sorted(SCORE_ATTACKS))
def test_attacks_run_on_cuda(name):
    model, (x, y) = mlp().cuda(), small_batch()
    x_adv = {**GRADIENT_ATTACKS, **SCORE_ATTACKS}[name](model, x.cuda(), y.cuda())
    assert x_adv.device == x.cuda().device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_seeded_restores_the_cuda_generator_too():
    state = torch.cuda.get_rng_state()
    with seeded(3):
        first = torch.rand(4, device="cuda")
    with seeded(3):
        assert torch.equal(torch.rand(4, device="cuda"), first)
    assert torch.equal(torch.cuda.get_rng_state(), state)


def test_attacks_metrics_and_checks_create_every_tensor_with_a_device(monkeypatch):
    """A CPU-only machine still checks the device audit: every tensor the attacks, metrics
    and checks create from scratch is given ``device=`` (the others derive theirs from an
    input), checked by recording the factory calls without one."""
    model, (x, y) = mlp(), small_batch()
    calls = [
        *GRADIENT_ATTACKS.values(),
        *SCORE_ATTACKS.values(),
        lambda m, x, y: metrics.risk_rob(m, x, y, GRADIENT_ATTACKS["pgd-l2"]),
        metrics.input_gradient_norm,
        lambda m, x, y: checks.sanity_checks(m, x, y, at_budget(pgd, steps=2), eps=0.1),
        lambda m, x, y: checks.gradient_free_gap(m, x, y, eps=0.5, norm="l2", queries=10),
    ]
    created_without_device = []
    for factory in ("zeros", "ones", "full", "arange", "rand", "randn", "randint", "empty"):
        original = getattr(torch, factory)

        def recording(*args, _original=original, _name=factory, **kwargs):
            if "device" not in kwargs:
                created_without_device.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch, factory, recording)
    for call in calls:
        call(model, x, y)
    assert created_without_device == []


# -- memory: chunks and blocks ---------------------------------------------------------------


class LargestInput(nn.Module):
    """A model wrapper that records the largest batch it was given."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.largest = model, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.largest = max(self.largest, x.shape[0])
        return self.model(x)


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
@pytest.mark.parametrize("chunk", [7, 100, 500])
def test_dense_search_honours_chunk_and_matches_the_unchunked_search(norm, chunk):
    """The grid (about 225 offsets) is larger than a chunk of 7 or 100: the model still
    never sees more than ``chunk`` inputs, and the result is the one of a single pass."""
    model = LargestInput(models.mlp((2,), 3, hidden=8))
    x = torch.rand(5, 2, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1])
    whole = dense_search(model, x, y, eps=0.2, norm=norm, resolution=15, chunk=10**6)
    model.largest = 0
    assert torch.equal(
        dense_search(model, x, y, eps=0.2, norm=norm, resolution=15, chunk=chunk), whole
    )
    assert model.largest <= chunk


@pytest.mark.parametrize("block", [1, 50, 2**22])
def test_nearest_misclassified_in_blocks_matches_one_block(block):
    model, (x, y) = mlp(), small_batch(n=9)
    pool, pool_y = small_batch(n=40, seed=2)
    whole = nearest_misclassified(model, x, y, pool, pool_y, norm="l2")
    blocked = nearest_misclassified(model, x, y, pool, pool_y, norm="l2", block=block)
    assert torch.equal(blocked.x_adv, whole.x_adv) and torch.equal(blocked.radius, whole.radius)
