"""OpenSanctions datasets: FollowTheMoney entities (JSON lines), official lists and NGO research alike."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import polars as pl

from sources.base import (
    Download,
    Parsed,
    Source,
    SourceFormatError,
    Validators,
    as_of_date,
    canonical_entities,
    canonical_names,
    entity_ids,
    require_text,
)
from sources.fetch_policy import Fetched, fetch

if TYPE_CHECKING:
    import httpx  # imported where a download happens: checking a name needs no HTTP client

NAME = "opensanctions"
URL = "https://data.opensanctions.org/datasets/latest/{dataset}/entities.ftm.json"
DEFAULT_DATASETS = ("us_dhs_uflpa", "us_cbp_forced_labor", "shu_uyghur_companies", "c4ads_xinjiang")
LICENCE = "CC BY-NC 4.0 (OpenSanctions; non-commercial use, commercial users need a licence from OpenSanctions)"

# dataset → (list name, list kind, authority). Research datasets are evidence of exposure, not legal listings.
DATASETS: dict[str, tuple[str, str, str]] = {
    "us_dhs_uflpa": ("UFLPA Entity List (OpenSanctions)", "legal", "US-DHS"),
    "us_cbp_forced_labor": ("CBP Withhold Release Orders and Findings (OpenSanctions)", "legal", "US-CBP"),
    "shu_uyghur_companies": (
        "Sheffield Hallam University: companies operating in the Uyghur Region", "research", "SHU"),
    "c4ads_xinjiang": ("C4ADS: XPCC-linked organisations", "research", "C4ADS"),
    "sanctions": ("OpenSanctions consolidated sanctions", "legal", "OpenSanctions"),
}
ENTITY_SCHEMATA = {"Company": "organization", "Organization": "organization", "LegalEntity": "organization",
                   "PublicBody": "organization", "Person": "person", "Vessel": "vessel"}
PROPERTIES = ("name", "alias", "weakAlias", "previousName", "country", "jurisdiction", "address", "addressEntity",
              "sector", "notes", "sourceUrl", "program", "startDate", "endDate", "entity", "owner", "asset", "full",
              "description", "topics")
# Datasets whose records say in `description` which kind of order they are, and whose `sanction` topic (with a
# Sanction record) marks the orders in force: CBP's inactive, revoked or modified orders have neither.
ORDER_DATASETS = ("us_cbp_forced_labor",)
_ORDER_TYPES = r"^(WRO|Finding)$"
_UFLPA_SECTION = r"(?i)2\(d\)\(2\)\(B\)\((i|ii|iii|iv|v)\)"
_ROW = {
    "id": pl.String(), "schema": pl.String(), "datasets": pl.List(pl.String),
    "properties": pl.Struct({prop: pl.List(pl.String) for prop in PROPERTIES}),
}


def make_source(datasets: tuple[str, ...] = DEFAULT_DATASETS) -> Source:
    """The OpenSanctions source reading the given datasets into one snapshot."""

    def download(client: httpx.Client, url: str, previous: Validators) -> Download:
        return download_datasets(client, url, datasets, previous)

    return Source(
        name=NAME,
        title="OpenSanctions: " + ", ".join(datasets),
        publisher="OpenSanctions (datasets by DHS, CBP, Sheffield Hallam University, C4ADS and others)",
        licence=LICENCE,
        url=URL,
        format="FollowTheMoney JSON lines",
        coverage="Official forced-labour lists and research datasets (Xinjiang exposure) as FtM entities.",
        download=download,
        parse=parse,
        options={"datasets": datasets},
    )


def download_datasets(client: httpx.Client, url: str, datasets: tuple[str, ...], previous: Validators) -> Download:
    """Fetch every dataset conditionally; if any changed, re-fetch the unchanged ones in full."""
    urls = {dataset: url.format(dataset=dataset) for dataset in datasets} if "{dataset}" in url else {"data": url}
    etags = _per_file(previous.etag, len(urls))
    stamps = _per_file(previous.last_modified, len(urls))
    files: dict[str, Fetched] = {}
    for (label, address), etag, stamp in zip(urls.items(), etags, stamps, strict=True):
        files[label] = fetch(client, address, etag=etag, last_modified=stamp)
    if not all(f.not_modified for f in files.values()):
        files = {label: fetch(client, urls[label]) if f.not_modified else f for label, f in files.items()}
    return Download(url=url, files=files)


def _per_file(joined: str, count: int) -> list[str]:
    parts = joined.split("\n") if joined else []
    return parts if len(parts) == count else [""] * count


def parse(download: Download) -> Parsed:
    """FtM entities to canonical frames: names, aliases, Chinese names, addresses, sanctions, ownership."""
    rows = pl.concat([_read(label, fetched) for label, fetched in download.files.items()], how="vertical")
    entities, names = frames(rows)
    return Parsed(entities, names, as_of=as_of_date(download))


def _read(label: str, fetched: Fetched) -> pl.DataFrame:
    require_text(fetched.content, f"the OpenSanctions file {fetched.url}")
    try:
        rows = pl.read_ndjson(io.BytesIO(fetched.content), schema=_ROW)
    except Exception as error:
        raise SourceFormatError(
            f"the OpenSanctions file {fetched.url} is not FollowTheMoney JSON lines ({str(error).splitlines()[0]}); "
            "the stored list was kept"
        ) from error
    named = pl.col("schema").is_in(list(ENTITY_SCHEMATA)) & (pl.col("properties").struct.field("name").list.len() > 0)
    if not rows.filter(named).height:
        raise SourceFormatError(
            f"the OpenSanctions file {fetched.url} holds no named entities; the stored list was kept"
        )
    return rows.unnest("properties").with_columns(
        dataset=pl.coalesce(pl.col("datasets").list.first(), pl.lit(label))
    ).drop("datasets")


def frames(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Vectorised mapping of FtM rows (things, Sanction, Ownership, Address) to entities and names."""
    things = rows.filter(pl.col("schema").is_in(list(ENTITY_SCHEMATA)) & pl.col("name").list.len().gt(0))
    if things.is_empty():
        raise SourceFormatError("the OpenSanctions files hold no named entities; the stored list was kept")
    things = things.with_columns(entity_id=entity_ids(NAME, things["dataset"] + "|" + things["id"]))
    sanctions = _sanctions(rows)
    addresses = _address_entities(rows, things)
    known = pl.DataFrame({"dataset": list(DATASETS), "list_name": [v[0] for v in DATASETS.values()],
                          "list_kind": [v[1] for v in DATASETS.values()],
                          "authority": [v[2] for v in DATASETS.values()]})
    entities = (
        things.join(known, on="dataset", how="left")
        .join(sanctions, on="id", how="left")
        .join(addresses, on="id", how="left")
        .select(
            "entity_id",
            source=pl.lit(NAME),
            list_name=pl.coalesce("list_name", pl.lit("OpenSanctions: ") + pl.col("dataset")),
            list_kind=pl.coalesce("list_kind", pl.lit("research")),
            authority=pl.coalesce("authority", pl.lit("OpenSanctions")),
            program=pl.coalesce(
                pl.col("description").list.eval(pl.element().filter(pl.element().str.contains(_ORDER_TYPES))).list.first(),
                pl.format("UFLPA 2(d)(2)(B)({})", pl.col("sanction_program").str.extract(_UFLPA_SECTION, 1)),
                "sanction_program", pl.col("program").list.join("; ").replace("", None), "dataset",
            ),
            entity_type=pl.col("schema").replace_strict(ENTITY_SCHEMATA, default="organization"),
            name=pl.col("name").list.first(),
            country=pl.coalesce(pl.col("country").list.first(), pl.col("jurisdiction").list.first()).str.to_uppercase(),
            addresses=pl.concat_list(pl.col("address").fill_null([]), pl.col("linked_addresses").fill_null([]))
            .list.unique(maintain_order=True).list.join("; "),
            sector=pl.col("sector").list.join("; "),
            status=pl.when(pl.col("dataset").is_in(ORDER_DATASETS) & ~pl.col("topics").list.contains("sanction").fill_null(False))
            .then(pl.lit("inactive")).otherwise(pl.lit("active")),
            start_date="start_date",
            end_date="end_date",
            citation=pl.lit("OpenSanctions ") + pl.col("dataset") + pl.lit(" ") + pl.col("id"),
            remarks=pl.col("notes").list.join(" | "),
            source_url=pl.coalesce(pl.col("sourceUrl").list.first(), "sanction_url",
                                   pl.lit("https://www.opensanctions.org/entities/") + pl.col("id") + pl.lit("/")),
        )
        .unique(subset="entity_id", keep="first", maintain_order=True)
    )
    return canonical_entities(entities), canonical_names(_names(rows, things))


def _sanctions(rows: pl.DataFrame) -> pl.DataFrame:
    """Per sanctioned entity id: programs, earliest start, latest end, first source URL."""
    return (
        rows.filter(pl.col("schema") == "Sanction")
        .select(pl.col("entity").alias("id"), "program", "startDate", "endDate", "sourceUrl")
        .explode("id")
        .group_by("id")
        .agg(
            _values("program").drop_nulls().unique(maintain_order=True).str.join("; ").alias("sanction_program"),
            _dates("startDate").min().alias("start_date"),
            _dates("endDate").max().alias("end_date"),
            _values("sourceUrl").drop_nulls().first().alias("sanction_url"),
        )
        .with_columns(pl.col("sanction_program").replace("", None))
    )


def _values(prop: str) -> pl.Expr:
    """All values of a multi-valued FtM property within a group."""
    return pl.col(prop).list.explode(keep_nulls=False, empty_as_null=False)


def _dates(prop: str) -> pl.Expr:
    """FtM dates (possibly with time or partial) as dates."""
    return _values(prop).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def _address_entities(rows: pl.DataFrame, things: pl.DataFrame) -> pl.DataFrame:
    """Full text of Address entities linked from each thing via addressEntity."""
    full = rows.filter(pl.col("schema") == "Address").select(
        pl.col("id").alias("address_id"), pl.col("full").list.first().alias("full_address")
    )
    return (
        things.select("id", address_id=pl.col("addressEntity")).explode("address_id")
        .join(full, on="address_id", how="inner")
        .group_by("id").agg(pl.col("full_address").drop_nulls().alias("linked_addresses"))
    )


def _names(rows: pl.DataFrame, things: pl.DataFrame) -> pl.DataFrame:
    """Primary name, other listed names and aliases, previous names, and owned companies as subsidiaries."""
    variants = [
        things.select("entity_id", name=pl.col("name").list.first(), kind=pl.lit("primary")),
        things.select("entity_id", name=pl.col("name").list.slice(1), kind=pl.lit("alias")).explode("name"),
        things.select("entity_id", name=pl.col("alias"), kind=pl.lit("alias")).explode("name"),
        things.select("entity_id", name=pl.col("weakAlias"), kind=pl.lit("alias")).explode("name"),
        things.select("entity_id", name=pl.col("previousName"), kind=pl.lit("former")).explode("name"),
    ]
    ownership = (
        rows.filter(pl.col("schema") == "Ownership")
        .select(pl.col("owner").list.first().alias("owner"), pl.col("asset").list.first().alias("asset"))
    )
    all_names = rows.filter(pl.col("name").list.len() > 0).select(
        pl.col("id").alias("asset"), pl.col("name").alias("name")
    ).explode("name")
    owners = things.select(pl.col("id").alias("owner"), "entity_id")
    subsidiaries = ownership.join(owners, on="owner").join(all_names, on="asset").select(
        "entity_id", "name", kind=pl.lit("subsidiary")
    )
    return pl.concat([*variants, subsidiaries], how="vertical").drop_nulls("name")


SOURCE = make_source()
