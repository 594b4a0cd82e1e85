"""Saved supplier portfolios: their suppliers in input order, the role of each column, a stable key per supplier."""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from screener.casework.decisions import md5_hex
from screener.columns import ColumnMapping
from screener.errors import ScreenerError
from screener.store import Store, transaction


class PortfolioError(ScreenerError):
    """A portfolio cannot be saved, found or screened as asked."""


@dataclass(frozen=True)
class Portfolio:
    """A saved supplier list: its input columns (strings), the role of each, and a stable key per supplier."""

    portfolio_id: int
    name: str
    frame: pl.DataFrame
    mapping: ColumnMapping
    keys: pl.DataFrame
    source_file: str


def supplier_keys(frame: pl.DataFrame, mapping: ColumnMapping) -> pl.DataFrame:
    """row → supplier_key, stable across files: a digest of the folded name and country, numbered when repeated."""
    def folded(column: str | None) -> pl.Expr:
        if not column:
            return pl.lit("")
        return pl.col(column).fill_null("").str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ")

    text = frame.select(text=pl.concat_str([folded(mapping.name), folded(mapping.country)], separator="\x1f"))
    digests = pl.DataFrame({"digest": md5_hex(text["text"]).str.slice(0, 16)}).with_row_index("row")
    occurrence = pl.int_range(pl.len()).over("digest")
    return digests.select(
        "row",
        supplier_key=pl.when(occurrence == 0)
        .then(pl.format("s-{}", "digest"))
        .otherwise(pl.format("s-{}-{}", "digest", occurrence + 1)),
    )


def add_portfolio(
    store: Store, name: str, frame: pl.DataFrame, mapping: ColumnMapping, source_file: str = "", replace: bool = False
) -> int:
    """Save a supplier frame as a named portfolio (or replace its suppliers); return the portfolio id."""
    name = name.strip()
    if not name:
        raise PortfolioError("a portfolio needs a name")
    if frame.is_empty():
        what = f"the supplier file {source_file}" if source_file else "the supplier list"
        raise PortfolioError(f"{what} has no rows; nothing was saved")
    existing = store.scalar("SELECT portfolio_id FROM portfolios WHERE name = ?", [name])
    if existing is not None and not replace:
        raise PortfolioError(f"a portfolio named '{name}' already exists; use --replace to replace its suppliers")
    frame = frame.select(pl.all().cast(pl.String))
    keys = supplier_keys(frame, mapping)
    suppliers = frame.with_row_index("row").join(keys, on="row").select(
        "supplier_key",
        position=pl.col("row").cast(pl.Int32),
        name=pl.col(mapping.name) if mapping.name else pl.lit(None, pl.String),
        country=pl.col(mapping.country) if mapping.country else pl.lit(None, pl.String),
        record=pl.struct(frame.columns).struct.json_encode(),
    )
    con = store.con
    with transaction(con) as register:
        portfolio_id = existing if existing is not None else store.scalar("SELECT nextval('portfolio_ids')")
        values = [source_file, json.dumps(frame.columns), json.dumps(mapping.as_dict()), frame.height, portfolio_id]
        if existing is None:
            con.execute(
                """INSERT INTO portfolios (source_file, input_columns, column_roles, supplier_count, portfolio_id,
                                           name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, now(), now())""",
                [*values, name],
            )
        else:
            con.execute(
                """UPDATE portfolios SET source_file = ?, input_columns = ?, column_roles = ?, supplier_count = ?,
                   updated_at = now() WHERE portfolio_id = ?""",
                values,
            )
            con.execute("DELETE FROM portfolio_suppliers WHERE portfolio_id = ?", [portfolio_id])
        register("new_suppliers", suppliers)
        con.execute("INSERT INTO portfolio_suppliers SELECT ?, supplier_key, position, name, country, record "
                    "FROM new_suppliers", [portfolio_id])
    return int(portfolio_id)


def portfolio_record(store: Store, name: str) -> dict:
    """The portfolios row of that name; PortfolioError naming the saved ones when there is none."""
    found = store.query("SELECT * FROM portfolios WHERE name = ?", [name])
    if found.is_empty():
        known = ", ".join(portfolio_names(store)) or "none yet"
        raise PortfolioError(
            f"no portfolio named '{name}' (saved portfolios: {known}); add it with `screener portfolio add`"
        )
    return found.row(0, named=True)


def load_portfolio(store: Store, name: str) -> Portfolio:
    """A saved portfolio with its suppliers in their original order."""
    portfolio = portfolio_record(store, name)
    columns = json.loads(portfolio["input_columns"])
    stored = store.query(
        "SELECT supplier_key, record FROM portfolio_suppliers WHERE portfolio_id = ? ORDER BY position",
        [portfolio["portfolio_id"]],
    )
    frame = stored.select(
        pl.col("record").str.json_decode(pl.Struct({column: pl.String for column in columns}))
    ).unnest("record")
    keys = stored.with_row_index("row").select("row", "supplier_key")
    return Portfolio(
        portfolio_id=portfolio["portfolio_id"],
        name=portfolio["name"],
        frame=frame,
        mapping=ColumnMapping(**json.loads(portfolio["column_roles"])),
        keys=keys,
        source_file=portfolio["source_file"] or "",
    )


def portfolio_names(store: Store) -> list[str]:
    """Every saved portfolio's name, in order."""
    return store.query("SELECT name FROM portfolios ORDER BY name")["name"].to_list()


def supplier_keys_named(store: Store, portfolio: str, supplier: str) -> list[str]:
    """The keys of the portfolio's suppliers whose key is `supplier` or whose name is it (ignoring case)."""
    portfolio_id = portfolio_record(store, portfolio)["portfolio_id"]
    return store.query(
        """SELECT DISTINCT supplier_key FROM portfolio_suppliers
           WHERE portfolio_id = ? AND (supplier_key = ? OR lower(trim(name)) = lower(trim(?))) ORDER BY supplier_key""",
        [portfolio_id, supplier, supplier],
    )["supplier_key"].to_list()
