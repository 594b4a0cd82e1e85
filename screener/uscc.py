"""Chinese Unified Social Credit Codes (统一社会信用代码, GB 32100-2015): check digit and registration region.

A code has 18 characters: registration authority (1), organisation type (1), the GB/T 2260 administrative
division code of the registering authority (6, characters 3-8), the organisation code (9) and a check
character computed modulo 31 over the code alphabet (digits and capitals without I, O, S, V, Z).
"""

from __future__ import annotations

import functools

import polars as pl

from screener.lookup import KeyMap
from screener.plans import run

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, position, 31) for position in range(17))
"""GB 32100-2015 weights: 3**i mod 31 (1, 3, 9, 27, 19, 26, ...)."""

XUAR_DIVISIONS = {
    "6501": "Urumqi",
    "6502": "Karamay",
    "6504": "Turpan",
    "6505": "Hami",
    "6523": "Changji",
    "6527": "Bortala",
    "6528": "Bayingolin",
    "6529": "Aksu",
    "6530": "Kizilsu",
    "6531": "Kashgar",
    "6532": "Hotan",
    "6540": "Ili",
    "6542": "Tacheng",
    "6543": "Altay",
    "6590": "XPCC city under the region",
    "659001": "Shihezi (XPCC 8th Division)",
    "659002": "Aral (XPCC 1st Division)",
    "659003": "Tumxuk (XPCC 3rd Division)",
    "659004": "Wujiaqu (XPCC 6th Division)",
    "659005": "Beitun (XPCC 10th Division)",
    "659006": "Tiemenguan (XPCC 2nd Division)",
    "659007": "Shuanghe (XPCC 5th Division)",
    "659008": "Kokdala (XPCC 4th Division)",
    "659009": "Kunyu (XPCC 14th Division)",
    "659010": "Huyanghe (XPCC 7th Division)",
    "65": "Xinjiang Uyghur Autonomous Region",
    "66": "Xinjiang Production and Construction Corps registration authority",
}
"""GB/T 2260 division prefixes in XUAR, most specific first when looked up (6, then 4, then 2 digits)."""

_BAD_CHARACTERS = "it contains characters a code cannot have (I, O, S, V, Z, punctuation, or letters in characters 3-8)"
_FORMAT = rf"^[{ALPHABET}]{{2}}[0-9]{{6}}[{ALPHABET}]{{10}}$"


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a code."""
    total = sum(ALPHABET.index(character) * weight for character, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def with_uscc_columns(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Add uscc_code (cleaned), uscc_valid, uscc_problem (why invalid, null if valid or absent), uscc_division."""
    if frame[column].null_count() == frame.height:  # cleaning keeps a code null or not null
        return frame.with_columns(_cleaned(column), *_absent())
    return run(
        frame.lazy()
        .with_columns(_cleaned(column))
        .with_columns(_well_formed=pl.col("uscc_code").str.contains(_FORMAT))
        .with_columns(_expected=pl.when("_well_formed").then(_expected_check()))
        .with_columns(_checked())
        .drop("_well_formed", "_expected")
    )


@functools.lru_cache(maxsize=8)
def _cleaned(column: str) -> pl.Expr:
    return pl.col(column).str.to_uppercase().str.replace_all(r"[\s\-]+", "").alias("uscc_code")


@functools.cache
def _absent() -> tuple[pl.Expr, ...]:
    return (
        pl.lit(False).alias("uscc_valid"),
        pl.lit(None, pl.String).alias("uscc_problem"),
        pl.lit(None, pl.String).alias("uscc_division"),
    )


@functools.cache
def _checked() -> tuple[pl.Expr, ...]:
    """uscc_valid, uscc_problem and uscc_division of a `uscc_code` with `_well_formed` and `_expected` known."""
    code = pl.col("uscc_code")
    problem = (
        pl.when(code.is_null())
        .then(None)
        .when(code.str.len_chars() != 18)
        .then(pl.format("it has {} characters instead of 18", code.str.len_chars()))
        .when(~pl.col("_well_formed"))
        .then(pl.lit(_BAD_CHARACTERS))
        .when(code.str.slice(17, 1) != pl.col("_expected"))
        .then(
            pl.format(
                "its check character is {} but GB 32100-2015 gives {}", code.str.slice(17, 1), pl.col("_expected")
            )
        )
        .otherwise(None)
    )
    return (
        (code.is_not_null() & problem.is_null()).alias("uscc_valid"),
        problem.alias("uscc_problem"),
        pl.when("_well_formed").then(code.str.slice(2, 6)).alias("uscc_division"),
    )


@functools.lru_cache(maxsize=1)
def _expected_check() -> pl.Expr:
    """The check character GB 32100-2015 gives for the first 17 characters of a well-formed `uscc_code`."""
    code = pl.col("uscc_code")
    total = pl.sum_horizontal(_value(code.str.slice(position, 1)) * weight for position, weight in enumerate(WEIGHTS))
    return pl.lit(ALPHABET).str.slice((31 - total % 31) % 31, 1)


def _value(character: pl.Expr) -> pl.Expr:
    """Position of a code character in ALPHABET: its base-36 value less the letters the alphabet skips."""
    base36 = character.str.to_integer(base=36, strict=False)
    return base36 - sum((base36 > ord(skipped) - ord("A") + 10).cast(pl.Int64) for skipped in "IOSVZ")


@functools.cache
def _division_names() -> dict[int, KeyMap]:
    """The XUAR division names by the length of their code: 6, 4, then 2 digits (the most specific first)."""
    return {
        length: KeyMap({key: value for key, value in XUAR_DIVISIONS.items() if len(key) == length}, pl.String())
        for length in (6, 4, 2)
    }


def division_name(division: pl.Expr, prefixes: list[str]) -> pl.Expr:
    """Name of the XUAR division a 6-digit code falls in, when it starts with one of `prefixes`; else null."""
    in_scope = pl.any_horizontal(division.str.starts_with(prefix) for prefix in prefixes) if prefixes else pl.lit(False)
    named = pl.coalesce(names.get(division.str.slice(0, length)) for length, names in _division_names().items())
    return pl.when(in_scope).then(pl.coalesce(named, pl.lit("XUAR")))
