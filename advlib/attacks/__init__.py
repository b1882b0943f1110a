r"""Attacks: approximate solvers of the bounded attack problem, by kind.

- :mod:`advlib.attacks.gradient`: the objective, the input gradient, FGSM, FGM, PGD and
  Auto-PGD (APGD, APGD-T, the DLR loss);
- :mod:`advlib.attacks.search`: minimal perturbation (bisection), dense search (2D),
  nearest misclassified point of a pool;
- :mod:`advlib.attacks.adaptive`: BPDA and EOT surrogates, and PGD on them;
- :mod:`advlib.attacks.blackbox`: the Square attack, which reads only the model's scores.

Every attack bound to its budget is an :data:`~advlib.contracts.Attack`,
``(model, x, y) -> x_adv``, and keeps one contract (tested in ``tests/attacks/``):

- it returns a new tensor ``x_adv`` with ``‖x_adv − x‖_p ≤ ε`` and ``x_adv`` in [0, 1];
- it never changes ``x``, the model's parameters, their ``.grad``, its buffers or its mode;
- it leaves torch's global random state alone (``seed=None`` in
  :func:`~advlib.attacks.pgd` draws from it on purpose), and every tensor it makes lives
  on ``x.device``;
- it is deterministic for a given ``seed`` and works under ``torch.no_grad`` (under
  ``torch.inference_mode``, where no gradient can be taken, it raises a ``ValueError``);
- bad input raises a ``ValueError`` naming the argument: float16 and bfloat16 inputs, labels
  that are not int64 or lie outside the model's classes, bools for integers, empty batches.

**Models in train mode.** Attacks evaluate the model in eval mode
(:func:`advlib.models.evaluated`) and restore its mode after. They see the deterministic
network: dropout is off, and BatchNorm uses its running statistics, which the attack does
not update. So a sample's adversarial point does not depend on the other samples of its
batch, and an attack on a model with dropout attacks its eval-mode network, not one random
sub-network (a randomised *defence*, such as input noise, is attacked with EOT:
:func:`advlib.attacks.adaptive_pgd`).
"""

from advlib.attacks.adaptive import adaptive_pgd, bpda
from advlib.attacks.blackbox import square
from advlib.attacks.gradient import (
    apgd,
    apgd_targeted,
    attack_objective,
    dlr_loss,
    fast_gradient,
    fgm,
    fgsm,
    input_gradient,
    is_success,
    pgd,
)
from advlib.attacks.search import (
    MinimalPerturbation,
    dense_search,
    minimal_perturbation,
    nearest_misclassified,
)
from advlib.contracts import Attack, AttackAt, at_budget

__all__ = [
    "Attack",
    "AttackAt",
    "MinimalPerturbation",
    "adaptive_pgd",
    "apgd",
    "apgd_targeted",
    "at_budget",
    "attack_objective",
    "bpda",
    "dense_search",
    "dlr_loss",
    "fast_gradient",
    "fgm",
    "fgsm",
    "input_gradient",
    "is_success",
    "minimal_perturbation",
    "nearest_misclassified",
    "pgd",
    "square",
]
