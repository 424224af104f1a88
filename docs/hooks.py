"""MkDocs hook: render the reStructuredText habits of servicesim's docstrings as plain text.

The docstrings name other objects with Sphinx roles (``:class:`Bound```, ``:func:`~x.y```)
and end literal-block introductions with ``::``.  mkdocstrings renders docstrings as Markdown,
where these would show literally; this keeps the code (the role's target) and drops the
role, the ``~`` and the rST escape ``\\ `` after it.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj|ref):(<code>)~?")
_ESCAPED_SPACE = re.compile(r"(</code>)\\ ")
_LITERAL_INTRO = re.compile(r"::(</p>)")


def on_page_content(html: str, **_: Any) -> str:
    """Strip Sphinx roles, rST escapes and ``::`` from the rendered API pages."""
    html = _ROLE.sub(r"\1", html)
    html = _ESCAPED_SPACE.sub(r"\1", html)
    return _LITERAL_INTRO.sub(r":\1", html)
