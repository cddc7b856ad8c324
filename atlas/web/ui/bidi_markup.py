"""Pages carry no bidirectional control characters: isolates become ``<bdi>`` elements as a page is rendered
(issue 19).

The catalogue's Arabic sentences isolate their embedded figures and codes with U+2066…U+2069 ("معزول: ⁦12⁩"), and
some put a U+200E/U+200F mark beside a Latin word. In a page those invisible characters end up in copied text,
in what a screen reader reads, and in the next paste into a spreadsheet. The catalogue, the stored text and the
files keep their plain text; the page alone turns each isolate into mark-up, at the one place every page goes
through (the Jinja template's ``render``, `atlas.web.app`):

- in element text, an isolate (LRI, RLI, FSI … PDI) becomes ``<bdi dir="ltr|rtl|auto">…</bdi>``, an embedding
  (LRE, RLE … PDF) a ``<span dir>``, an override (LRO, RLO … PDF) a ``<bdo dir>``; a pair of left-to-right marks
  around a word (``‎sa‎``) isolates it left to right; a lone mark, or a closer without an opener, is dropped;
- in a tag (attribute values: ``title``, ``aria-label``, ``data-text-ar``…) and in the raw text of ``<title>``,
  ``<textarea>``, ``<script>`` and ``<style>``, where no mark-up can go, the controls are dropped.

An element the page opens is never left crossing one it closes: an isolate still open when its enclosing element
ends is closed first.
"""

from __future__ import annotations

import re
from typing import Any, Final

from jinja2 import Template

CONTROLS: Final = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What each opening control becomes: the element and its direction.
_OPENERS: Final = {
    "\u2066": ("bdi", "ltr"),
    "\u2067": ("bdi", "rtl"),
    "\u2068": ("bdi", "auto"),
    "\u202a": ("span", "ltr"),
    "\u202b": ("span", "rtl"),
    "\u202d": ("bdo", "ltr"),
    "\u202e": ("bdo", "rtl"),
}
_CLOSERS: Final = frozenset("\u2069\u202c")
_LTR_WORD: Final = re.compile("\u200e([^\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]+?)\u200e")
# A comment, a doctype or a tag (attribute values are escaped: they hold no raw ">"), or the text between them.
_TOKENS: Final = re.compile(r"(<!--.*?-->|<[!?/]?[A-Za-z][^>]*>)", re.S)
_TAG_NAME: Final = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
_RAW_TEXT: Final = frozenset({"script", "style", "title", "textarea"})
_VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


def strip_controls(text: str) -> str:
    """``text`` without any bidirectional control (for attribute values and raw text)."""
    return CONTROLS.sub("", text)


class _Isolator:
    """One page's pass: the open isolates, each with the element depth it was opened at."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.open: list[tuple[str, int]] = []
        self.depth = 0

    def text(self, text: str) -> None:
        if not CONTROLS.search(text):
            self.out.append(text)
            return
        text = _LTR_WORD.sub("\u2066\\1\u2069", text)
        for piece in re.split("([\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069])", text):
            if piece in _OPENERS:
                tag, direction = _OPENERS[piece]
                self.out.append(f'<{tag} dir="{direction}">')
                self.open.append((tag, self.depth))
            elif piece in _CLOSERS:
                if self.open and self.open[-1][1] == self.depth:
                    self.out.append(f"</{self.open.pop()[0]}>")
            elif piece and not CONTROLS.fullmatch(piece):
                self.out.append(piece)

    def close_to(self, depth: int) -> None:
        while self.open and self.open[-1][1] > depth:
            self.out.append(f"</{self.open.pop()[0]}>")

    def tag(self, tag: str) -> None:
        name_match = _TAG_NAME.match(tag)
        name = name_match.group(1).lower() if name_match else ""
        if tag.startswith("</"):
            self.close_to(self.depth - 1)
            self.depth = max(self.depth - 1, 0)
        elif name and name not in _VOID and not tag.endswith("/>"):
            self.depth += 1
        self.out.append(strip_controls(tag))


def isolate_controls(html: str) -> str:
    """``html`` with every bidirectional control turned into mark-up, or dropped where mark-up cannot go."""
    if not CONTROLS.search(html):
        return html
    isolator = _Isolator()
    tokens = _TOKENS.split(html)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if index % 2 == 0:
            isolator.text(token)
        elif token.startswith("<!"):
            isolator.out.append(strip_controls(token))
        else:
            isolator.tag(token)
            name_match = _TAG_NAME.match(token)
            name = name_match.group(1).lower() if name_match else ""
            if name in _RAW_TEXT and not token.startswith("</"):
                # raw text up to the element's end tag: no mark-up there
                raw: list[str] = []
                index += 1
                while index < len(tokens) and not (index % 2 == 1 and tokens[index].lower().startswith(f"</{name}")):
                    raw.append(tokens[index])
                    index += 1
                isolator.out.append(strip_controls("".join(raw)))
                continue
        index += 1
    isolator.close_to(-1)
    return "".join(isolator.out)


class IsolatingTemplate(Template):
    """A Jinja template whose rendered page carries no bidirectional control (`isolate_controls`); the web app
    makes it its environment's template class, so every page and error page goes through it."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        return isolate_controls(super().render(*args, **kwargs))
