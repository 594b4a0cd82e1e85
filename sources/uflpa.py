"""DHS UFLPA Entity List: the HTML page with one table per statutory clause 2(d)(2)(B)(i)-(v)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import polars as pl
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from sources.base import (
    Download,
    Parsed,
    Source,
    SourceFormatError,
    as_of_date,
    canonical_entities,
    canonical_names,
    drop_sentence_period,
    entity_ids,
    require_text,
    single_download,
)

NAME = "uflpa"
URL = "https://www.dhs.gov/uflpa-entity-list"
NAME_HEADERS = ("name of entity", "entity name")
DATE_HEADER = "effective date"
CLAUSE = re.compile(r"2\s*\(d\)\s*\(2\)\s*\(B\)\s*\((?P<clause>iv|v|i{1,3})\)")
LAST_UPDATED = re.compile(r"Last\s+(?:Updated|Reviewed)\s*:?\s*(\d{1,2}/\d{1,2}/\d{4})", re.IGNORECASE)

_ALIAS_GROUP = re.compile(
    r"\s*\((?P<intro>(?:and|including)\s+(?P<count>\w+)\s+alias(?:es)?\s*:|(?P<former>formerly|also)\s+known\s+as:?)"
    r"\s*(?P<list>[^()]*(?:\([^()]*\)[^()]*)*)\)"
)
# "... and formerly known as X; Y" inside an alias group, or ending it: the names after it are former names.
_FORMER_SWITCH = re.compile(r"[,;]?\s*(?:and\s+)?formerly\s+known\s+as:?\s*", re.IGNORECASE)
# The clause a table heading names in words when it does not cite "2(d)(2)(B)(x)" (the statute's own wording).
CLAUSE_WORDS = (
    ("ii", re.compile(r"working with the government of Xinjiang to recruit", re.IGNORECASE)),
    ("iv", re.compile(r"exported products", re.IGNORECASE)),
    ("iii", re.compile(r"list of products (?:mined|made|produced)", re.IGNORECASE)),
    ("v", re.compile(r"source material from Xinjiang", re.IGNORECASE)),
    ("i", re.compile(r"in Xinjiang that mine, produce,? or manufacture", re.IGNORECASE)),
)
_AFFILIATES = re.compile(
    r",?\s+and\s+(?:its\s+)?(?:subordinate\s+and\s+affiliated\s+entities|subsidiaries)\s*\.?$", re.IGNORECASE
)
_SUBSIDIARIES = re.compile(
    r",?\s+and\s+its\s+(?P<qualifier>[^,]*?)subsidiar(?P<plural>y|ies)(?:,\s*which\s+include|:)?\s+(?P<list>.+)$",
    re.IGNORECASE,
)
_ACRONYM = re.compile(r"^(?P<bare>.+?)\s*\((?P<acronym>[A-Z]{2,8})\)$")
_LEGAL_TAIL = r"(?:Ltd|Limited|Inc|LLC|L\.L\.C|Co|Corp|Pvt|S\.A|GmbH|Ltda|JSC|PLC)\b"
_COMMA_SPLIT = re.compile(rf",\s+(?:and\s+)?(?!{_LEGAL_TAIL})")
_HTML_END = re.compile(rb"</html\s*>", re.IGNORECASE)
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


@dataclass
class NameCell:
    """The names packed into one 'Name of Entity' cell."""

    main: str
    aliases: list[str] = field(default_factory=list)
    formers: list[str] = field(default_factory=list)
    subsidiaries: list[str] = field(default_factory=list)
    includes_affiliates: bool = False


def split_name_cell(cell: str) -> NameCell:
    """Separate the primary name, aliases, former names and subsidiaries of one listing."""
    text = " ".join(cell.replace("\u00a0", " ").split())
    aliases: list[str] = []
    formers: list[str] = []
    for group in _ALIAS_GROUP.finditer(text):
        listed, *former_tail = _FORMER_SWITCH.split(group["list"], maxsplit=1)
        names = split_list(listed, _NUMBERS.get((group["count"] or "").lower()))
        (formers if group["former"] and group["former"].lower() == "formerly" else aliases).extend(names)
        formers.extend(split_list(former_tail[0]) if former_tail else [])
    text = _ALIAS_GROUP.sub("", text).strip()
    affiliates = bool(_AFFILIATES.search(text))
    text = _AFFILIATES.sub("", text)
    subsidiaries: list[str] = []
    listed = _SUBSIDIARIES.search(text)
    if listed:
        subsidiaries = split_list(listed["list"], _NUMBERS.get(listed["qualifier"].split(" ")[0].lower()))
        affiliates = affiliates or listed["plural"].lower() == "ies"
        text = text[: listed.start()]
    main = text.strip(" ,;")
    acronym = _ACRONYM.match(main)
    if acronym:
        aliases.append(acronym["bare"])
    return NameCell(main, aliases, formers, subsidiaries, affiliates)


def split_list(text: str, expected: int | None = None) -> list[str]:
    """Split 'A; B; and C' or 'A, B, and C' (commas inside 'Co., Ltd.' kept) into names."""
    text = drop_sentence_period(text)
    parts = re.split(r";\s*(?:and\s+)?", text) if ";" in text else _COMMA_SPLIT.split(text)
    if expected == 2 and len(parts) == 1 and " and " in text:
        parts = text.rsplit(" and ", 1)
    return [part.strip(" ,;") for part in parts if part.strip(" ,;")]


def parse(download: Download) -> Parsed:
    """The entity tables of the DHS page as canonical frames; one entity per name, one listing per clause."""
    content = download.files["data"].content
    require_text(content, f"the page {download.url}")
    if not _HTML_END.search(content):
        raise SourceFormatError(f"the page {download.url} ends before </html>, so it is incomplete; "
                                "the stored list was kept (a download cut short: retry later)")
    html = content.decode("utf-8", errors="replace")
    tree = HTMLParser(html)
    listings = _listings(tree, download.url)
    entities, names = _frames(listings)
    return Parsed(entities, names, as_of=as_of_date(download, _last_updated(tree)))


def _listings(tree: HTMLParser, url: str) -> pl.DataFrame:
    rows: list[dict[str, object]] = []
    tables = [(table, index) for table in tree.css("table") if (index := _header_index(table))]
    if not tables:
        raise SourceFormatError(
            f"no entity tables (columns 'Name of Entity'/'Entity Name' and 'Effective Date') found on {url}; "
            "the page format may have changed, so the stored list was kept"
        )
    for table, (name_col, date_col) in tables:
        clause, description = _clause_of(table)
        for row in table.css("tr"):
            cells = [cell.text(separator=" ", strip=True) for cell in row.css("td")]
            if len(cells) <= max(name_col, date_col) or not cells[name_col]:
                continue
            rows.append({"cell": cells[name_col], "date": cells[date_col], "clause": clause, "description": description})
    if not rows:
        raise SourceFormatError(f"the entity tables on {url} have no rows; the stored list was kept")
    return pl.DataFrame(rows).with_columns(source_url=pl.lit(url))


def _header_index(table: Node) -> tuple[int, int] | None:
    """Positions of the name and date columns, or None when this is not an entity table."""
    headers = [" ".join(th.text(strip=True).lower().split()) for th in table.css("th")]
    names = [i for i, header in enumerate(headers) if header in NAME_HEADERS]
    dates = [i for i, header in enumerate(headers) if header == DATE_HEADER]
    return (names[0], dates[0]) if names and dates else None


def _clause_of(table: Node) -> tuple[str, str]:
    """The clause (i)-(v) and its description from the text before the table (also inside accordions)."""
    node: Node | None = table
    for _ in range(4):
        sibling = node.prev if node is not None else None
        while sibling is not None:
            if sibling.tag == "table":
                break
            text = sibling.text(separator=" ", strip=True) if sibling.tag != "-text" else (sibling.text_content or "")
            found = CLAUSE.search(text)
            clause = found["clause"] if found else next((c for c, words in CLAUSE_WORDS if words.search(text)), None)
            if clause:
                strong = sibling.css_first("strong") if sibling.tag != "-text" else None
                description = strong.text(strip=True) if strong is not None else CLAUSE.sub("", text).strip(" -–")
                return clause, description
            sibling = sibling.prev
        node = node.parent if node is not None else None
    raise SourceFormatError(
        "an entity table on the DHS page has no 'Section 2(d)(2)(B)(i)-(v)' heading; "
        "the page format may have changed, so the stored list was kept"
    )


def _last_updated(tree: HTMLParser) -> dt.date | None:
    body = tree.body.text(separator=" ") if tree.body is not None else ""
    found = LAST_UPDATED.search(body)
    return dt.datetime.strptime(found[1], "%m/%d/%Y").date() if found else None


def _frames(listings: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One entity per primary name (clauses merged), its aliases, former names and subsidiaries."""
    cells = [split_name_cell(cell) for cell in listings["cell"].to_list()]
    listings = listings.with_columns(
        name=pl.Series([cell.main for cell in cells]),
        includes_affiliates=pl.Series([cell.includes_affiliates for cell in cells]),
        start=pl.col("date").str.replace_all(r"\s+", " ").str.strip_chars().str.to_date("%B %d, %Y", strict=False),
        program=pl.lit("UFLPA 2(d)(2)(B)(") + pl.col("clause") + pl.lit(")"),
    )
    listings = listings.with_columns(entity_id=entity_ids(NAME, listings["name"]))
    entities = (
        listings.sort("clause")
        .group_by("entity_id", maintain_order=True)
        .agg(
            pl.col("name").first(),
            pl.col("program").unique(maintain_order=True).str.join("; "),
            pl.col("start").min().alias("start_date"),
            pl.col("includes_affiliates").any(),
            pl.col("description").unique(maintain_order=True).str.join(" | ").alias("remarks"),
            pl.col("source_url").first(),
        )
        .with_columns(
            source=pl.lit(NAME), list_name=pl.lit("UFLPA Entity List"), list_kind=pl.lit("legal"),
            authority=pl.lit("US-DHS"), entity_type=pl.lit("organization"), country=pl.lit("CN"),
            status=pl.lit("active"),
        )
    )
    ids = listings["entity_id"].to_list()
    names = pl.DataFrame(
        [
            {"entity_id": entity, "name": name, "kind": kind}
            for entity, cell in zip(ids, cells, strict=True)
            for kind, variants in (("primary", [cell.main]), ("alias", cell.aliases), ("former", cell.formers),
                                   ("subsidiary", cell.subsidiaries))
            for name in variants
        ],
        schema={"entity_id": pl.String, "name": pl.String, "kind": pl.String},
    )
    return canonical_entities(entities), canonical_names(names)


SOURCE = Source(
    name=NAME,
    title="UFLPA Entity List",
    publisher="US Department of Homeland Security (Forced Labor Enforcement Task Force)",
    licence="US Government work, public domain",
    url=URL,
    format="HTML",
    coverage="Every entity on the four statutory lists of UFLPA Section 2(d)(2)(B)(i)-(v), with aliases and named subsidiaries.",
    download=single_download,
    parse=parse,
    mirror="us_dhs_uflpa",
)
