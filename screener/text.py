"""User and list text made safe to show: control characters visible, no markup interpreted."""

from __future__ import annotations

import re

# C0 and C1 controls (tab kept), DEL, and the bidirectional overrides and isolates that reorder what follows
_INVISIBLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=\"'&])")
WEB_LINK = r"^https?://[^\s<>()\[\]\"'`\\]+$"


def visible(text: str, keep: str = "") -> str:
    """The text with every control character (but those in `keep`) shown as an escape (\\x1b, \\n, \\u202e),
    so a terminal or page prints it instead of obeying it."""
    return _INVISIBLE.sub(
        lambda match: match.group() if match.group() in keep else match.group().encode("unicode_escape").decode(),
        text,
    )


def markdown_literal(text: str) -> str:
    """The text as Markdown that renders exactly as written: visible controls, every Markdown character escaped
    (no links, images, emphasis or HTML)."""
    return _MARKDOWN.sub(r"\\\1", visible(text))


def markdown_link(label: str, url: str | None) -> str:
    """A Markdown link when `url` is a plain http(s) address; otherwise the address as literal text (no
    data:, javascript: or file: links, nothing that could close the link early)."""
    if url and re.fullmatch(WEB_LINK, url):
        return f"[{markdown_literal(label)}]({url})"
    return markdown_literal(url or "")
