"""The terminal consoles of the CLI: user and list text printed as text, never obeyed."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from screener.text import visible


class PlainConsole(Console):
    """A Rich console without markup, emoji codes or highlighting, whose strings show control characters as
    escapes: a supplier name holding `[/]` or a terminal escape (clear screen, OSC 52 clipboard write) prints
    as those characters. Style comes from `style=` and Text objects only."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(visible(text, keep="\n"), **options)


out = PlainConsole()
err = PlainConsole(stderr=True)
