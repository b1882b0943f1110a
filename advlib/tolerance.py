r"""Comparing a fresh output of a notebook cell with its stored output, within a tolerance.

Numbers that come out of training or attacks change in their last digits with the CPU,
torch's CPU kernels (``ATEN_CPU_CAPABILITY``), the thread count and the seed. The book's
tests (nbval, see the root ``conftest.py``) therefore compare such a cell's text outputs
in two parts:

- the *text around the numbers* (words, labels, punctuation, the order of the numbers)
  must be identical; runs of white space count as one space, so that a table whose
  columns are padded for a wider number still matches;
- each *number* must lie within the cell's declared tolerance of the stored one,

.. math:: |a_{new} - a_{stored}| \le \text{atol} + \text{rtol}\,|a_{stored}|.

A number followed by ``%`` is read as a fraction (``98.6%`` is 0.986), so one ``atol``
serves a printed percentage and the glued fraction behind it: ``atol = 0.02`` allows
two percentage points.

The tolerance is declared in the cell's metadata, next to the measurement that justifies
it::

    "tolerance": {"atol": 0.03, "rtol": 0.0,
                  "measured": "max |change| over seeds 0-4 and 6 CPU variants: 0.021"}

A cell without ``tolerance`` is compared exactly, as nbval does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

NUMBER = re.compile(
    r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?%?|(?<![A-Za-z_])[-+]?(?:inf|nan)\b"
)
WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Tolerance:
    """How far a number may move: ``atol + rtol * |stored|`` (percentages as fractions)."""

    atol: float = 0.0
    rtol: float = 0.0

    @classmethod
    def from_metadata(cls, metadata: dict) -> "Tolerance | None":
        """The tolerance declared in a cell's metadata (key ``tolerance``), or None.

        >>> Tolerance.from_metadata({"tolerance": {"atol": 0.02}})
        Tolerance(atol=0.02, rtol=0.0)
        """
        declared = metadata.get("tolerance")
        if declared is None:
            return None
        if not isinstance(declared, dict) or not set(declared) <= {"atol", "rtol", "measured"}:
            raise ValueError(
                f"a cell's tolerance must be a dict with atol, rtol and measured, got {declared!r}"
            )
        atol, rtol = float(declared.get("atol", 0.0)), float(declared.get("rtol", 0.0))
        if not (math.isfinite(atol) and math.isfinite(rtol) and atol >= 0 and rtol >= 0):
            raise ValueError(
                f"a cell's atol and rtol must be finite and non-negative, got {declared!r}"
            )
        return cls(atol, rtol)

    def allows(self, new: float, stored: float) -> bool:
        """Whether ``new`` is within this tolerance of ``stored`` (NaN only matches NaN)."""
        if math.isnan(stored) or math.isnan(new):
            return math.isnan(stored) and math.isnan(new)
        if math.isinf(stored) or math.isinf(new):
            return new == stored
        return abs(new - stored) <= self.atol + self.rtol * abs(stored)


def split_numbers(text: str) -> tuple[str, list[float]]:
    """The text with each number replaced by ``#`` and white space collapsed, and the numbers.

    >>> split_numbers("MLP:  98.6%  (0.40)")
    ('MLP: # (#)', [0.986, 0.4])
    """
    numbers = []

    def replace(match: re.Match) -> str:
        token = match.group(0)
        numbers.append(float(token[:-1]) / 100 if token.endswith("%") else float(token))
        return "#"

    skeleton = NUMBER.sub(replace, text)
    return WHITESPACE.sub(" ", skeleton).strip(), numbers


def matches(new: str, stored: str, tolerance: Tolerance) -> bool:
    """Whether ``new`` equals ``stored`` up to white space and numbers within ``tolerance``.

    >>> matches("acc 98.7%", "acc 98.6%", Tolerance(atol=0.002))
    True
    >>> matches("acc 98.7% (MLP)", "acc 98.6% (CNN)", Tolerance(atol=0.5))
    False
    """
    if new == stored:
        return True
    new_text, new_numbers = split_numbers(new)
    stored_text, stored_numbers = split_numbers(stored)
    if new_text != stored_text or len(new_numbers) != len(stored_numbers):
        return False
    return all(tolerance.allows(a, b) for a, b in zip(new_numbers, stored_numbers))


def _text(value) -> str | None:
    """A text output as one string (nbformat may store it as a list of lines), else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    return None


def _text_fields(outputs: list) -> dict[tuple[str, ...], list[tuple[dict, str]]]:
    """Each text field of the outputs, grouped as nbval groups them: streams by name,
    rich outputs by MIME type, in order. Values are ``(container, key)`` pairs."""
    fields: dict[tuple[str, ...], list[tuple[dict, str]]] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            fields.setdefault(("stream", output.get("name", "")), []).append((output, "text"))
        for mime, value in output.get("data", {}).items():
            if _text(value) is not None:
                fields.setdefault(("data", mime), []).append((output["data"], mime))
    return fields


def accept_within_tolerance(new_outputs: list, stored_outputs: list, tolerance: Tolerance) -> int:
    """Replace, in ``new_outputs``, every text that matches its stored counterpart within
    ``tolerance`` by the stored text, so that an exact comparison afterwards (nbval's)
    passes for them and still fails, with its usual report, for everything else.

    Outputs are paired as nbval pairs them (same stream name or MIME type, in order).
    Returns the number of texts accepted.
    """
    new_fields, stored_fields = _text_fields(new_outputs), _text_fields(stored_outputs)
    accepted = 0
    for key, new_places in new_fields.items():
        for (container, field), (stored_container, stored_field) in zip(
            new_places, stored_fields.get(key, [])
        ):
            new, stored = _text(container[field]), _text(stored_container[stored_field])
            if new != stored and matches(new, stored, tolerance):
                container[field] = stored_container[stored_field]
                accepted += 1
    return accepted
