"""The PDF's configuration (the PDF itself is built and checked by .ci/run, which has TeX)."""

import importlib.util
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def _book_latex():
    spec = importlib.util.spec_from_file_location("book_latex", ROOT / "_ext" / "book_latex.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pdf_defines_the_mathjax_macros_as_they_are():
    macros = CONFIG["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    assert {"Rstd", "Rrob", "RrobA", "Lstd", "Lrob"} <= set(macros)
    assert "book_latex" in CONFIG["sphinx"]["local_extensions"]
    preamble = _book_latex().latex_macros(macros)
    for name, body in macros.items():
        assert f"\\newcommand{{\\{name}}}{{{body}}}" in preamble.splitlines()


def test_macros_with_arguments():
    preamble = _book_latex().latex_macros({"norm": ["\\|#1\\|", 1], "P": ["p_{#1}", 1, "i"]})
    assert preamble.splitlines() == [
        "\\newcommand{\\norm}[1]{\\|#1\\|}",
        "\\newcommand{\\P}[1][i]{p_{#1}}",
    ]


def test_the_intro_links_to_the_pdf_that_the_build_makes():
    target = CONFIG["latex"]["latex_documents"]["targetname"]
    assert target.endswith(".tex")
    intro = (ROOT / "book" / "intro.md").read_text()
    assert f'href="../{target[:-4]}.pdf"' in intro
    assert CONFIG["latex"]["latex_engine"] == "xelatex"  # Unicode in text and outputs
    for extra in CONFIG["sphinx"]["config"]["latex_additional_files"]:
        assert (ROOT / extra).is_file(), extra
    assert re.search(r"\.pdf\b", (ROOT / ".ci" / "run").read_text())
