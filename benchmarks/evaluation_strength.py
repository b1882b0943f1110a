r"""How strong is advlib's worst-case ensemble? Side by side with AutoAttack.

For the book's adversarially trained digits CNN (``zoo.digits_cnn(robust=True)``) at the
chapters' L∞ budgets, this script measures on the same test points:

- robust accuracy under ``advlib.evaluation.worst_case`` (APGD-CE, APGD-T, Square);
- robust accuracy under torchattacks' ``AutoAttack`` (standard version: APGD-CE, APGD-T,
  FAB-T, Square), an independent implementation of Croce & Hein (2020). As shipped
  (torchattacks 3.5.1) it runs APGD and APGD-T for 10 iterations, its classes' default,
  where the paper's standard version runs 100; both are measured, the second built from
  the same torchattacks classes with ``steps=100``;
- ``worst_case`` with 100 iterations (its default, the paper's) and with 10;
- robust accuracy under the book's former strongest attack, PGD-100 with 5 restarts and
  the margin loss;
- the wall time per point of each (one thread).

The goal: ``worst_case`` within 0.5 points of AutoAttack or lower, in no more time per
point. torchattacks is not one of the book's requirements: install it in an environment
of its own, beside the pinned torch, and run from the repository root:

    python3 -m venv /tmp/bench && . /tmp/bench/bin/activate
    pip install -r requirements.txt && pip install --no-deps torchattacks
    python benchmarks/evaluation_strength.py --points 500
"""

from __future__ import annotations

import argparse
import functools
import time

import torch

from advlib import attacks, data, evaluation, metrics, zoo


def robust_accuracy_and_time(model, x, y, attack) -> tuple[float, float]:
    """Robust accuracy under ``attack`` and its wall time per point."""
    start = time.perf_counter()
    x_adv = attack(model, x, y)
    seconds = time.perf_counter() - start
    robust = (metrics.predict(model, x) == y) & (metrics.predict(model, x_adv) == y)
    return float(robust.float().mean()), seconds / len(y)


def autoattack(model, x, y, *, eps: float, seed: int, steps: int | None = None):
    """torchattacks' AutoAttack, standard version, L∞: as shipped (``steps=None``), or with
    APGD and APGD-T run for ``steps`` iterations (the paper's standard version: 100)."""
    import torchattacks

    if steps is None:
        attack = torchattacks.AutoAttack(
            model, norm="Linf", eps=eps, version="standard", n_classes=10, seed=seed
        )
    else:
        options = dict(eps=eps, norm="Linf", seed=seed, n_restarts=1)
        attack = torchattacks.MultiAttack(
            [
                torchattacks.APGD(model, loss="ce", steps=steps, **options),
                torchattacks.APGDT(model, n_classes=10, steps=steps, **options),
                torchattacks.FAB(model, multi_targeted=True, n_classes=10, **options),
                torchattacks.Square(model, n_queries=5000, **options),
            ]
        )
    return attack(x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=500, help="test points evaluated")
    parser.add_argument("--eps", type=float, nargs="+", default=[0.1, 0.2], help="L-inf budgets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = zoo.digits_cnn(robust=True, seed=args.seed)
    digits = data.digits(size=8, seed=args.seed)
    x, y = digits.X_test[: args.points], digits.y_test[: args.points]
    print(f"digits CNN, PGD-5 training at eps 0.1; {len(y)} test points; one thread")
    print(f"clean accuracy {metrics.accuracy(model, x, y):.1%}")
    print("| eps | attack | robust accuracy | seconds per point |")
    print("| --- | --- | ---: | ---: |")
    for eps in args.eps:
        contenders = {
            "PGD-100, 5 restarts, margin": functools.partial(
                attacks.pgd, eps=eps, steps=100, restarts=5, loss="margin", seed=args.seed
            ),
            "advlib worst_case (100 iterations)": functools.partial(
                evaluation.worst_case, eps=eps, seed=args.seed
            ),
            "advlib worst_case (10 iterations)": functools.partial(
                evaluation.worst_case, eps=eps, seed=args.seed, steps=10
            ),
            "torchattacks AutoAttack, standard, as shipped (10 iterations)": functools.partial(
                autoattack, eps=eps, seed=args.seed
            ),
            "torchattacks AutoAttack, standard, 100 iterations": functools.partial(
                autoattack, eps=eps, seed=args.seed, steps=100
            ),
        }
        for name, attack in contenders.items():
            accuracy, seconds = robust_accuracy_and_time(model, x, y, attack)
            print(f"| {eps:g} | {name} | {accuracy:.1%} | {seconds * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
