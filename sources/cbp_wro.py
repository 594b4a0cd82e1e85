"""CBP Withhold Release Orders and Findings: the CSV dataset linked from CBP's dataset page."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import polars as pl
from selectolax.lexbor import LexborHTMLParser

from sources.base import (
    Download,
    Parsed,
    Source,
    SourceFormatError,
    Validators,
    as_of_date,
    canonical_entities,
    canonical_names,
    decode_text,
    drop_sentence_period,
    entity_ids,
    require_columns,
    require_text,
)
from sources.fetch_policy import fetch, require_same_site

if TYPE_CHECKING:
    import httpx  # imported where a download happens: checking a name needs no HTTP client

NAME = "cbp_wro"
URL = "https://www.cbp.gov/document/stats/withhold-release-orders-findings"
REQUIRED = ("Entity", "Country", "Status", "WRO/Finding", "Effective Date")
# Earlier names of columns CBP renamed (the dataset called "Effective Date" "Date" until May 2025).
RENAMED = {"Date": "Effective Date", "Entity Name": "Entity", "Type": "WRO/Finding"}
OPTIONAL = ("Country Code", "Merchandise", "Industry", "Remarks", "Press Release", "Modified Date")
COUNTRY_CODES = {
    "china": "CN", "malaysia": "MY", "mexico": "MX", "japan": "JP", "dominican republic": "DO", "india": "IN",
    "nepal": "NP", "malawi": "MW", "zimbabwe": "ZW", "turkmenistan": "TM", "brazil": "BR", "taiwan": "TW",
    "democratic republic of the congo": "CD", "congo": "CD", "fiji": "FJ", "vanuatu": "VU", "burma": "MM",
    "uzbekistan": "UZ", "guatemala": "GT", "samoa": "WS", "kiribati": "KI",
}

_AKA = re.compile(r",?\s+a/k/a\s+", re.IGNORECASE)
_LEGAL_END = r"(?:Ltd\.?|Limited|Inc\.?|Co\.|LLC|Corporation|Bhd\.?|C\.V\.|S\.A\.)"
_AND_AFTER_LEGAL_FORM = re.compile(rf"(?P<end>\b{_LEGAL_END})\s+and\s+(?!(?:its|their)\b)", re.IGNORECASE)
_AFFILIATES = re.compile(
    r",?\s+and\s+(?:its|their)?\s*(?:subsidiaries|subordinates|affiliates)(?:\s+and\s+joint\s+ventures)?\.?$",
    re.IGNORECASE,
)
_NAMED_SUBSIDIARIES = re.compile(
    r"\s+and\s+its\s+\w+\s+subsidiaries(?:\s+from\s+[\w ]+?)?,\s*(?P<list>.+)$", re.IGNORECASE
)
_COLLECTIVELY = re.compile(r"^(?P<members>.+?)\s*\(collectively,?\s*(?P<group>[^)]+)\)$", re.IGNORECASE)
_MEMBER_SPLIT = re.compile(rf"(?<=\w)(?:,\s+and\s+|,\s+|\s+and\s+)(?!{_LEGAL_END})")
_PARSED = pl.List(pl.Struct({"name": pl.String, "aliases": pl.List(pl.String), "subsidiaries": pl.List(pl.String),
                             "includes_affiliates": pl.Boolean, "vessel": pl.Boolean, "address": pl.String}))
_VESSEL = re.compile(r"^Fishing Vessel:\s*", re.IGNORECASE)
_OWNED_BY = re.compile(r"^(?:All products harvested by\s+)?fishing vessels?\s+owned\s+by\s+(?P<owner>.+)$", re.IGNORECASE)
_FLEET = re.compile(r"^All products harvested by (?:the )?fishing vessels\s+(?P<vessels>.+)$", re.IGNORECASE)
_FLEET_SPLIT = re.compile(r",\s*(?:or|and)\s+|,\s*|\s+(?:or|and)\s+")
_OF_PLACE = re.compile(r"\s*\(of (?P<place>[^)]+)\)$", re.IGNORECASE)
# Words that make a ';'-segment an organisation rather than the place a cell ends with ("...; Kathmandu.").
_ORGANISATION = re.compile(
    r"(?i)\b(co|company|corp|corporation|ltd|limited|inc|llc|pvt|bhd|sdn|gmbh|s\.a|factory|farm|camp|prison|plant|mill|"
    r"mine|works|industr\w*|group|holdings?|enterprises?|trading|center|centre|fields?|vessel|region|carpet|tea)\b"
)
_LEGAL_FORM_ONLY = re.compile(r"(?i)^(?:ltd\.?|limited|inc\.?|co\.|llc|bhd\.?|s\.a\.?)$")


def download(client: httpx.Client, url: str, previous: Validators) -> Download:
    """Follow the dataset page (or the landing page) to the current CSV file and fetch it conditionally."""
    page = fetch(client, url)
    if not _looks_like_html(page.content):
        return Download(url=page.url, files={"data": page})
    csv_url = _csv_link(page.content, page.url)
    if csv_url is None:
        dataset_page = _dataset_page_link(page.content, page.url)
        if dataset_page is None:
            raise SourceFormatError(
                f"no link to the WRO/Findings CSV found on {page.url}; the page format may have changed, "
                "so the stored list was kept (give the CSV address with --url)"
            )
        require_same_site(page.url, dataset_page)
        page = fetch(client, dataset_page)
        csv_url = _csv_link(page.content, page.url)
        if csv_url is None:
            raise SourceFormatError(f"no CSV link found on the dataset page {page.url}; the stored list was kept")
    require_same_site(page.url, csv_url)
    data = fetch(client, csv_url, etag=previous.etag, last_modified=previous.last_modified)
    return Download(url=csv_url, files={"data": data})


def _looks_like_html(content: bytes) -> bool:
    head = content[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def _links(content: bytes, base: str) -> list[tuple[str, str]]:
    tree = LexborHTMLParser(decode_text(content))
    return [(urljoin(base, a.attributes.get("href") or ""), a.text(strip=True)) for a in tree.css("a[href]")]


def _csv_link(content: bytes, base: str) -> str | None:
    """The newest-named WRO/Findings CSV linked from a page."""
    csvs = [href for href, _ in _links(content, base) if href.lower().split("?")[0].endswith(".csv")]
    preferred = [href for href in csvs if "withhold" in href.lower() or "wro" in href.lower()]
    return max(preferred or csvs) if (preferred or csvs) else None


def _dataset_page_link(content: bytes, base: str) -> str | None:
    for href, text in _links(content, base):
        lowered = text.lower()
        if "dataset" in lowered and ("withhold" in lowered or "wro" in lowered):
            return href
    return None


def parse(download: Download) -> Parsed:
    """The WRO/Findings CSV as canonical frames: cells naming several entities or a/k/a chains are split."""
    raw = _read(download.files["data"].content)
    listings = _split_rows(raw, download.url)
    entities, names = _frames(listings)
    return Parsed(entities, names, as_of=as_of_date(download))


def _read(content: bytes) -> pl.DataFrame:
    require_text(content, "the WRO/Findings file")
    try:
        raw = pl.read_csv(io.StringIO(decode_text(content)), infer_schema=False)
    except Exception as error:
        raise SourceFormatError(f"the WRO/Findings file is not a readable CSV ({str(error).splitlines()[0]}); "
                                "the stored list was kept") from error
    raw = raw.rename({column: " ".join(column.split()) for column in raw.columns})
    raw = raw.rename({old: new for old, new in RENAMED.items() if old in raw.columns and new not in raw.columns})
    require_columns(raw.columns, REQUIRED, "the WRO/Findings file")
    raw = raw.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in OPTIONAL if c not in raw.columns])
    return raw.with_columns(pl.col(pl.String).str.replace_all("\u00a0", " ").str.strip_chars()).filter(
        pl.col("Entity").fill_null("") != ""
    )


def split_entity_cell(cell: str) -> list[dict[str, object]]:
    """Entities named in one 'Entity' cell, each with aliases, subsidiaries, vessel flag and affiliates flag."""
    cell = drop_sentence_period(" ".join(cell.split()))
    collective = _COLLECTIVELY.match(cell)
    if collective:
        members = [m.strip(" ,") for m in _MEMBER_SPLIT.split(collective["members"]) if m.strip(" ,")]
        return [_entity(collective["group"].strip(), subsidiaries=members)]
    owned = _OWNED_BY.match(cell)
    if owned:
        return [_entity(owned["owner"].strip(" ,"))]
    fleet = _FLEET.match(cell)
    if fleet:
        return [_entity(vessel.strip(" ,"), vessel=True) for vessel in _FLEET_SPLIT.split(fleet["vessels"]) if vessel.strip(" ,")]
    parts = [part.strip(" ,") for part in cell.split(";") if part.strip(" ,")]
    place = parts.pop() if len(parts) > 1 and _is_place(parts[-1]) else None
    found = [entity for part in parts for entity in _entities_in(part)]
    return [{**entity, "address": entity["address"] or place} for entity in found if entity["name"]]


def _is_place(text: str) -> bool:
    """A short segment naming no organisation: the place a cell's entities are in."""
    return len(text.split()) <= 3 and not _ORGANISATION.search(text) and "a/k/a" not in text.lower()


def _listed(text: str) -> list[str]:
    """'A Pvt., B Pvt., Ltd., C, and D' as its members, a legal form after a comma kept with its name."""
    members: list[str] = []
    for piece in re.split(r",\s+(?:and\s+)?", text):
        if members and _LEGAL_FORM_ONLY.match(piece.strip()):
            members[-1] = f"{members[-1]}, {piece.strip()}"
        elif piece.strip():
            members.append(piece.strip())
    return members


def _entities_in(text: str) -> list[dict[str, object]]:
    """'A and B', 'A, a/k/a B', 'A and its two subsidiaries from X, B and C', 'A and Subsidiaries'."""
    affiliates = bool(_AFFILIATES.search(text))
    text = _AFFILIATES.sub("", text)
    subsidiaries: list[str] = []
    named = _NAMED_SUBSIDIARIES.search(text)
    if named:
        subsidiaries = [s.strip(" ,") for s in _MEMBER_SPLIT.split(named["list"]) if s.strip(" ,")]
        text, affiliates = text[: named.start()], True
    place = _OF_PLACE.search(text)
    text = _OF_PLACE.sub("", text)
    if _AKA.search(text):
        pieces = [text]
    elif re.search(r",\s+and\s+", text) and all(len(member.split()) > 1 for member in _listed(text)):
        pieces = _listed(text)
    else:
        pieces = _AND_AFTER_LEGAL_FORM.sub("\\g<end>\0", text).split("\0")
    entities = []
    for index, piece in enumerate(pieces):
        vessel = bool(_VESSEL.match(piece))
        main, *aliases = [name.strip(" ,") for name in _AKA.split(_VESSEL.sub("", piece.strip(" ,")))]
        entities.append(_entity(main, aliases, subsidiaries if index == 0 else [], affiliates, vessel,
                                place["place"] if place else None))
    return entities


def _entity(main: str, aliases: list[str] | None = None, subsidiaries: list[str] | None = None,
            affiliates: bool = False, vessel: bool = False, address: str | None = None) -> dict[str, object]:
    return {"name": main, "aliases": aliases or [], "subsidiaries": subsidiaries or [],
            "includes_affiliates": affiliates, "vessel": vessel, "address": address}


def _split_rows(raw: pl.DataFrame, url: str) -> pl.DataFrame:
    split = pl.Series("parsed", [split_entity_cell(cell) for cell in raw["Entity"].to_list()], dtype=_PARSED)
    listings = raw.with_columns(split).explode("parsed").unnest("parsed")
    if listings.is_empty():
        raise SourceFormatError(f"the WRO/Findings file {url} has no entities; the stored list was kept")
    return listings.with_columns(
        entity_id=entity_ids(NAME, listings["name"]),
        start=pl.col("Effective Date").str.to_date("%m/%d/%Y", strict=False),
        modified=pl.col("Modified Date").str.to_date("%m/%d/%Y", strict=False),
        status=_status(pl.col("Status")),
        country=pl.coalesce(
            pl.col("Country Code").str.extract(r"^([A-Z]{2})$"),
            pl.col("Country").str.to_lowercase().replace_strict(COUNTRY_CODES, default=None),
            pl.lit(""),
        ),
        source_url=pl.coalesce(pl.col("Press Release").replace("", None), pl.lit(url)),
    )


def _status(status: pl.Expr) -> pl.Expr:
    lowered = status.fill_null("").str.to_lowercase()
    return (
        pl.when(lowered.str.contains("revoked")).then(pl.lit("revoked"))
        .when(lowered.str.contains("inactive")).then(pl.lit("inactive"))
        .when(lowered.str.contains("partially")).then(pl.lit("partially active"))
        .when(lowered.str.contains("modified")).then(pl.lit("modified"))
        .when(lowered.str.contains("active")).then(pl.lit("active"))
        .otherwise(lowered)
    )


def _frames(listings: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One entity per name; several orders on one entity are merged, the latest order's status wins."""
    entities = (
        listings.sort("start", nulls_last=False)
        .group_by("entity_id", maintain_order=True)
        .agg(
            pl.col("name").first(),
            pl.col("WRO/Finding").unique(maintain_order=True).str.join("; ").alias("program"),
            pl.col("Merchandise").drop_nulls().unique(maintain_order=True).str.join("; ").alias("merchandise"),
            pl.col("Industry").drop_nulls().unique(maintain_order=True).str.join("; ").alias("sector"),
            pl.col("Remarks").drop_nulls().unique(maintain_order=True).str.join(" | ").alias("remarks"),
            pl.format("CBP {} effective {}", pl.col("WRO/Finding"), pl.col("start").cast(pl.String).fill_null("(date not given)"))
            .unique(maintain_order=True).str.join("; ").alias("citation"),
            pl.col("address").drop_nulls().unique(maintain_order=True).str.join("; ").alias("addresses"),
            pl.col("status").last(),
            pl.col("start").min().alias("start_date"),
            pl.col("modified").last(),
            pl.col("country").first(),
            pl.col("source_url").last(),
            pl.col("includes_affiliates").any(),
            pl.col("vessel").any(),
        )
        .with_columns(
            end_date=pl.when(pl.col("status").is_in(["inactive", "revoked", "modified"])).then(pl.col("modified")),
            entity_type=pl.when(pl.col("vessel")).then(pl.lit("vessel")).otherwise(pl.lit("organization")),
            source=pl.lit(NAME), list_name=pl.lit("CBP Withhold Release Orders and Findings"),
            list_kind=pl.lit("legal"), authority=pl.lit("US-CBP"),
        )
    )
    names = pl.concat([
        listings.select("entity_id", "name", kind=pl.lit("primary")),
        listings.select("entity_id", name=pl.col("aliases"), kind=pl.lit("alias")).explode("name"),
        listings.select("entity_id", name=pl.col("subsidiaries"), kind=pl.lit("subsidiary")).explode("name"),
    ]).drop_nulls("name")
    return canonical_entities(entities), canonical_names(names)


SOURCE = Source(
    name=NAME,
    title="CBP Withhold Release Orders and Findings",
    publisher="US Customs and Border Protection",
    licence="US Government work, public domain",
    url=URL,
    format="HTML page linking a CSV",
    coverage="Every WRO and Finding under 19 U.S.C. 1307, all countries, with merchandise and status.",
    download=download,
    parse=parse,
    mirror="us_cbp_forced_labor",
)
