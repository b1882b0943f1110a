"""advlib.metrics.loglog_slope: the fitted exponent of a power law."""

from __future__ import annotations

import math

import pytest

from advlib.metrics import loglog_slope


def test_exponent_of_exact_power_laws():
    d = [64, 256, 1024, 4096]
    assert math.isclose(loglog_slope(d, [math.sqrt(v) for v in d]), 0.5)
    assert math.isclose(loglog_slope(d, [3.0 * v for v in d]), 1.0)
    assert abs(loglog_slope(d, [7.0] * 4)) < 1e-12  # flat: exponent 0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same length"):
        loglog_slope([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1, 2], [0.0, 1.0])
