"""Every ingestable source, by the name `screener ingest` accepts."""

from __future__ import annotations

from screener.errors import UsageError
from sources import cbp_wro, csl, opensanctions, uflpa
from sources.base import Source

SOURCES: dict[str, Source] = {
    source.name: source for source in (uflpa.SOURCE, cbp_wro.SOURCE, csl.SOURCE, opensanctions.SOURCE)
}


def get_source(name: str, datasets: tuple[str, ...] = ()) -> Source:
    """The source called `name`; `datasets` selects OpenSanctions datasets."""
    if name not in SOURCES:
        raise UsageError(f"unknown source {name!r}; choose from {', '.join(SOURCES)}")
    if name == opensanctions.NAME and datasets:
        return opensanctions.make_source(datasets)
    return SOURCES[name]
