"""Every ingestable source, by the name `screener ingest` accepts.

The names are known without importing the source modules (a list's age and refresh advice need only them);
`SOURCES` imports the modules the first time it is used.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from screener.errors import UsageError

if TYPE_CHECKING:
    from sources.base import Source

SOURCE_NAMES = ("uflpa", "cbp_wro", "csl", "opensanctions")
"""The ingestable sources' names, in the order `SOURCES` lists them."""


@functools.cache
def _sources() -> dict[str, Source]:
    from sources import cbp_wro, csl, opensanctions, uflpa

    return {source.name: source for source in (uflpa.SOURCE, cbp_wro.SOURCE, csl.SOURCE, opensanctions.SOURCE)}


def __getattr__(name: str) -> dict[str, Source]:
    """`SOURCES`: every ingestable source by name, its module imported on first use."""
    if name == "SOURCES":
        return _sources()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_source(name: str, datasets: tuple[str, ...] = ()) -> Source:
    """The source called `name`; `datasets` selects OpenSanctions datasets."""
    from sources import opensanctions

    sources = _sources()
    if name not in sources:
        raise UsageError(f"unknown source {name!r}; choose from {', '.join(sources)}")
    if name == opensanctions.NAME and datasets:
        return opensanctions.make_source(datasets)
    return sources[name]
