r"""How close is advlib's PGD to the floor of its cost?

PGD-n needs n gradients of the loss with respect to the input, so no PGD can take less
time than n forward-backward passes of the same model on the same batch. This script
measures, on the small CNN with the digits upsampled to 28×28 and a batch of 512:

- ``pgd(steps=40)``, L∞ and L2, divided by the time of 40 forward-backward passes
  (``loss.backward()``, which also computes the parameters' gradients, as training does);
- ``fgsm`` divided by the time of one such pass;

with one thread and with all of the machine's threads, the median of several repeats.
The goal is a ratio of at most 1.10. A ratio below 1 is possible: an attack only needs
the gradient with respect to the input, so backpropagation skips the weights' gradients.
The last column compares with that tighter floor (passes that compute the input gradient
only, ``torch.autograd.grad``): it is the attack's own overhead (projection, clipping,
best-iterate tracking), and is about 1 when there is none.

Each time is given twice: wall-clock seconds, and CPU seconds of this process. On a
machine shared with other work the wall-clock times swing widely; the CPU time is steady,
and with one thread it is the honest measure. Attack and floors are timed alternately, so
that a busy moment of the machine hits all of them.

Run from the repository root (a few minutes on two cores):

    python benchmarks/attack_speed.py
    python benchmarks/attack_speed.py --repeats 9 --batch 512 --steps 40 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F

from advlib import attacks, data, models


def timed(function: Callable[[], object]) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of this process) of one call of ``function``."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def passes(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, n: int, parameters: bool
) -> None:
    """``n`` forward-backward passes on the batch. ``parameters=True``: ``loss.backward()``
    (the floor); ``False``: the input gradient only, as an attack needs."""
    for _ in range(n):
        delta = torch.zeros_like(x, requires_grad=True)
        loss = F.cross_entropy(model(x + delta), y)
        if parameters:
            loss.backward()
            model.zero_grad(set_to_none=True)
        else:
            torch.autograd.grad(loss, delta)


def median_times(
    functions: dict[str, Callable[[], object]], repeats: int
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each function, timed in turn ``repeats`` times after
    one warm-up round."""
    for function in functions.values():
        function()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            samples[name].append(timed(function))
    return {
        name: (statistics.median(s[0] for s in runs), statistics.median(s[1] for s in runs))
        for name, runs in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Time advlib's attacks against forward-backward passes."
    )
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=28, help="side of the upsampled digits")
    parser.add_argument("--threads", type=int, nargs="*", default=sorted({1, os.cpu_count() or 1}))
    args = parser.parse_args()

    digits = data.digits(size=args.size)
    x = torch.cat([digits.X_test, digits.X_train])[: args.batch]
    y = torch.cat([digits.y_test, digits.y_train])[: args.batch]
    model = models.small_cnn(
        (1, args.size, args.size), 10
    ).eval()  # timing does not depend on the weights
    n = args.steps
    functions = {
        f"pgd linf, {n} steps": lambda: attacks.pgd(model, x, y, eps=0.1, norm="linf", steps=n),
        f"pgd l2, {n} steps": lambda: attacks.pgd(model, x, y, eps=1.5, norm="l2", steps=n),
        "fgsm": lambda: attacks.fgsm(model, x, y, eps=0.1),
        "floor n": lambda: passes(model, x, y, n, parameters=True),
        "input-only n": lambda: passes(model, x, y, n, parameters=False),
        "floor 1": lambda: passes(model, x, y, 1, parameters=True),
        "input-only 1": lambda: passes(model, x, y, 1, parameters=False),
    }

    print(
        f"small_cnn on digits {args.size}x{args.size}, batch {len(y)}, median of {args.repeats}, "
        f"torch {torch.__version__}, {os.cpu_count()} CPUs"
    )
    print(
        "ratio = attack / floor (n forward-backward passes with loss.backward());"
        " input-only = attack / passes computing the input gradient only"
    )
    header = (
        f"{'threads':>7}  {'attack':<18} {'wall s':>7} {'floor s':>8} {'ratio':>6}"
        f"   {'cpu s':>7} {'floor s':>8} {'ratio':>6}   {'input-only':>10}"
    )
    print(header)
    worst = {"wall": 0.0, "cpu": 0.0}
    for threads in args.threads:
        torch.set_num_threads(threads)
        times = median_times(functions, args.repeats)
        for name in list(functions)[:3]:
            k = "1" if name == "fgsm" else "n"
            (aw, ac), (fw, fc), (_, ic) = times[name], times[f"floor {k}"], times[f"input-only {k}"]
            worst["wall"], worst["cpu"] = max(worst["wall"], aw / fw), max(worst["cpu"], ac / fc)
            print(
                f"{threads:>7}  {name:<18} {aw:7.3f} {fw:8.3f} {aw / fw:6.2f}"
                f"   {ac:7.3f} {fc:8.3f} {ac / fc:6.2f}   {ac / ic:10.2f}"
            )
    print(f"worst ratio: wall {worst['wall']:.2f}, cpu {worst['cpu']:.2f} (goal: at most 1.10)")


if __name__ == "__main__":
    main()
