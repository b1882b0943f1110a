"""Author-year labels in the bibliography, to match the author-year citations in the text.

sphinxcontrib-bibtex cites as "Athalye et al. (2018)" (``bibtex_reference_style:
author_year``) but labels the bibliography with pybtex's label style, "[ACW18]" by
default, which a reader cannot match with the citation. This extension registers a pybtex
label style giving "Athalye et al., 2018" ("Athalye et al., 2018a" and "2018b" when two
entries share it) and a formatting style ``authoryear`` (pybtex's ``unsrt`` with that label
style, sorted by author, year and title), selected in _config.yml with
``bibtex_default_style: authoryear``.
"""

from __future__ import annotations

import string
from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    """The printed surname of a pybtex person, without TeX braces ("Moosavi-Dezfooli")."""
    parts = person.prelast_names + person.last_names
    return " ".join(parts).replace("{", "").replace("}", "")


def _author_year(entry) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in persons]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Surname et al., year", with a, b, ... where two entries would share one."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [_author_year(entry) for entry in entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                yield label + string.ascii_lowercase[seen[label]]
                seen[label] += 1
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
