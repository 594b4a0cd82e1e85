"""trade.gov Consolidated Screening List: 11 US export-control and sanctions lists in one CSV."""

from __future__ import annotations

import datetime as dt
import io

import polars as pl

from sources.base import (
    Download,
    Parsed,
    Source,
    SourceFormatError,
    as_of_date,
    canonical_entities,
    canonical_names,
    entity_ids,
    require_columns,
    require_text,
    single_download,
)

NAME = "csl"
URL = "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv"
REQUIRED = ("source", "name", "type", "programs", "addresses", "start_date", "end_date", "alt_names", "remarks")
OPTIONAL = ("entity_number", "federal_register_notice", "source_list_url", "source_information_url",
            "nationalities", "citizenships", "title")

# CSL `source` value → (list name, authority, short code). Unknown values keep their own text.
LISTS: dict[str, tuple[str, str, str]] = {
    "Entity List (EL) - Bureau of Industry and Security": ("BIS Entity List", "US-BIS", "EL"),
    "Military End User (MEU) List - Bureau of Industry and Security": ("BIS Military End User List", "US-BIS", "MEU"),
    "Unverified List (UVL) - Bureau of Industry and Security": ("BIS Unverified List", "US-BIS", "UVL"),
    "Denied Persons List (DPL) - Bureau of Industry and Security": ("BIS Denied Persons List", "US-BIS", "DPL"),
    "Specially Designated Nationals (SDN) - Treasury Department": ("OFAC SDN List", "US-OFAC", "SDN"),
    "Foreign Sanctions Evaders (FSE) - Treasury Department": ("OFAC Foreign Sanctions Evaders List", "US-OFAC", "FSE"),
    "Sectoral Sanctions Identifications List (SSI) - Treasury Department": ("OFAC SSI List", "US-OFAC", "SSI"),
    "Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department": ("OFAC NS-MBS List", "US-OFAC", "NS-MBS"),
    "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department": (
        "OFAC NS-CMIC List", "US-OFAC", "CMIC"),
    "Capta List (CAP) - Treasury Department": ("OFAC CAPTA List", "US-OFAC", "CAP"),
    "ITAR Debarred (DTC) - State Department": ("DDTC ITAR Debarred List", "US-DDTC", "DTC"),
    "Nonproliferation Sanctions (ISN) - State Department": ("State Nonproliferation Sanctions", "US-ISN", "ISN"),
}
ENTITY_TYPES = {"Individual": "person", "Vessel": "vessel", "Aircraft": "vessel"}
# Lists of people as much as companies whose rows leave `type` empty: an untyped row there naming no organisation
# is a person (BIS Denied Persons, DDTC Debarred, State Nonproliferation).
PERSON_LISTS = ("DPL", "DTC", "ISN")
_ORGANISATION = (
    r"(?i)\b(co|company|corp|corporation|ltd|limited|inc|llc|plc|gmbh|s\.?a|ag|bv|jsc|ooo|pvt|group|holding|holdings|"
    r"industr\w*|international|trading|technolog\w*|institute|university|academy|bureau|ministry|center|centre|"
    r"laborator\w*|factory|enterprises?|services|systems|electronics|aviation|import|export|bank|organi[sz]ation|"
    r"regiment|brigade|army|guard|force|agency|office|department|airlines?|airways|shipping|technik|plan)\b"
)
# "…; and any successor, sub-unit, or subsidiary thereof" ending a name: the listing covers them, the name ends before.
_SUCCESSORS = r"(?i)[;,]?\s*and any successors?,?.*$"


def parse(download: Download) -> Parsed:
    """The CSL CSV as canonical frames: one entity per (list, name), aliases from alt_names."""
    raw = _read(download.files["data"].content)
    return Parsed(*frames(raw, download.url), as_of=as_of_date(download))


def _read(content: bytes) -> pl.DataFrame:
    require_text(content, "the CSL file")
    try:
        raw = pl.read_csv(io.BytesIO(content), infer_schema=False, encoding="utf8-lossy")
    except Exception as error:
        raise SourceFormatError(f"the CSL file is not a readable CSV ({str(error).splitlines()[0]}); "
                                "the stored list was kept") from error
    require_columns(raw.columns, REQUIRED, "the CSL file")
    return raw.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in OPTIONAL if c not in raw.columns])


def frames(raw: pl.DataFrame, url: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Vectorised mapping of CSL rows to the entity and name frames."""
    today = dt.date.today()
    known = pl.DataFrame(
        {"source": list(LISTS), "list_name": [v[0] for v in LISTS.values()],
         "authority": [v[1] for v in LISTS.values()], "code": [v[2] for v in LISTS.values()]}
    )
    rows = (
        raw.with_columns(pl.col(pl.String).str.strip_chars())
        .filter(pl.col("name").fill_null("") != "")
        .join(known, on="source", how="left")
        .with_columns(
            list_name=pl.coalesce("list_name", "source"),
            authority=pl.coalesce("authority", _authority_of(pl.col("source"))),
            start=pl.col("start_date").str.to_date("%Y-%m-%d", strict=False),
            end=pl.col("end_date").str.to_date("%Y-%m-%d", strict=False),
        )
    )
    rows = rows.with_columns(
        covers_successors=pl.col("name").str.contains(_SUCCESSORS),
        name=pl.col("name").str.replace(_SUCCESSORS, "").str.strip_chars(" ;,"),
    )
    # Two different rows with one name on one list (different addresses) are two entities; exact repeats are one.
    twins = pl.struct("list_name", "name").is_duplicated() & ~pl.struct("list_name", "name", "addresses").is_duplicated()
    key = pl.concat_str([pl.col("list_name"), pl.col("name"), pl.when(twins).then(pl.col("addresses"))],
                        separator="|", ignore_nulls=True)
    rows = rows.with_columns(entity_id=entity_ids(NAME, rows.select(key.alias("key"))["key"]))
    entities = rows.select(
        "entity_id",
        source=pl.lit(NAME),
        list_name="list_name",
        list_kind=pl.lit("legal"),
        authority="authority",
        program=pl.coalesce(pl.col("programs").replace("", None), "code", pl.lit("")),
        entity_type=pl.when(pl.col("type").fill_null("").eq("") & pl.col("code").is_in(PERSON_LISTS)
                            & ~pl.col("name").str.contains(_ORGANISATION))
        .then(pl.lit("person")).otherwise(pl.col("type").replace_strict(ENTITY_TYPES, default="organization")),
        name="name",
        country=_country(),
        addresses=pl.col("addresses").fill_null(""),
        status=pl.when(pl.col("end") < today).then(pl.lit("inactive")).otherwise(pl.lit("active")),
        start_date="start",
        end_date="end",
        citation=pl.col("federal_register_notice").fill_null(""),
        remarks=pl.concat_str([pl.col("title"), pl.col("remarks")], separator="; ", ignore_nulls=True),
        source_url=pl.coalesce(pl.col("source_information_url"), pl.col("source_list_url"), pl.lit(url)),
        includes_affiliates=pl.col("remarks").fill_null("").str.contains(r"(?i)subsidiar|affiliate")
        | pl.col("covers_successors"),
    ).unique(subset="entity_id", keep="first", maintain_order=True)
    if entities.is_empty():
        raise SourceFormatError("the CSL file has no named entries; the stored list was kept")
    names = pl.concat([
        rows.select("entity_id", "name", kind=pl.lit("primary")),
        rows.select("entity_id", name=pl.col("alt_names").str.split(";"), kind=pl.lit("alias")).explode("name")
        .with_columns(pl.col("name").str.strip_chars().str.replace(r"(?i)^and\s+", "")),
    ])
    return canonical_entities(entities), canonical_names(names)


def _authority_of(source: pl.Expr) -> pl.Expr:
    return (
        pl.when(source.str.contains("Bureau of Industry and Security")).then(pl.lit("US-BIS"))
        .when(source.str.contains("Treasury")).then(pl.lit("US-OFAC"))
        .when(source.str.contains("State Department")).then(pl.lit("US-STATE"))
        .otherwise(pl.lit("US"))
    )


def _country() -> pl.Expr:
    """ISO code ending the first address that has one (`street, city, state, postcode, CC`; multi-address rows
    join addresses with "; and" and code only the last), else the first nationality."""
    from_address = (
        pl.col("addresses").str.split(";")
        .list.eval(pl.element().str.extract(r",\s*([A-Z]{2})\s*$")).list.drop_nulls().list.first()
    )
    from_person = pl.coalesce(pl.col("nationalities"), pl.col("citizenships")).str.extract(r"^\s*([A-Z]{2})\b")
    return pl.coalesce(from_address, from_person, pl.lit(""))


SOURCE = Source(
    name=NAME,
    title="Consolidated Screening List",
    publisher="US International Trade Administration (trade.gov)",
    licence="US Government work, public domain",
    url=URL,
    format="CSV",
    coverage="11 US export-control and sanctions lists, incl. the BIS Entity List and the OFAC SDN List (GLOMAG).",
    download=single_download,
    parse=parse,
)
