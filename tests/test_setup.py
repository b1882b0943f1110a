"""advlib.book.setup_notebook: the book's seed and thread count come from the environment."""

from __future__ import annotations

import pytest
import torch

from advlib import book


def test_the_seed_comes_from_advlib_seed(monkeypatch):
    monkeypatch.delenv("ADVLIB_SEED", raising=False)
    assert book.setup_notebook() == 0
    first = torch.rand(3)
    monkeypatch.setenv("ADVLIB_SEED", "3")
    assert book.setup_notebook() == 3
    third = torch.rand(3)
    assert book.setup_notebook(seed=0) == 0 and torch.equal(torch.rand(3), first)
    assert not torch.equal(first, third)


def test_the_thread_count_comes_from_advlib_threads(monkeypatch):
    monkeypatch.setenv("ADVLIB_THREADS", "2")
    try:
        book.setup_notebook()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    monkeypatch.delenv("ADVLIB_THREADS")
    book.setup_notebook()
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize(
    "name,value",
    [
        ("ADVLIB_SEED", "-1"),
        ("ADVLIB_SEED", "three"),
        ("ADVLIB_THREADS", "0"),
        ("ADVLIB_THREADS", "1.5"),
    ],
)
def test_bad_settings_are_refused_with_their_name(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        book.setup_notebook()
