"""The standard error of a difference of accuracies (advlib.metrics.accuracy_difference_se)."""

import math
import random
import statistics

import pytest

from advlib import metrics


def test_binomial_closed_form():
    assert metrics.accuracy_difference_se(0.5, 0.5, n=100) == pytest.approx(math.sqrt(0.5 / 100))
    assert metrics.accuracy_difference_se(0.9, 0.6, n=50) == pytest.approx(
        math.sqrt((0.09 + 0.24) / 50)
    )
    assert metrics.accuracy_difference_se(1.0, 0.0, n=10) == 0.0


def test_runs_give_welchs_standard_error():
    a, b = [0.10, 0.14, 0.12], [0.20, 0.19, 0.24, 0.21]
    expected = math.sqrt(statistics.variance(a) / 3 + statistics.variance(b) / 4)
    assert metrics.accuracy_difference_se(a, b) == pytest.approx(expected)
    assert metrics.accuracy_difference_se([0.3, 0.3], [0.7, 0.7]) == 0.0


def test_binomial_se_matches_the_spread_of_simulated_differences():
    rng = random.Random(0)
    n, p, q = 200, 0.8, 0.7
    diffs = [
        sum(rng.random() < p for _ in range(n)) / n - sum(rng.random() < q for _ in range(n)) / n
        for _ in range(2000)
    ]
    se = metrics.accuracy_difference_se(p, q, n=n)
    assert statistics.stdev(diffs) == pytest.approx(se, rel=0.05)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n"):
        metrics.accuracy_difference_se(0.5, 0.5)
    with pytest.raises(ValueError, match="two runs"):
        metrics.accuracy_difference_se([0.5], [0.4, 0.3])
    with pytest.raises(ValueError, match="n"):
        metrics.accuracy_difference_se(0.5, 0.5, n=0)
    with pytest.raises(ValueError, match="single"):
        metrics.accuracy_difference_se([0.5, 0.4], [0.4, 0.3], n=10)
