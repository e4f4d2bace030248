"""A student's markdown made inert before a person's browser renders it.

Formgrader's submission view and nbgrader's feedback pages render markdown cells with
nbconvert's mistune renderer, which passes raw HTML through and keeps every link scheme
(``IPythonRenderer(escape=False)``); the page then runs MathJax 2 on ``$...$``. So a written
answer can carry script into the instructor's logged-in Jupyter page. This module decides,
on the HTML that renderer makes of a cell, whether the cell is *active*: an element outside
``TAGS``, an attribute outside ``ATTRIBUTES`` (``on*``, ``style`` but for a table's
``text-align``), a URL whose scheme is not http(s)/mailto (or a relative one: a request to
the grading server), or maths calling MathJax's HTML commands (``TEX_COMMANDS``).

``sanitize(source)`` -> (source to keep, what was removed):

- an inert cell is kept byte for byte (nbgrader scores an unchanged answer 0, and the
  instructor reads what was written);
- an active one is cleaned with bleach (the same allowlist, disallowed tags stripped to
  their text), its maths and code spans and blocks set aside first so that ``a < b`` in
  ``$...$`` survives, and links with a refused URL replaced by ``#``;
- the result is rendered and checked again: if anything active is left (a trick the
  cleaning did not foresee), the cell is shown as a fenced code block, plain text.

What survives is checked on the rendered page, not on the markdown: the guarantee does not
rest on the cleaning being right, only on the check, which parses HTML as browsers do
(html5lib, bleach's parser).
"""

from __future__ import annotations

import functools
import html
import re
import secrets
import threading
import types
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

# What nbconvert's renderer makes of ordinary markdown (headings with anchor links, lists,
# task lists, emphasis, code with pygments spans, tables, quotes, rules, definition
# lists) and a few harmless tags a student may type. No img: an image is a request to
# wherever its URL points, the grading server included.
TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "dd",
        "del",
        "details",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "input",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
ATTRIBUTES = {
    "*": {"class", "title"},
    "a": {"href"},
    "abbr": {"title"},
    "ol": {"start"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
    "th": {"style", "align"},
    "td": {"style", "align"},
    "input": {"type", "checked", "disabled"},
}  # a task list's checkbox
PROTOCOLS = ("http", "https", "mailto")
# mistune's table cells: style="text-align:left" (nothing else is let through in a style)
ALIGN_STYLES = {f"text-align:{side}" for side in ("left", "center", "right")}
# MathJax 2's HTML extension (and \require, which loads more): links and markup from TeX
TEX_COMMANDS = frozenset({"href", "url", "class", "cssId", "style", "require", "unicode", "html"})
# Student markdown checked per notebook: html5lib walks about 150 kB a second here (a 1 MB
# cell: 7 s, checked up to three times); an honest notebook's answers and notes are a few kB.
# Beyond it, cells are shown as plain text unchecked (``as_text`` is inert by construction).
MAX_CHECKED_CHARS = 200_000
CELL_CHARGE = 400  # what one more cell costs against it (rendering and parsing: ~3 ms)
_MATH = ("inline_math", "block_math", "multiline_math", "latex_environment")
_CODE = ("codespan", "block_code")


@functools.cache
def _html() -> types.SimpleNamespace:
    """bleach, html5lib and nbconvert's markdown, imported when first needed: importing this
    module (``integrity``, the judges, ``autograder.gpu_check`` on a torch-only machine) needs
    none of them."""
    import bleach
    from bleach import html5lib_shim
    from bleach.css_sanitizer import CSSSanitizer
    from nbconvert.filters.markdown_mistune import MarkdownWithMath, markdown2html_mistune

    # bleach's shim re-exports html5lib's names; its stubs list only bleach's own (the ignores)
    return types.SimpleNamespace(
        bleach=bleach,
        namespaces=html5lib_shim.namespaces,  # type: ignore[attr-defined]
        CSSSanitizer=CSSSanitizer,
        HTMLParser=html5lib_shim.HTMLParser,  # type: ignore[attr-defined]
        MarkdownWithMath=MarkdownWithMath,
        markdown2html=markdown2html_mistune,
        walker=html5lib_shim.getTreeWalker("etree"),  # type: ignore[attr-defined]
    )


_PER_THREAD = threading.local()


def _parser() -> Any:
    """This thread's html5lib parser: one parser holds the state of the document it parses,
    and a batch's workers check notebooks at once (shared, two threads' parses failed with
    IndexError or ValueError, and a student's grading crashed)."""
    if not hasattr(_PER_THREAD, "parser"):
        _PER_THREAD.parser = _html().HTMLParser(namespaceHTMLElements=False)
    return _PER_THREAD.parser


def _url_allowed(value: str) -> bool:
    """http(s), mailto or a fragment of this page; entities and control characters are
    resolved first, as a browser does."""
    url = "".join(ch for ch in html.unescape(value) if ch > " ").lower()
    return url.startswith("#") or url.split(":", 1)[0] in PROTOCOLS and ":" in url


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    """One home for what an attribute may be: bleach's filter and the check both use it."""
    if name not in ATTRIBUTES["*"] | ATTRIBUTES.get(tag, set()):
        return False
    if name == "href":
        return _url_allowed(value)
    if name == "style":
        return value.replace(" ", "").rstrip(";").lower() in ALIGN_STYLES
    if tag == "input" and name == "type":
        return value.lower() == "checkbox"
    return True


def render(source: str) -> str:
    """The HTML nbconvert makes of a markdown cell (formgrader and feedback pages)."""
    html_text: str = _html().markdown2html(source)
    return html_text


def active(source: str) -> list[str]:
    """What is active in the rendered cell, in order, each once: tag names (``script``),
    attribute names (``onload``), ``javascript: URL``-like refusals, ``\\href`` in maths."""
    found: dict[str, None] = {}
    libs = _html()
    for token in libs.walker(_parser().parseFragment(render(source))):
        if token["type"] not in ("StartTag", "EmptyTag"):
            continue
        tag = token["name"]
        if tag not in TAGS or token.get("namespace") not in (None, libs.namespaces["html"]):
            found[tag] = None
            continue
        for (_, name), value in token.get("data", {}).items():
            if not _attribute_allowed(tag, name, value):
                if name == "href" and name in ATTRIBUTES.get(tag, ()):
                    scheme = "".join(ch for ch in html.unescape(value) if ch > " ").split(":", 1)
                    found[
                        f"{scheme[0].lower()[:20]}: URL" if len(scheme) > 1 else "relative URL"
                    ] = None
                else:
                    found[name] = None
    for command in _tex_commands(source):
        found["\\" + command] = None
    return list(found)


def _tokens(source: str) -> Iterator[dict[str, Any]]:
    """Every token of nbconvert's markdown parse of ``source``, in document order."""
    stack = list(reversed(_html().MarkdownWithMath(renderer=None)(source)))
    while stack:
        token = stack.pop()
        yield token
        stack.extend(reversed(token.get("children", [])))


def _tex_commands(source: str) -> set[str]:
    """MathJax's HTML commands used in the cell's maths (\\href{javascript:...}{x} is a link)."""
    used = set()
    for token in _tokens(source):
        if token["type"] in _MATH:
            text = token.get("raw", "") + " ".join(map(str, token.get("attrs", {}).values()))
            used |= {name for name in TEX_COMMANDS if "\\" + name in text}
    return used


def _cleaned(source: str) -> str:
    """bleach's clean of the markdown, maths and code set aside, refused link URLs made ``#``."""
    kept, pieces, cursor = {}, [], 0
    for token in _tokens(source):
        text: str
        if token["type"] in _MATH + _CODE:
            text = token.get("raw", "")
        elif token["type"] in ("link", "image") and not _url_allowed(token["attrs"].get("url", "")):
            # mistune percent-encodes the URL it hands over; find it as written
            for url in dict.fromkeys(
                (token["attrs"].get("url", ""), unquote(token["attrs"].get("url", "")))
            ):
                where = source.find(url, cursor) if url else -1
                if where >= 0:
                    pieces += [source[cursor:where], "#"]
                    cursor = where + len(url)
                    break
            continue
        else:
            continue
        where = source.find(text, cursor) if text else -1
        if where < 0:
            continue
        mark = f"hw2kept{secrets.token_hex(8)}x"
        kept[mark] = text
        pieces += [source[cursor:where], mark]
        cursor = where + len(text)
    pieces.append(source[cursor:])
    libs = _html()
    cleaner = libs.bleach.Cleaner(
        tags=TAGS,
        attributes=_attribute_allowed,
        protocols=PROTOCOLS,
        strip=True,
        strip_comments=True,
        css_sanitizer=libs.CSSSanitizer(allowed_css_properties=["text-align"]),
    )
    # bleach writes a text ">" as "&gt;": a ">" alone opens no tag, and markdown needs it
    # for quotes
    text = cleaner.clean("".join(pieces)).replace("&gt;", ">")
    for mark, original in kept.items():
        text = text.replace(mark, original)
    return text


def as_text(source: str, why: str = "it carried active content") -> str:
    """``source`` as a fenced code block: shown as written, nothing of it rendered (no run
    of ``~`` inside is as long as the fence, so nothing inside closes it)."""
    longest = max((len(run) for run in re.findall("~+", source)), default=0)
    fence = "~" * max(3, longest + 1)
    return f"*(shown as plain text: {why})*\n\n{fence}\n{source}\n{fence}\n"


def sanitize(source: str) -> tuple[str, list[str]]:
    """(markdown to keep, what was active) for one student markdown cell; the markdown is
    ``source`` itself when nothing was active (see the module's docstring)."""
    removed = active(source)
    if not removed:
        return source, []
    for candidate in (_cleaned(source), as_text(source)):
        if not active(candidate):
            return candidate, removed
    return "*(removed: it carried active content)*", removed  # never reached: as_text is inert
