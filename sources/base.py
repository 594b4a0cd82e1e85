"""The common interface of every source, and helpers that build the canonical frames."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from screener.errors import ScreenerError
from screener.schema import ENTITY_SCHEMA, NAME_SCHEMA, entity_id
from sources.fetch_policy import Fetched, fetch

if TYPE_CHECKING:
    import httpx  # imported where a download happens: checking a name needs no HTTP client


class SourceFormatError(ScreenerError):
    """A downloaded list does not have the structure its parser expects (the publisher changed the format)."""


@dataclass(frozen=True)
class Download:
    """The raw files of one source, as downloaded (several for multi-dataset sources)."""

    url: str
    files: dict[str, Fetched]

    @property
    def not_modified(self) -> bool:
        return all(fetched.not_modified for fetched in self.files.values())

    @property
    def sha256(self) -> str:
        if len(self.files) == 1:
            return next(iter(self.files.values())).sha256
        digest = hashlib.sha256()
        for label, fetched in sorted(self.files.items()):
            digest.update(f"{label}\0{fetched.sha256}\n".encode())
        return digest.hexdigest()

    @property
    def etag(self) -> str:
        """The files' ETags, one a line (empty when none was sent)."""
        return _joined(fetched.etag for fetched in self.files.values())

    @property
    def last_modified(self) -> str:
        """The files' Last-Modified headers, one a line (empty when none was sent)."""
        return _joined(fetched.last_modified for fetched in self.files.values())


def _joined(values: Iterable[str]) -> str:
    values = list(values)
    return "\n".join(values) if any(values) else ""


@dataclass(frozen=True)
class Parsed:
    """A source's canonical frames and the date the list speaks for."""

    entities: pl.DataFrame
    names: pl.DataFrame
    as_of: dt.date | None


@dataclass(frozen=True)
class Validators:
    """ETag and Last-Modified of the current snapshot, for conditional requests."""

    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class Source:
    """What a source is (title, publisher, licence, address, format) and how to download and parse it."""

    name: str
    title: str
    publisher: str
    licence: str
    url: str
    format: str
    coverage: str
    download: Callable[[httpx.Client, str, Validators], Download]
    parse: Callable[[Download], Parsed]
    options: dict[str, object] = field(default_factory=dict)
    mirror: str = ""
    """The OpenSanctions dataset holding a copy of this list, read when the publisher refuses the download."""


def single_download(client: httpx.Client, url: str, previous: Validators) -> Download:
    """Download one file conditionally (the usual case)."""
    fetched = fetch(client, url, etag=previous.etag, last_modified=previous.last_modified)
    return Download(url=fetched.url if not fetched.not_modified else url, files={"data": fetched})


def entity_ids(source: str, keys: pl.Series) -> pl.Series:
    """Stable entity ids (screener.schema.entity_id) for a column of keys."""
    return pl.Series("entity_id", [entity_id(source, key) for key in keys.to_list()], dtype=pl.String)


def script_of(names: pl.Expr) -> pl.Expr:
    """`zh` for names containing Chinese characters, else `en`."""
    return pl.when(names.str.contains(r"\p{Han}")).then(pl.lit("zh")).otherwise(pl.lit("en"))


def canonical_entities(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill absent canonical columns with empty values and order/cast them as the schema says."""
    fills = []
    for column, dtype in ENTITY_SCHEMA.items():
        if column in frame.columns:
            continue
        if dtype == pl.String():
            fills.append(pl.lit("").alias(column))
        elif dtype == pl.Boolean():
            fills.append(pl.lit(False).alias(column))
        else:
            fills.append(pl.lit(None, dtype=dtype).alias(column))
    frame = frame.with_columns(fills) if fills else frame
    strings = [column for column, dtype in ENTITY_SCHEMA.items() if dtype == pl.String()]
    return frame.select([pl.col(column).cast(dtype) for column, dtype in ENTITY_SCHEMA.items()]).with_columns(
        pl.col(strings).fill_null("").str.strip_chars()
    )


def canonical_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Clean name variants: trimmed, non-empty, deduplicated, script detected."""
    return (
        frame.with_columns(pl.col("name").str.replace_all(r"\s+", " ").str.strip_chars(" ,;"))
        .filter(pl.col("name").str.len_chars() > 1)
        .with_columns(lang=script_of(pl.col("name")))
        .select([pl.col(column).cast(dtype) for column, dtype in NAME_SCHEMA.items()])
        .unique(subset=["entity_id", "name"], keep="first", maintain_order=True)
    )


# Not the period of an abbreviation: Ltd., Co., ... or a dotted one such as S.A., D.O.O., L.L.C.
_SENTENCE_PERIOD = re.compile(
    r"(?<!\bLtd)(?<!\bCo)(?<!\bInc)(?<!\bBhd)(?<!\bCorp)(?<!\bPvt)(?<!\.[A-Z])\.$", re.IGNORECASE
)


def drop_sentence_period(text: str) -> str:
    """Remove a period ending a sentence, keeping the one of an abbreviation such as 'Co., Ltd.'."""
    return _SENTENCE_PERIOD.sub("", text.strip())


def require_text(content: bytes, what: str) -> None:
    """Raise SourceFormatError when a download is UTF-16/32 text or binary data rather than 8-bit text."""
    head = content[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        problem = "is UTF-16 or UTF-32 text, not the UTF-8 the publisher serves"
    elif b"\x00" in head:
        problem = "is binary data (or UTF-16 text without a byte-order mark), not UTF-8 text"
    else:
        return
    raise SourceFormatError(f"{what} {problem}; the encoding changed or the download is damaged, so the stored list "
                            "was kept")


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), falling back to Windows-1252 as some government CSVs use (BOM or not)."""
    content = content.removeprefix(b"\xef\xbb\xbf")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def require_columns(columns: list[str], required: tuple[str, ...], what: str) -> None:
    """Raise SourceFormatError naming the required columns a file lacks."""
    missing = [column for column in required if column not in columns]
    if missing:
        raise SourceFormatError(
            f"{what} lacks the columns {', '.join(missing)} (found: {', '.join(columns[:12])}); "
            "the publisher changed the format, so the stored list was kept"
        )


def as_of_date(download: Download, declared: dt.date | None = None) -> dt.date:
    """The date a list speaks for: what the file declares, else its Last-Modified header, else today."""
    if declared:
        return declared
    for fetched in download.files.values():
        if fetched.last_modified:
            try:
                return email.utils.parsedate_to_datetime(fetched.last_modified).date()
            except (TypeError, ValueError):
                continue
    return dt.date.today()
