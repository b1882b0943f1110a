"""advlib.progress: bars for a person, silence under tests and in executed notebooks."""

from __future__ import annotations

import sys
import types

import nbformat
import pytest
import torch
from nbclient import NotebookClient

import advlib.progress as progress
from advlib import models, train


@pytest.fixture
def unset(monkeypatch):
    """No explicit setting, as for a reader: only the automatic choice is left. (pytest
    sets PYTEST_CURRENT_TEST again when the test itself starts: tests remove it first.)"""
    monkeypatch.setattr(progress, "SHOW", None)
    monkeypatch.delenv("ADVLIB_PROGRESS", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    return monkeypatch


class Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_silent_under_pytest():
    assert not progress.enabled()
    items = [1, 2, 3]
    assert progress.bar(items) is items


def test_setting_order(unset):
    unset.setenv("ADVLIB_PROGRESS", "1")
    assert progress.enabled()
    unset.setenv("ADVLIB_PROGRESS", "0")
    assert not progress.enabled()
    unset.setattr(progress, "SHOW", True)  # set from Python: wins over the environment
    assert progress.enabled()


@pytest.mark.parametrize("tty", [True, False])
def test_terminal(unset, tty):
    unset.delenv("PYTEST_CURRENT_TEST")
    unset.setattr(sys, "stderr", Stream(tty))
    assert progress.enabled() is tty
    unset.setenv("PYTEST_CURRENT_TEST", "x")
    assert not progress.enabled()


def test_jupyter_and_colab(unset):
    unset.delenv("PYTEST_CURRENT_TEST")
    unset.setattr(sys, "stderr", Stream(False))
    unset.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert not progress.enabled()  # a kernel started by nbclient (nbval, jupyter-book)
    unset.setenv("JPY_SESSION_NAME", "/home/reader/definitions.ipynb")
    assert progress.enabled()  # a kernel started by a Jupyter server for a person
    unset.delenv("JPY_SESSION_NAME")
    unset.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert progress.enabled()


def _train(epochs: int = 3) -> None:
    X, y = torch.rand(32, 1, 8, 8), torch.arange(32) % 10
    train.fit(models.linear((1, 8, 8), 10), X, y, epochs=epochs, batch_size=16, cache=False)


def test_training_shows_a_bar_only_when_enabled(capsys, monkeypatch):
    _train()
    assert capsys.readouterr() == ("", "")
    monkeypatch.setattr(progress, "SHOW", True)
    _train()
    out, err = capsys.readouterr()
    assert out == "" and "training" in err and "epoch" in err


def test_executed_notebook_has_no_bar_but_jupyter_notebook_has(unset, tmp_path):
    """The automatic choice in a real kernel started by nbclient, as nbval and jupyter-book
    start them: training stores no output; once JPY_SESSION_NAME is set (as a Jupyter
    server sets it for a person's notebook), the bar appears as a widget."""
    unset.delenv("PYTEST_CURRENT_TEST")
    train_cell = (
        "X, y = torch.rand(32, 1, 8, 8), torch.arange(32) % 10\n"
        "_ = train.fit(models.linear((1, 8, 8), 10), X, y, epochs=2, batch_size=16, cache=False)"
    )
    cells = [
        "import os, sys, torch\nfrom advlib import models, train\nassert 'PYTEST_CURRENT_TEST' not in os.environ",
        train_cell,
        "os.environ['JPY_SESSION_NAME'] = 'reader.ipynb'",
        train_cell,
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    quiet, watched = notebook.cells[1].outputs, notebook.cells[3].outputs
    assert quiet == []
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in watched), (
        watched
    )
