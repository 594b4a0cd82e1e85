"""Build the embedded snapshot in data/ from the compiled reference facts (CSV, one source URL per row).

Usage: python scripts/build_data.py [--reference DIR] [--out DIR] [--additions DIR]

Facts found after the reference was compiled live in scripts/reference_additions/ (same columns as the
reference file they extend, one source URL per row) and are always merged from the repository; `corrections.csv`
there changes, renames or drops compiled rows (one cited change per row).

Every entity is cited to an official source (Federal Register, DHS, CBP, Treasury, BIS/eCFR, EU Official Journal,
UK and Canadian government pages): secondary reports that confirmed a fact are named in the remarks, not as the
entity's source URL.

The output is deterministic: rebuilding from the same reference files rewrites the same bytes
(the manifest keeps its `built_at` while no data file changes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from screener.schema import ENTITY_SCHEMA, NAME_KINDS, NAME_SCHEMA, conform, entity_id, validate_frames  # noqa: E402

UFLPA_URL = "https://www.dhs.gov/uflpa-entity-list"
CBP_URL = "https://www.cbp.gov/newsroom/stats/trade/forced-labor/withhold-release-orders-and-findings"
FR_DOCUMENT_URL = "https://www.federalregister.gov/d/{}"
# Where an entity's facts are official: publishers' and official journals' domains (an official copy counts).
OFFICIAL_DOMAINS = (
    r"^https?://([a-z0-9-]+\.)*(federalregister\.gov|govinfo\.gov|dhs\.gov|cbp\.gov|treasury\.gov|treas\.gov|bis\.gov"
    r"|bis\.doc\.gov|ecfr\.gov|congress\.gov|eur-lex\.europa\.eu|gov\.uk|legislation\.gov\.uk|gazette\.gc\.ca"
    r"|laws-lois\.justice\.gc\.ca|canada\.ca|international\.gc\.ca|content\.govdelivery\.com)(/|$)"
)
# The official page of each sanctions authority's list, for rows whose compiled sources are all secondary.
AUTHORITY_URLS = {
    "US-BIS": "https://www.ecfr.gov/current/title-15/part-744/appendix-Supplement%20No.%204%20to%20Part%20744",
    "US-OFAC": "https://sanctionssearch.ofac.treas.gov/",
    "EU": "https://eur-lex.europa.eu/eli/reg_impl/2021/478/oj",
    "UK": "https://www.gov.uk/government/publications/financial-sanctions-consolidated-list-of-targets",
    "CA": "https://laws-lois.justice.gc.ca/eng/regulations/SOR-2021-49/",
}
SANCTIONS_URL = (
    "https://www.ecfr.gov/current/title-15/part-744/appendix-Supplement%20No.%204%20to%20Part%20744 | "
    "https://sanctionssearch.ofac.treas.gov/ | "
    "https://eur-lex.europa.eu/eli/dec/2021/481/oj | "
    "https://www.gov.uk/government/publications/financial-sanctions-consolidated-list-of-targets | "
    "https://laws-lois.justice.gc.ca/eng/regulations/SOR-2021-49/"
)
US_LICENCE = (
    "Works of the US federal government, in the public domain in the US (17 U.S.C. 105); "
    "facts confirmed from secondary reports are cited per row."
)
SANCTIONS_LICENCE = (
    "US BIS and OFAC publications are US government works in the public domain (17 U.S.C. 105); "
    "EU legal acts may be reused under the EUR-Lex reuse policy (Commission Decision 2011/833/EU); "
    "UK OFSI data is under the Open Government Licence v3.0; Canadian regulations may be reproduced "
    "under the Reproduction of Federal Law Order and Canadian open data is under the Open Government "
    "Licence - Canada."
)
# DHS's own running total of entries (named subsidiaries counted) after its latest notice, and that notice.
UFLPA_TOTAL = (187, "2026-08-03", "2026-15628")
ADDITIONS = REPO / "scripts" / "reference_additions"
ADDITION_FILES = {
    "uflpa_entity_list.csv": "uflpa_additions.csv",
    "cbp_wro_findings.csv": "cbp_wro_additions.csv",
    "chinese_names.csv": "chinese_names_additions.csv",
}
CORRECTIONS_FILE = "corrections.csv"
CORRECTION_COLUMNS = ["file", "name", "effective_date", "field", "value", "source_url", "note"]
# Fields a correction may set besides a reference file's own columns: `drop` removes the row; `until` ends the row's
# listing (e.g. a section the entity moved out of); `former_names` adds names the entry was formerly known as. A
# corrected `name` keeps the old one as a former name and as the key of the entity id, so a renaming keeps the id.
CORRECTION_FIELDS = ("drop", "until", "former_names")
# Entries DHS announced per UFLPA notice where the compiled facts are known to be short (rows incl. re-listings).
UFLPA_ANNOUNCED = {
    "2024-05-17": (26, "https://www.tuttlelaw.com/newsletters/2024/5-16-24_uflpa_update.html"),
    "2024-11-25": (30, "https://www.barnesrichardson.com/significant-additions-to-uflpa-list"),
    "2026-08-03": (43, "https://www.dhs.gov/news/2026/07/31/dhs-announces-addition-43-companies-uflpa-entity-list"),
}

SANCTIONS_LIST_NAMES = {
    ("US-BIS", "Entity List"): "BIS Entity List",
    ("US-OFAC", "SDN"): "OFAC SDN List",
    ("US-OFAC", "Non-SDN Chinese Military-Industrial Complex Companies List (NS-CMIC)"): "OFAC NS-CMIC List",
    ("EU", "EU Global Human Rights Sanctions Regime"): "EU sanctions (Xinjiang, March 2021)",
    ("UK", "OFSI Consolidated List of Financial Sanctions Targets (Global Human Rights)"): "UK sanctions (Global Human Rights)",
    ("CA", "Special Economic Measures (People's Republic of China) Regulations schedule"): "Canada SEMA (China) Regulations",
}
COUNTRY_CODES = {"China": "CN"}
CONFIDENCE_NOTES = {
    "high": "Source confidence: high (seen in official text).",
    "medium": "Source confidence: medium (reputable secondary source).",
    "secondary": (
        "Source confidence: secondary only (named by secondary sources that cite the official notice; "
        "the notice itself was not seen)."
    ),
}
# Alias cells that describe the listing rather than name the entity.
AFFILIATE_ALIAS = r"(?i)^and\b"
DESCRIPTIVE_ALIAS = r"(?i)^(and\b|subsidiary of\b|region-wide$)|\bsubsidiary$"
ALIAS_NOTE = r"\s*\(address covered by the entry\)$"
CJK = r"[\p{Han}]"


def read_reference(path: Path) -> pl.DataFrame:
    """A reference CSV with every column a stripped string; blank cells null."""
    if not path.is_file():
        raise SystemExit(f"reference file {path} is missing; pass --reference DIR")
    frame = pl.read_csv(path, infer_schema=False)
    return frame.with_columns(pl.all().str.strip_chars().replace("", None))


def read_with_additions(reference: Path, additions: Path, file_name: str) -> tuple[pl.DataFrame, int]:
    """A reference file plus its rows in the additions folder (rows already in the reference dropped)."""
    ref = read_reference(reference / file_name)
    if file_name not in ADDITION_FILES or not (additions / ADDITION_FILES[file_name]).is_file():
        return ref, 0
    path = additions / ADDITION_FILES[file_name]
    extra = read_reference(path)
    if extra.columns != ref.columns:
        raise SystemExit(f"{path} must have the columns of {file_name}: {', '.join(ref.columns)}")
    uncited = extra.filter(~pl.col("source_url").fill_null("").str.contains("^https?://"))
    if not uncited.is_empty():
        raise SystemExit(f"{path}: every row needs a source_url (first uncited: {uncited['name'][0]!r})")
    extra = extra.join(ref, on=ref.columns, how="anti", nulls_equal=True, maintain_order="left")
    return pl.concat([ref, extra]), extra.height


def read_list_facts(reference: Path, additions: Path, file_name: str) -> tuple[pl.DataFrame, int]:
    """A list's reference rows, its additions and its corrections applied."""
    frame, added = read_with_additions(reference, additions, file_name)
    return apply_corrections(frame, read_corrections(additions), file_name), added


def read_corrections(additions: Path) -> pl.DataFrame:
    """The cited corrections to compiled rows (none when the file is absent)."""
    path = additions / CORRECTIONS_FILE
    if not path.is_file():
        return pl.DataFrame(schema=dict.fromkeys(CORRECTION_COLUMNS, pl.String))
    corrections = read_reference(path)
    if corrections.columns != CORRECTION_COLUMNS:
        raise SystemExit(f"{path} must have the columns {', '.join(CORRECTION_COLUMNS)}")
    uncited = corrections.filter(~pl.col("source_url").fill_null("").str.contains("^https?://"))
    if not uncited.is_empty():
        raise SystemExit(f"{path}: every correction needs a source_url (first uncited: {uncited['name'][0]!r})")
    return corrections


def apply_corrections(frame: pl.DataFrame, corrections: pl.DataFrame, file_name: str) -> pl.DataFrame:
    """The rows with this file's corrections applied, plus the columns until, former_names, listed_as, corrected."""
    frame = frame.with_columns(
        until=pl.lit(None, pl.String), former_names=pl.lit(None, pl.String),
        listed_as=pl.lit(None, pl.String), corrected=pl.lit(None, pl.String),
    )
    for fix in corrections.filter(pl.col("file") == file_name).iter_rows(named=True):
        target = name_key() == " ".join(_fold(fix["name"]).split())
        if fix["effective_date"]:
            target = target & (pl.col("effective_date") == fix["effective_date"])
        if frame.filter(target).is_empty():
            raise SystemExit(f"{CORRECTIONS_FILE}: no row of {file_name} named {fix['name']!r} to correct")
        field = fix["field"]
        if field not in (*frame.columns, *CORRECTION_FIELDS) or field in ("listed_as", "corrected"):
            raise SystemExit(f"{CORRECTIONS_FILE}: {file_name} has no field {field!r} to correct")
        note = f"{fix['note'] or 'Corrected'} ({fix['source_url']})."
        changes = {"corrected": join_notes(pl.col("corrected"), pl.lit(note))}
        if field == "name":
            changes |= {
                "listed_as": pl.col("listed_as").fill_null(pl.col("name")),
                "former_names": pl.concat_str([pl.col("former_names"), pl.col("name")], separator="; ", ignore_nulls=True),
            }
        if field != "drop":
            changes[field] = pl.lit(fix["value"], pl.String)
        frame = frame.with_columns(pl.when(target).then(value).otherwise(pl.col(column)).alias(column)
                                   for column, value in changes.items())
        if field == "drop":
            frame = frame.filter(~target)
    return frame


def _fold(text: str) -> str:
    """A name folded as name_key() folds a column."""
    return pl.select(pl.lit(text).alias("name")).select(name_key())[0, 0]


def official_urls(column: str = "source_url") -> pl.Expr:
    """The official URLs among a ` | `-separated source URL cell, joined again (null when none is official)."""
    return (
        pl.col(column).str.split(" | ").list.eval(pl.element().filter(pl.element().str.contains(OFFICIAL_DOMAINS)))
        .list.join(" | ").replace("", None)
    )


def secondary_urls(column: str = "source_url") -> pl.Expr:
    """A remark naming the secondary reports among the source URLs (null when all are official)."""
    urls = (
        pl.col(column).str.split(" | ").list.eval(pl.element().filter(~pl.element().str.contains(OFFICIAL_DOMAINS)))
        .list.join(" | ").replace("", None)
    )
    return pl.format("Facts confirmed from secondary reports: {}.", urls)


def name_key(column: str = "name") -> pl.Expr:
    """A name folded for joining spellings of one name: lower case, punctuation and spacing ignored."""
    return pl.col(column).str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()


def with_ids(frame: pl.DataFrame, source: str, key: pl.Expr) -> pl.DataFrame:
    """Add the stable entity_id computed from `key`."""
    keys = frame.select(key.alias("key"))["key"].to_list()
    return frame.with_columns(entity_id=pl.Series([entity_id(source, k) for k in keys], dtype=pl.String))


def join_notes(*parts: pl.Expr) -> pl.Expr:
    """Join non-null text pieces with a space; null when all are null."""
    return pl.concat_str(list(parts), separator=" ", ignore_nulls=True).replace("", None)


def confidence_note(column: str = "confidence") -> pl.Expr:
    return pl.col(column).replace_strict(CONFIDENCE_NOTES, default=None, return_dtype=pl.String)


def split_names(frame: pl.DataFrame, column: str, kind: str, separator: str = ";") -> pl.DataFrame:
    """One names row per `separator`-separated value of `column`, dropping descriptive cells."""
    return (
        frame.select("entity_id", name=pl.col(column).str.split(separator))
        .explode("name")
        .with_columns(pl.col("name").str.replace(ALIAS_NOTE, "").str.strip_chars())
        .filter(pl.col("name").is_not_null() & (pl.col("name") != "") & ~pl.col("name").str.contains(DESCRIPTIVE_ALIAS))
        .with_columns(kind=pl.lit(kind))
    )


def descriptive_aliases(column: str = "aliases") -> pl.Expr:
    """The alias cells that describe the listing (kept as a remark), joined."""
    return (
        pl.col(column).str.split(";").list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element().str.contains(DESCRIPTIVE_ALIAS)))
        .list.join("; ").replace("", None)
    )


def lists_affiliates(column: str = "aliases") -> pl.Expr:
    """The listing covers subsidiaries or affiliates ("and its subsidiaries" in an alias cell)."""
    return pl.col(column).str.split(";").list.eval(pl.element().str.strip_chars().str.contains(AFFILIATE_ALIAS)).list.any().fill_null(False)


def finish_names(entities: pl.DataFrame, extra: list[pl.DataFrame]) -> pl.DataFrame:
    """Primary names plus the other variants: language by script, one row per (entity, name) keeping the strongest kind."""
    primary = entities.select("entity_id", "name", kind=pl.lit("primary"))
    names = pl.concat([primary, *[frame.select("entity_id", "name", "kind") for frame in extra]])
    order = {kind: rank for rank, kind in enumerate(NAME_KINDS)}
    names = (
        names.with_columns(
            lang=pl.when(pl.col("name").str.contains(CJK)).then(pl.lit("zh")).otherwise(pl.lit("en")),
            rank=pl.col("kind").replace_strict(order, return_dtype=pl.Int32),
            entity_order=pl.col("entity_id").replace_strict(
                entities["entity_id"], pl.int_range(entities.height, eager=True), return_dtype=pl.Int64
            ),
        )
        .with_columns(fold=pl.col("name").str.to_lowercase().str.replace_all(r"\s+", " "))
        .sort("entity_order", "rank", maintain_order=True)
        .unique(["entity_id", "fold"], keep="first", maintain_order=True)
    )
    return conform(names, NAME_SCHEMA, "names")


def build_uflpa(ref: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """UFLPA Entity List: one entity per listed name (spellings differing only in punctuation are one entity);
    an entity listed twice keeps both sections, its earliest date as start and its primary name as first listed.
    A section the entity left (`until`) stays in the remarks and the start date but not in the program; a renamed
    entity keeps the id of the name it was first listed under."""
    notice = pl.col("fr_document").is_not_null()
    rows = ref.sort("effective_date", "section", nulls_last=True, maintain_order=True).with_columns(
        program=pl.when(pl.col("section").is_not_null())
        .then(pl.format("UFLPA 2(d)(2)(B)({})", pl.col("section")))
        .otherwise(pl.lit("UFLPA Entity List")),
        citation=pl.when(notice).then(pl.format("Federal Register {}", pl.col("fr_document"))).otherwise(
            pl.format("Federal Register notice effective {} (document number not confirmed)", pl.col("effective_date"))
        ),
        official_url=pl.coalesce(
            pl.when(notice).then(pl.format(FR_DOCUMENT_URL, pl.col("fr_document"))), official_urls(), pl.lit(UFLPA_URL)
        ),
        listing=pl.format(
            "section ({}) effective {}{}{}",
            pl.col("section").fill_null("not stated"),
            pl.col("effective_date"),
            pl.when(pl.col("until").is_not_null()).then(pl.format(" until {}", pl.col("until"))).otherwise(pl.lit("")),
            pl.when(notice).then(pl.format(", Federal Register {}", pl.col("fr_document"))).otherwise(pl.lit("")),
        ),
    )
    current = pl.col("until").is_null()
    merged = rows.group_by(name_key().alias("merge_key"), maintain_order=True).agg(
        pl.col("name").first(),
        pl.col("listed_as").drop_nulls().first(),
        pl.col("name").unique(maintain_order=True).alias("spellings"),
        pl.when(current.any()).then(pl.col("program").filter(current)).otherwise(pl.col("program"))
        .unique().sort().str.join("; "),
        pl.col("effective_date").min().alias("start_date"),
        pl.col("citation").unique(maintain_order=True).str.join("; "),
        pl.col("official_url").unique(maintain_order=True).str.join(" | ").alias("official"),
        pl.col("source_url").unique(maintain_order=True).str.join(" | "),
        pl.col("sector").unique(maintain_order=True).str.join("; "),
        pl.col("aliases").drop_nulls().unique(maintain_order=True).str.join("; ").replace("", None),
        pl.col("subsidiaries").drop_nulls().unique(maintain_order=True).str.join("; ").replace("", None),
        pl.col("former_names").drop_nulls().unique(maintain_order=True).str.join("; ").replace("", None),
        pl.col("corrected").drop_nulls().unique(maintain_order=True).str.join(" ").replace("", None),
        pl.col("listing"),
        pl.col("section").is_null().all().alias("section_unknown"),
        pl.col("fr_document").is_null().all().alias("fr_unknown"),
        pl.col("confidence").first(),
    )
    entities = with_ids(merged, "uflpa", pl.coalesce("listed_as", "name")).with_columns(
        source=pl.lit("uflpa"),
        list_name=pl.lit("UFLPA Entity List"),
        list_kind=pl.lit("legal"),
        authority=pl.lit("US-DHS"),
        entity_type=pl.lit("organization"),
        country=pl.lit("CN"),
        addresses=pl.lit(None, pl.String),
        merchandise=pl.lit(None, pl.String),
        status=pl.lit("active"),
        end_date=pl.lit(None, pl.String),
        includes_affiliates=pl.col("subsidiaries").is_not_null(),
        remarks=join_notes(
            pl.when((pl.col("listing").list.len() > 1) | pl.col("listing").list.join("").str.contains(" until ")).then(
                pl.format("Listed more than once: {}.", pl.col("listing").list.join("; "))
            ),
            pl.when(pl.col("spellings").list.len() > 1).then(
                pl.format("Also listed as \"{}\".", pl.col("spellings").list.slice(1).list.join("\"; \""))
            ),
            pl.col("corrected"),
            pl.when(pl.col("section_unknown")).then(
                pl.lit("Statutory section (i)-(v) not stated in the compiled sources; program left as the list name.")
            ),
            pl.when(pl.col("fr_unknown")).then(pl.lit("Federal Register document number not confirmed in the compiled sources.")),
            pl.when(pl.col("subsidiaries").str.contains("(?i)not individually named")).then(
                pl.lit("Listed together with its subsidiaries, which are not individually named.")
            ),
            secondary_urls(),
            confidence_note(),
        ),
    ).with_columns(source_url=pl.col("official"))
    extra = [
        entities.select("entity_id", name=pl.col("spellings").list.slice(1)).explode("name").drop_nulls().with_columns(kind=pl.lit("alias")),
        split_names(entities, "aliases", "alias"),
        split_names(entities.with_columns(pl.col("subsidiaries").str.replace(r"(?i)^subsidiaries \(not individually named\)$", "")), "subsidiaries", "subsidiary"),
        split_names(entities, "former_names", "former"),
    ]
    return entities, extra


def build_cbp(ref: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """CBP Withhold Release Orders and Findings: one entity per order.

    An order CBP revoked, found inactive or modified (so that the goods are admitted again) ends on that date;
    "partially active" stays in force for what it still covers."""
    rows = with_ids(
        ref, "cbp_wro",
        pl.concat_str([pl.col("entity"), pl.col("order_type"), pl.col("effective_date").fill_null("")], separator="|"),
    )
    status = pl.col("status").str.to_lowercase()
    decisions = pl.col("remarks").str.extract_all(r"T\.D\. ?\d+|CBP Dec\. ?\d+-\d+").list.unique(maintain_order=True).list.join("; ")
    entities = rows.with_columns(
        source=pl.lit("cbp_wro"),
        list_name=pl.lit("CBP Withhold Release Orders and Findings"),
        list_kind=pl.lit("legal"),
        authority=pl.lit("US-CBP"),
        program=pl.col("order_type"),
        entity_type=pl.when(pl.col("entity").str.contains(r"(?i)^fishing vessel:")).then(pl.lit("vessel")).otherwise(pl.lit("organization")),
        name=pl.col("entity"),
        country=pl.col("country_code"),
        addresses=pl.lit(None, pl.String),
        sector=pl.col("industry"),
        status=status,
        start_date=pl.col("effective_date"),
        end_date=pl.when(status.is_in(["revoked", "inactive", "modified"])).then(pl.col("modified_or_revoked_date")),
        citation=join_notes(
            pl.format("CBP {} effective {}", pl.col("order_type"), pl.col("effective_date").fill_null("(date not recorded)")),
            pl.format("({})", decisions.replace("", None)),
        ),
        includes_affiliates=lists_affiliates(),
        remarks=join_notes(
            pl.col("remarks"),
            pl.when(status.eq("partially active") & pl.col("modified_or_revoked_date").is_not_null()).then(
                pl.format("Modified on {}; still in force for the goods it covers.", pl.col("modified_or_revoked_date"))
            ),
            pl.when(status.eq("modified") & pl.col("modified_or_revoked_date").is_not_null()).then(
                pl.format("Modified on {}: the goods are admitted again, so the order is no longer in force.",
                          pl.col("modified_or_revoked_date"))
            ),
            pl.when(pl.col("status").is_null()).then(pl.lit("Status not recorded in the compiled sources.")),
            pl.when(pl.col("effective_date").is_null()).then(pl.lit("Effective date not recorded in the compiled sources.")),
            pl.format("Listed as: {}.", descriptive_aliases()),
            secondary_urls(),
            confidence_note(),
        ),
        source_url=pl.coalesce(official_urls(), pl.lit(CBP_URL)),
    )
    return entities, [split_names(entities, "aliases", "alias")]


def build_sanctions(ref: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Xinjiang-related export controls and sanctions: one entity per (name, authority, list)."""
    unknown = set(ref["country"].drop_nulls().unique().to_list()) - set(COUNTRY_CODES)
    if unknown:
        raise SystemExit(f"sanctions reference has countries without an ISO code here: {', '.join(sorted(unknown))}")
    rows = with_ids(ref, "sanctions", pl.concat_str([pl.col("name"), pl.col("authority"), pl.col("list")], separator="|"))
    list_names = pl.struct("authority", "list").map_elements(
        lambda row: SANCTIONS_LIST_NAMES.get((row["authority"], row["list"]), f"{row['authority']} {row['list']}"),
        return_dtype=pl.String,
    )
    removed = pl.col("date_removed").is_not_null()
    entities = rows.with_columns(
        source=pl.lit("sanctions"),
        list_name=list_names,
        list_kind=pl.lit("legal"),
        country=pl.col("country").replace_strict(COUNTRY_CODES, default=None),
        addresses=pl.col("address"),
        sector=pl.lit(None, pl.String),
        merchandise=pl.lit(None, pl.String),
        status=pl.when(removed).then(pl.lit("inactive")).otherwise(pl.lit("active")),
        start_date=pl.col("date_listed"),
        end_date=pl.col("date_removed"),
        citation=pl.col("fr_citation_or_release"),
        includes_affiliates=lists_affiliates(),
        remarks=join_notes(
            pl.col("reason"),
            pl.when(removed).then(pl.format("Removed from the list on {}.", pl.col("date_removed"))),
            pl.format("Listed as: {}.", descriptive_aliases()),
            secondary_urls(),
            confidence_note(),
        ),
        source_url=pl.coalesce(
            pl.format(FR_DOCUMENT_URL, pl.col("fr_citation_or_release").str.extract(r"(?:FR Doc\.?|Federal Register) ?(\d{4}-\d{5})")),
            official_urls(),
            pl.col("authority").replace_strict(AUTHORITY_URLS, default=None),
        ),
    )
    return entities, [split_names(entities, "aliases", "alias")]


def chinese_names(rows: pl.DataFrame, names: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Chinese-script and pinyin variants joined on a listed name (taking that name's kind, primary becoming alias).

    Returns (names, a Chinese-name source note per entity, the rows that name no listed entity).
    """
    fold = name_key()
    rows = rows.with_columns(fold=fold)
    keys = (
        names.filter(pl.col("lang") == "en").with_columns(fold=fold)
        .select("entity_id", "fold", listed_kind=pl.col("kind").replace("primary", "alias"))
        .unique(["entity_id", "fold"], maintain_order=True)
    )
    unjoined = rows.join(keys, on="fold", how="anti").select("list_file", "name")
    joined = rows.filter(pl.col("name_zh").is_not_null() | pl.col("name_zh_alternates").is_not_null()).join(
        keys, on="fold", how="inner", maintain_order="left"
    )
    variants = pl.concat([
        joined.select("entity_id", "listed_kind", name=pl.col("name_zh")),
        joined.select("entity_id", "listed_kind", name=pl.col("name_zh_alternates").str.split(";")).explode("name"),
        joined.select("entity_id", "listed_kind", name=pl.col("pinyin")),
    ])
    variants = (
        variants.with_columns(pl.col("name").str.strip_chars())
        .filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
        .select("entity_id", "name", kind=pl.col("listed_kind"))
    )
    sources = joined.filter(pl.col("source_url").is_not_null()).select("entity_id", "source_url")
    return variants, sources, unjoined


def assemble(source: str, entities: pl.DataFrame, extra: list[pl.DataFrame], zh: pl.DataFrame, list_file: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Canonical entity and name frames of one list, with its Chinese names; also the unjoined Chinese-name rows."""
    base_names = finish_names(entities, extra)
    own = zh.filter(pl.col("list_file") == list_file)
    own_names, own_sources, unjoined = chinese_names(own, base_names)
    # A Chinese name given on another list for one of this entity's primary or former names applies here too (a
    # renamed listing keeps the Chinese name of its former name, as a former name).
    other = zh.filter(pl.col("list_file") != list_file)
    other_names, other_sources, _ = chinese_names(other, base_names.filter(pl.col("kind").is_in(["primary", "former"])))
    zh_names = pl.concat([own_names, other_names])
    zh_sources = pl.concat([own_sources, other_sources]).group_by("entity_id", maintain_order=True).agg(
        zh_note=pl.format("Chinese name per {}.", pl.col("source_url").unique(maintain_order=True).str.join(" | ")).first()
    )
    entities = entities.join(zh_sources, on="entity_id", how="left", maintain_order="left").with_columns(
        remarks=join_notes(pl.col("remarks"), pl.col("zh_note"))
    )
    dates = [pl.col(column).cast(pl.String).str.to_date("%Y-%m-%d") for column in ("start_date", "end_date")]
    entities = conform(entities.with_columns(dates), ENTITY_SCHEMA, f"{source} entities")
    names = finish_names(entities, [*extra, zh_names])
    validate_frames(entities, names)
    return entities, names, unjoined


def compiled_from(file_name: str, rows: int, added: int) -> str:
    additions = f", {added} of them from scripts/reference_additions/{ADDITION_FILES[file_name]}" if added else ""
    return f"{file_name} ({rows} rows{additions}, one source URL per row, kept in source_url)"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_list(out: Path, source: str, entities: pl.DataFrame, names: pl.DataFrame) -> dict[str, str]:
    """Write the two CSVs of one list; return {relative path: sha256}."""
    lists = out / "lists"
    lists.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, frame in (("entities", entities), ("names", names)):
        path = lists / f"{source}_{kind}.csv"
        frame.write_csv(path, date_format="%Y-%m-%d", line_terminator="\n")
        files[path.relative_to(out).as_posix()] = sha256_file(path)
    return files


def list_digest(files: dict[str, str]) -> str:
    """One checksum for a list: sha256 over its files' names and checksums."""
    return hashlib.sha256("".join(f"{name}:{digest}\n" for name, digest in sorted(files.items())).encode()).hexdigest()


def as_of(entities: pl.DataFrame) -> str:
    """The latest date of any row of the list."""
    return str(max(d for d in (entities["start_date"].max(), entities["end_date"].max()) if d is not None))


def uflpa_shortfalls(ref: pl.DataFrame) -> str:
    """The notices whose compiled rows fall short of the entries DHS announced, e.g. "22 of the 26 entries of 2024-05-17"."""
    rows = dict(ref.group_by("effective_date").len().iter_rows())
    short = [
        f"{rows.get(date, 0)} of the {total} entries of {date}"
        for date, (total, _url) in sorted(UFLPA_ANNOUNCED.items())
        if rows.get(date, 0) < total
    ]
    return f" Known gaps: the compiled sources name {', '.join(short)}." if short else ""


def coverage(source: str, entities: pl.DataFrame, ref: pl.DataFrame, list_as_of: str) -> str:
    """One honest sentence on what the list covers."""
    if source == "uflpa":
        subsidiaries = (
            ref.select(pl.col("subsidiaries").str.split(";").explode().str.strip_chars()).drop_nulls()
            .filter(~pl.col("subsidiaries").str.contains("(?i)not individually named")).unique().height
        )
        secondary = ref.filter(pl.col("confidence") == "secondary")["name"].unique(maintain_order=True).to_list()
        total, date, document = UFLPA_TOTAL
        return (
            f"UFLPA: {entities.height} entities and {subsidiaries} named subsidiaries, i.e. "
            f"{entities.height + subsidiaries} of the {total} entries DHS lists after its notice of {date} "
            f"(Federal Register {document}; DHS counts named subsidiaries as entries); run `screener ingest uflpa` "
            f"for the complete current list.{uflpa_shortfalls(ref)}"
            + (f" Resting on secondary sources only (the notice itself not seen): {'; '.join(secondary).rstrip('.')}." if secondary else "")
        )
    if source == "cbp_wro":
        unknown = entities["status"].null_count()
        return (
            f"CBP: {entities.height} Withhold Release Orders and Findings, all countries, {entities['start_date'].min()} "
            f"to {list_as_of}; {unknown} older orders have no confirmed status and it is a compilation, not CBP's "
            "complete dataset (effective dates are those of CBP's announcements, which can differ from its dataset's); "
            "run `screener ingest cbp_wro` for the current list."
        )
    counts = entities.group_by("list_name", maintain_order=True).len()
    parts = ", ".join(f"{n} {name}" for name, n in counts.iter_rows())
    return (
        f"Sanctions: only Xinjiang-related designations ({parts}); not the full lists, which `screener ingest` "
        "fetches (Consolidated Screening List, OpenSanctions)."
    )


LISTS = {
    "uflpa": ("uflpa_entity_list.csv", "DHS UFLPA Entity List", UFLPA_URL, US_LICENCE, build_uflpa),
    "cbp_wro": ("cbp_wro_findings.csv", "CBP Withhold Release Orders and Findings", CBP_URL, US_LICENCE, build_cbp),
    "sanctions": (
        "xinjiang_sanctions_export_controls.csv",
        "Xinjiang-related sanctions and export controls (BIS Entity List, OFAC SDN and NS-CMIC, EU, UK, Canada)",
        SANCTIONS_URL, SANCTIONS_LICENCE, build_sanctions,
    ),
}


def build(reference: Path, out: Path, additions: Path = ADDITIONS) -> dict[str, object]:
    """Write every list, the gazetteer and the manifest; return the manifest."""
    zh, _ = read_with_additions(reference, additions, "chinese_names.csv")
    built, unjoined_all = [], []
    for source, (file_name, title, url, licence, builder) in LISTS.items():
        ref, added = read_list_facts(reference, additions, file_name)
        entities, names, unjoined = assemble(source, *builder(ref), zh, file_name)
        unjoined_all.append(unjoined)
        list_as_of = as_of(entities)
        entry = {
            "source": source, "title": title, "as_of": list_as_of, "url": url, "licence": licence,
            "coverage": coverage(source, entities, ref, list_as_of),
            "compiled_from": compiled_from(file_name, ref.height, added),
            "entities": entities.height, "names": names.height,
        }
        built.append((entry, entities, names))
    entries = []
    for entry, entities, names in built:
        files = write_list(out, entry["source"], entities, names)
        entries.append({**entry, "sha256": list_digest(files), "files": files})
    gazetteer = out / "gazetteer" / "xuar_places.csv"
    gazetteer.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(reference / "xuar_places.csv", gazetteer)
    manifest = {
        "format": 1,
        "built_at": None,
        "lists": entries,
        "gazetteer": {
            "title": "XUAR place names (region, prefectures, counties, XPCC cities and divisions)",
            "rows": pl.read_csv(gazetteer, infer_schema=False).height,
            "columns": pl.read_csv(gazetteer, infer_schema=False, n_rows=0).columns,
            "licence": "Compiled from public geographic facts; names of places are not subject to copyright.",
            "files": {gazetteer.relative_to(out).as_posix(): sha256_file(gazetteer)},
        },
    }
    manifest["built_at"] = built_at(out / "manifest.json", manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    report_unjoined(pl.concat(unjoined_all))
    return manifest


def built_at(manifest_path: Path, manifest: dict[str, object]) -> str:
    """The previous build time when nothing changed (a deterministic rebuild), else now."""
    if manifest_path.is_file():
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        if {**previous, "built_at": None} == manifest:
            return previous["built_at"]
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def report_unjoined(unjoined: pl.DataFrame) -> None:
    for list_file, name in unjoined.iter_rows():
        print(f"warning: chinese_names.csv row for {name!r} ({list_file}) names no listed entity", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=REPO.parent / "shared" / "reference")
    parser.add_argument("--out", type=Path, default=REPO / "data")
    parser.add_argument("--additions", type=Path, default=ADDITIONS, help="facts found after the reference (default: the repo's)")
    args = parser.parse_args(argv)
    manifest = build(args.reference, args.out, args.additions)
    for entry in manifest["lists"]:
        print(f"{entry['source']:10} as of {entry['as_of']}: {entry['entities']} entities, {entry['names']} names")
    print(f"gazetteer: {manifest['gazetteer']['rows']} places")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
