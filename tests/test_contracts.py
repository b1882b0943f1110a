"""advlib.contracts, and the refusals every public entry point makes with it (issue 12,
item 8): low precision, int32 or out-of-range labels, bools for integers, empty batches,
inference mode."""

from __future__ import annotations

import functools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from advlib import attacks, checks, contracts, metrics, models, train

SHAPE = (1, 4, 4)
PGD = functools.partial(attacks.pgd, eps=0.1, steps=2)


def small_batch(n: int = 6, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((n, *SHAPE), generator=generator), torch.randint(
        0, 3, (n,), generator=generator
    )


def mlp() -> torch.nn.Module:
    return models.mlp(SHAPE, 3, hidden=8)


#: Every public function that takes a batch ``(x, y)``, as ``(model, x, y) -> anything``.
ENTRY_POINTS = {
    "fgsm": functools.partial(attacks.fgsm, eps=0.1),
    "fgm": functools.partial(attacks.fgm, eps=0.1),
    "pgd": PGD,
    "adaptive_pgd": functools.partial(attacks.adaptive_pgd, eps=0.1, steps=2),
    "minimal_perturbation": functools.partial(
        attacks.minimal_perturbation, search_steps=2, steps=2
    ),
    "nearest_misclassified": lambda m, x, y: attacks.nearest_misclassified(m, x, y, *small_batch()),
    "dense_search": lambda m, x, y: attacks.dense_search(m, x.flatten(1)[:, :2], y, eps=0.1),
    "accuracy": metrics.accuracy,
    "risk_std": metrics.risk_std,
    "risk_rob": lambda m, x, y: metrics.risk_rob(m, x, y, PGD),
    "robust_errors": lambda m, x, y: metrics.robust_errors(m, x, y, x),
    "robustness_curve": lambda m, x, y: metrics.robustness_curve(
        m, x, y, [0.1], attacks.at_budget(attacks.pgd)
    ),
    "input_gradient_norm": metrics.input_gradient_norm,
    "transfer_rate": lambda m, x, y: metrics.transfer_rate(m, x, y, x),
    "transfer_matrix": lambda m, x, y: metrics.transfer_matrix({"a": m}, x, y, PGD),
    "fit": lambda m, x, y: train.fit(m, x, y, epochs=1, cache=False),
    "sanity_checks": lambda m, x, y: checks.sanity_checks(
        m, x, y, attacks.at_budget(attacks.pgd, steps=2), eps=0.1, steps=(1, 2)
    ),
}
#: Those that take gradients, and the function named when inference mode forbids them.
GRADIENT_ENTRY_POINTS = {
    **{
        name: name
        for name in [
            "fgsm",
            "fgm",
            "pgd",
            "adaptive_pgd",
            "minimal_perturbation",
        ]
    },
    **{name: name for name in ["input_gradient_norm", "fit", "sanity_checks"]},
    "risk_rob": "pgd",  # the attack it is given
}


def model_for(name: str) -> torch.nn.Module:
    return models.mlp((2,), 3, hidden=8) if name == "dense_search" else mlp()


# -- contracts.py ----------------------------------------------------------------------------


@given(value=st.one_of(st.booleans(), st.integers(-5, 0), st.floats(), st.text(max_size=2)))
def test_check_positive_int_refuses_bools_and_non_integers(value):
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        contracts.check_positive_int(value, "steps")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64, torch.uint8])
def test_check_images_refuses_other_types_naming_the_accepted_ones(dtype):
    with pytest.raises(ValueError, match="x must be a float32 or float64 tensor"):
        contracts.check_images(torch.zeros(2, 3, dtype=dtype))


@pytest.mark.parametrize("shape", [(0, 3), (0, 1, 4, 4), (3,)])
def test_check_images_refuses_an_empty_batch(shape):
    with pytest.raises(ValueError, match="non-empty batch"):
        contracts.check_images(torch.zeros(shape))


@pytest.mark.parametrize(
    "dtype", [torch.int32, torch.int16, torch.uint8, torch.bool, torch.float32]
)
def test_check_labels_refuses_anything_but_int64(dtype):
    with pytest.raises(ValueError, match="y must be a 1-D int64 tensor.*use .long()"):
        contracts.check_labels(torch.zeros(3, dtype=dtype))


def test_check_classes_names_the_models_classes():
    with pytest.raises(ValueError, match=r"labels in 0..2 .*got values in -100..1"):
        contracts.check_classes(torch.zeros(2, 3), torch.tensor([-100, 1]))


def test_check_gradients_possible_only_refuses_inference_mode():
    with torch.no_grad():
        contracts.check_gradients_possible("pgd")
    with torch.inference_mode(), pytest.raises(ValueError, match="pgd needs gradients"):
        contracts.check_gradients_possible("pgd")


# -- the entry points ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_every_entry_point_refuses_low_precision(name, dtype):
    x, y = small_batch()
    with pytest.raises(ValueError, match="float32 or float64"):
        ENTRY_POINTS[name](model_for(name).to(dtype), x.to(dtype), y)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_int32_labels(name):
    x, y = small_batch()
    with pytest.raises(ValueError, match="int64 tensor of class labels, got torch.int32"):
        ENTRY_POINTS[name](model_for(name), x, y.int())


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_labels_outside_the_classes(name):
    x, y = small_batch()
    y[0] = -100  # cross_entropy's ignore_index: silently skipped if not refused
    with pytest.raises(ValueError, match=r"labels in 0..2"):
        ENTRY_POINTS[name](model_for(name), x, y)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_an_empty_batch(name):
    x, y = small_batch()
    with pytest.raises(ValueError, match="non-empty batch"):
        ENTRY_POINTS[name](model_for(name), x[:0], y[:0])


@pytest.mark.parametrize("name", sorted(GRADIENT_ENTRY_POINTS))
def test_gradient_entry_points_refuse_inference_mode_by_name(name):
    x, y = small_batch()
    message = f"^{GRADIENT_ENTRY_POINTS[name]} needs gradients, which torch.inference_mode"
    with torch.inference_mode(), pytest.raises(ValueError, match=message):
        ENTRY_POINTS[name](model_for(name), x, y)


@pytest.mark.parametrize("name", sorted(GRADIENT_ENTRY_POINTS))
@pytest.mark.parametrize(
    "context", [torch.no_grad, lambda: torch.set_grad_enabled(False)], ids=["no_grad", "off"]
)
def test_gradient_entry_points_work_without_grad_mode(name, context):
    x, y = small_batch()
    model = model_for(name)
    with context():
        ENTRY_POINTS[name](model, x, y)
    assert torch.is_grad_enabled()


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda m, x, y: attacks.pgd(m, x, y, eps=0.1, norm=True), "norm"),
        (lambda m, x, y: attacks.pgd(m, x, y, eps=0.1, steps=True), "steps"),
        (lambda m, x, y: attacks.pgd(m, x, y, eps=0.1, restarts=True), "restarts"),
        (lambda m, x, y: attacks.pgd(m, x, y, eps=True), "eps"),
        (lambda m, x, y: attacks.minimal_perturbation(m, x, y, search_steps=True), "search_steps"),
        (lambda m, x, y: attacks.adaptive_pgd(m, x, y, eps=0.1, eot=True), "eot"),
        (lambda m, x, y: metrics.input_gradient_norm(m, x, y, norm=True), "norm"),
        (lambda m, x, y: train.fit(m, x, y, epochs=True, cache=False), "epochs"),
        (lambda m, x, y: train.fit(m, x, y, batch_size=True, cache=False), "batch_size"),
        (
            lambda m, x, y: checks.sanity_checks(
                m, x, y, attacks.at_budget(attacks.pgd), eps=0.1, steps=(True,)
            ),
            "steps",
        ),
    ],
)
def test_bools_are_refused_where_a_number_is_expected(call, name):
    x, y = small_batch()
    with pytest.raises(ValueError, match=f"^{name} must"):
        call(mlp(), x, y)
