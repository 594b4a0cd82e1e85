"""Detecting which columns of a supplier file hold the name, country, address and other facts."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, fields

import polars as pl

from screener.supplier_io import SOURCE_COLUMNS, InputFileError

# Header synonyms per role, most specific first; compared after folding case, spaces and punctuation.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "supplier name", "supplier", "vendor name", "vendor", "company name", "company", "legal name",
        "entity name", "entity", "manufacturer name", "manufacturer", "factory name", "factory",
        "facility name", "facility", "producer", "exporter", "seller", "business name", "organisation",
        "organization", "name", "供应商名称", "供应商", "供货商", "公司名称", "企业名称", "公司", "企业", "工厂名称",
        "工厂", "厂商", "名称",
    ),
    "country": (
        "country code", "country_code", "country iso", "iso country", "country", "country name",
        "country of origin", "origin country", "nation", "国家代码", "国家", "国家/地区", "国别", "原产国",
    ),
    "address": (
        "address", "full address", "street address", "supplier address", "company address", "facility address",
        "location", "registered address", "city", "地址", "公司地址", "企业地址", "注册地址", "所在地",
    ),
    "product": (
        "product", "products", "product description", "description", "goods", "goods description", "item",
        "item description", "commodity", "merchandise", "product type", "product_type", "sector", "产品",
        "产品名称", "品名", "货物", "商品", "商品名称",
    ),
    "hs_code": (
        "hs code", "hs_code", "hs", "hts", "hts code", "hts_code", "hs number", "tariff code", "commodity code",
        "海关编码", "hs编码", "商品编码", "税则号",
    ),
    "parent": (
        "parent company", "parent company name", "parent_company", "parent name", "ultimate parent", "parent",
        "group company", "母公司", "母公司名称", "集团公司", "所属集团",
    ),
    "uscc": (
        "uscc", "unified social credit code", "social credit code", "credit code", "registration number",
        "registration_number", "registration no", "business registration number", "统一社会信用代码", "信用代码",
        "注册号", "营业执照号",
    ),
}


@dataclass(frozen=True)
class ColumnMapping:
    """Which input column plays each role; None when the file has no such column."""

    name: str
    country: str | None = None
    address: str | None = None
    product: str | None = None
    hs_code: str | None = None
    uscc: str | None = None
    parent: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def fold_header(header: str) -> str:
    """Lower-case a header and turn underscores, dots, dashes and runs of spaces into one space."""
    return re.sub(r"[\s_.\-:]+", " ", header.strip().casefold()).strip()


def detect_role(headers: list[str], role: str, taken: Collection[str] = frozenset()) -> str | None:
    """The header that best fits a role: an exact synonym first, then a header containing one."""
    folded = {header: fold_header(header) for header in headers if header not in taken}
    synonyms = [fold_header(s) for s in HEADER_SYNONYMS[role]]
    for synonym in synonyms:
        for header, fold in folded.items():
            if fold == synonym:
                return header
    for synonym in synonyms:
        if len(synonym) < 4 and synonym.isascii():
            continue
        for header, fold in folded.items():
            if synonym in fold:
                return header
    return None


def detect_columns(frame: pl.DataFrame, **given: str | None) -> ColumnMapping:
    """Map roles to columns: the columns given by the user, the rest detected from headers."""
    headers = [column for column in frame.columns if column not in SOURCE_COLUMNS]
    for role, column in given.items():
        if column is not None and column not in headers:
            raise InputFileError(f"no column {column!r} for the {role.replace('_', ' ')}; the columns are: {_listing(headers)}")
    chosen: dict[str, str | None] = {}
    taken = {column for column in given.values() if column}
    for role in ("parent", "name", "country", "address", "hs_code", "uscc", "product"):
        column = given.get(role) or detect_role(headers, role, taken)
        chosen[role] = column
        if column:
            taken.add(column)
    name = chosen.pop("name")
    if not name:
        raise InputFileError(
            f"no supplier-name column found; the columns are: {_listing(headers)}. Name it with --name-col"
        )
    return ColumnMapping(name=name, **chosen)


def _listing(headers: list[str]) -> str:
    return ", ".join(repr(header) for header in headers)
