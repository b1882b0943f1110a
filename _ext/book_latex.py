"""The PDF side of the book's configuration (a local Sphinx extension, see _config.yml).

The book's notation macros are defined once, for MathJax, in _config.yml
(sphinx.config.mathjax3_config.tex.macros). This extension turns the same definitions into
LaTeX \\newcommand's in the preamble of the PDF, so the two cannot drift apart. \\newcommand
(not \\renewcommand) makes the PDF build fail if a macro name clashes with one that LaTeX or
the document class already defines.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.config import Config


def latex_macros(macros: dict) -> str:
    """LaTeX definitions of MathJax 3 macros: "body" or ["body", nargs(, default)]."""
    lines = []
    for name, body in macros.items():
        if isinstance(body, (list, tuple)):
            if len(body) == 2:
                lines.append(rf"\newcommand{{\{name}}}[{body[1]}]{{{body[0]}}}")
            elif len(body) == 3:
                lines.append(rf"\newcommand{{\{name}}}[{body[1]}][{body[2]}]{{{body[0]}}}")
            else:
                raise ValueError(f"MathJax macro {name!r}: cannot translate {body!r}")
        else:
            lines.append(rf"\newcommand{{\{name}}}{{{body}}}")
    return "\n".join(lines)


def _add_macros_to_preamble(app: Sphinx, config: Config) -> None:
    macros = (config.mathjax3_config or {}).get("tex", {}).get("macros", {})
    if not macros:
        return
    elements = dict(config.latex_elements or {})
    elements["preamble"] = (
        elements.get("preamble", "")
        + "\n% The book's notation, from mathjax3_config in _config.yml (_ext/book_latex.py)\n"
        + latex_macros(macros)
        + "\n"
    )
    config.latex_elements = elements


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_macros_to_preamble)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
