"""Shipments: every party of a row (shipper, consignee, manufacturer, ...) screened, and the row given its worst party's verdict.

A bill-of-lading or customs row names several companies. Each party is reshaped into a supplier row of its own
(its name, country and address, with the row's goods description and HS code, so the sector rules apply to it),
each distinct party is screened once by the ordinary `Screener`, and the verdicts are folded back per row:
the row's tier and score are its worst party's, the headline match is that party's, and every reason names the
party it concerns ("manufacturer: Xinjiang Zhongtai Chemical — UFLPA Entity List ...").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from screener.columns import ColumnMapping, detect_columns, detect_role, fold_header
from screener.result import TIERS
from screener.supplier_io import SOURCE_COLUMNS, InputFileError, row_numbers

# Bill-of-lading and customs party headers, per role; compared after folding case, spaces and punctuation.
PARTY_ROLES: dict[str, tuple[str, ...]] = {
    "shipper": ("shipper", "发货人", "托运人"),
    "consignee": ("consignee", "收货人"),
    "notify party": ("notify party", "notify", "通知人", "通知方"),
    "manufacturer": ("manufacturer", "mfr", "生产商", "制造商", "生产厂家", "生产企业"),
    "seller": ("seller", "卖方", "卖家"),
    "buyer": ("buyer", "买方", "买家"),
    "exporter": ("exporter", "出口商", "出口方"),
    "importer": ("importer", "importer of record", "进口商", "进口方"),
}
ORIGIN_ROLES = ("shipper", "manufacturer", "seller", "exporter")
"""Parties on the goods' side: a row-level country of origin applies to them when they have no country column."""
NAME_SUFFIXES = ("", " name", " company", " company name", " full name", "名称", "公司", "企业")
ADDRESS_SUFFIXES = (" address", " full address", " addr", " street address", "地址")
COUNTRY_SUFFIXES = (" country", " country code", " country name", "国家", "国别", "国家/地区")
PARTY_LABEL = "match_party"
"""Added to every row: the party its verdict rests on, as 'role: name' (the first party when all are clear)."""
VERDICT_COLUMNS = (
    "name_missing", "risk_tier", "risk_score", "match_entity_id", "match_name", "match_source", "match_list",
    "match_score",
)


@dataclass(frozen=True)
class Party:
    """One party column of a shipment file, with its address and country columns where the file has them."""

    role: str
    name: str
    address: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class PartyMapping:
    """The parties of a shipment file and the row-level columns every party shares."""

    parties: tuple[Party, ...]
    origin_country: str | None = None
    product: str | None = None
    hs_code: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The columns used, for the run facts; `name` is the added column naming the party behind each verdict."""
        described = "; ".join(
            party.role + "=" + ", ".join(column for column in (party.name, party.address, party.country) if column)
            for party in self.parties
        )
        return {
            "name": PARTY_LABEL,
            "parties": described,
            "country": self.origin_country,
            "product": self.product,
            "hs_code": self.hs_code,
        }


def detect_parties(
    frame: pl.DataFrame, party_columns: Sequence[str] = (), **given: str | None
) -> PartyMapping | None:
    """The parties of a shipment file: the columns given (`COLUMN` or `ROLE=COLUMN`), else the bill-of-lading
    headers found when there are two or more of them; None for a file with one name column (a supplier list).

    `given` may name the row-level `country` (of origin), `product` and `hs_code` columns.
    """
    headers = [column for column in frame.columns if column not in SOURCE_COLUMNS]
    if party_columns:
        named = [_given_party(spec, headers) for spec in party_columns]
    else:
        named = [(role, column) for role in PARTY_ROLES if (column := _find(headers, role, NAME_SUFFIXES))]
        if len(named) < 2:
            return None
    taken = {column for _, column in named} | {column for column in given.values() if column}
    parties = []
    for role, column in named:
        address = _find(headers, role, ADDRESS_SUFFIXES, taken) or _find(headers, column, ADDRESS_SUFFIXES, taken)
        country = _find(headers, role, COUNTRY_SUFFIXES, taken) or _find(headers, column, COUNTRY_SUFFIXES, taken)
        taken |= {found for found in (address, country) if found}
        parties.append(Party(role=role, name=column, address=address, country=country))
    shared = {}
    for role in ("country", "hs_code", "product"):
        shared[role] = found = given.get(role) or detect_role(headers, role, taken)
        if found:
            taken.add(found)
    return PartyMapping(
        parties=tuple(parties), origin_country=shared["country"], product=shared["product"], hs_code=shared["hs_code"]
    )


def _given_party(spec: str, headers: list[str]) -> tuple[str, str]:
    """(role, column) of a `--party-col` value: `ROLE=COLUMN`, or a column whose role is read from its header."""
    role, _, column = spec.rpartition("=") if "=" in spec and spec not in headers else ("", "", spec)
    if column not in headers:
        listing = ", ".join(repr(header) for header in headers)
        raise InputFileError(f"no party column {column!r}; the columns are: {listing}")
    if role.strip():
        return role.strip(), column
    folded = fold_header(column)
    known = next(
        (known for known, words in PARTY_ROLES.items() for word in words for suffix in NAME_SUFFIXES
         if folded == fold_header(word + suffix)),
        None,
    )
    return known or column, column


def _find(headers: list[str], role: str, suffixes: Sequence[str], taken: Collection[str] = frozenset()) -> str | None:
    """The header that is one of the role's words followed by one of the suffixes."""
    words = PARTY_ROLES.get(role, (role,))
    wanted = [fold_header(word + suffix) for word in words for suffix in suffixes]
    folded = {fold_header(header): header for header in reversed(headers) if header not in taken}
    return next((folded[want] for want in wanted if want in folded), None)


def party_rows(frame: pl.DataFrame, mapping: PartyMapping, first_row: int = 0) -> pl.DataFrame:
    """Long form: `row, position, party, name, country, address, product, hs_code`, one row per named party
    (and one row with no party for a row that names none, so that it is reported, not lost); `row` counts from
    `first_row`."""
    def column(name: str | None) -> pl.Expr:
        return pl.col(name).cast(pl.String).str.strip_chars().replace("", None) if name else pl.lit(None, pl.String)

    indexed = frame.with_columns(row_numbers(first_row))  # a file's own `row` column is not a party field
    origin = column(mapping.origin_country)
    shared = {"product": column(mapping.product), "hs_code": column(mapping.hs_code)}
    pieces = [
        indexed.select(
            "row",
            position=pl.lit(position, pl.Int32),
            party=pl.lit(party.role),
            name=column(party.name),
            country=column(party.country) if party.country else (origin if party.role in ORIGIN_ROLES else pl.lit(None, pl.String)),
            address=column(party.address),
            **shared,
        )
        for position, party in enumerate(mapping.parties)
    ]
    named = pl.concat(pieces).filter(pl.col("name").is_not_null())
    unnamed = indexed.join(named.select("row"), on="row", how="anti").select(
        "row", position=pl.lit(0, pl.Int32), party=pl.lit(None, pl.String), name=pl.lit(None, pl.String),
        country=origin, address=pl.lit(None, pl.String), **shared,
    )
    return pl.concat([named, unnamed]).sort("row", "position")


def shipment_verdicts(verdicts: pl.DataFrame) -> pl.DataFrame:
    """Row verdicts from the verdicts of its parties (`row, position, party, name` and the verdict columns), each
    party labelled 'role: name' (see fold_verdicts)."""
    return fold_verdicts(verdicts.with_columns(label=pl.when(pl.col("party").is_not_null()).then(pl.format("{}: {}", "party", "name"))))


def party_candidates(entries: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """The candidates of each party entry (`candidates.row` numbering the entries), with the row, role and name of its
    party, by row and best score first."""
    named = entries.select("row", "party", party_name="name").with_row_index("entry")
    numbered = candidates.rename({"row": "entry"}).with_columns(pl.col("entry").cast(named.schema["entry"]))
    return (
        named.join(numbered, on="entry", maintain_order="right")
        .drop("entry")
        .sort(["row", "score"], descending=[False, True], maintain_order=True)
    )


def fold_verdicts(verdicts: pl.DataFrame) -> pl.DataFrame:
    """One verdict per row from its parties' verdicts: the worst party's tier, score and match; every party's
    reasons, each naming its party(ies) and most severe party first; the rules fired for any party."""
    ranked = verdicts.with_columns(
        tier_rank=pl.col("risk_tier").replace_strict({tier: rank for rank, tier in enumerate(TIERS)}, return_dtype=pl.Int8)
    ).sort(["row", "tier_rank", "risk_score", "position"], descending=[False, False, True, False])
    worst = ranked.unique("row", keep="first", maintain_order=True).select(
        "row", *VERDICT_COLUMNS, pl.col("label").alias(PARTY_LABEL)
    )
    severity = ranked.with_columns(severity=pl.int_range(pl.len()).over("row"))
    reasons = (
        severity.select("row", "severity", "label", reason=pl.col("reasons"))
        .explode("reason")
        .drop_nulls("reason")
        .with_columns(order=pl.int_range(pl.len()).over("row"))
        .group_by("row", "reason", maintain_order=True)
        .agg(pl.col("label").drop_nulls().unique(maintain_order=True).str.join("; "), pl.col("order").min())
        .sort("row", "order")
        .group_by("row", maintain_order=True)
        .agg(
            reasons=pl.when(pl.col("label") != "")
            .then(pl.format("{} — {}", "label", "reason"))
            .otherwise(pl.col("reason"))
        )
    )
    fired = (
        severity.select("row", "fired_rules").explode("fired_rules").drop_nulls()
        .group_by("row", maintain_order=True).agg(pl.col("fired_rules").unique(maintain_order=True))
    )
    return (
        worst.join(reasons, on="row", how="left")
        .join(fired, on="row", how="left")
        .with_columns(pl.col("reasons", "fired_rules").fill_null(pl.lit([], pl.List(pl.String))))
        .sort("row")
    )


def shipment_parties(
    frame: pl.DataFrame, columns: Mapping[str, str | None], parties: Sequence[str] = ()
) -> PartyMapping | None:
    """The parties of a shipment file (see detect_parties); None for a supplier list, or when a name column is given
    and no party column."""
    shared = {role: columns.get(role) for role in ("country", "product", "hs_code")}
    return None if columns.get("name") and not parties else detect_parties(frame, parties, **shared)


def choose_columns(
    frame: pl.DataFrame, parties: Sequence[str] = (), columns: dict[str, str | None] | None = None
) -> ColumnMapping | PartyMapping:
    """Which columns to screen: every party of a shipment file (the `parties` given, or the bill-of-lading headers
    found), else the one name column of a supplier list (`columns` are the roles the user named)."""
    given = {role: column for role, column in (columns or {}).items() if column}
    return shipment_parties(frame, given, parties) or detect_columns(frame, **given)
