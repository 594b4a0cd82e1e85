"""Unified Social Credit Codes: GB 32100-2015 check character and XUAR registration."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screener.uscc import ALPHABET, check_character, division_name, with_uscc_columns

URUMQI_CODE = "91650100MA77Q4R27J"


def facts(*codes: str | None) -> pl.DataFrame:
    frame = pl.DataFrame({"uscc": list(codes)}, schema={"uscc": pl.String})
    return with_uscc_columns(frame, "uscc").with_columns(name=division_name(pl.col("uscc_division"), ["65", "66"]))


def test_check_character_of_a_real_code_format() -> None:
    assert check_character(URUMQI_CODE[:17]) == "J"


def test_valid_code_registered_in_urumqi() -> None:
    row = facts(URUMQI_CODE).row(0, named=True)
    assert row["uscc_valid"] is True
    assert row["uscc_problem"] is None
    assert row["uscc_division"] == "650100"
    assert row["name"] == "Urumqi"


def test_spaces_dashes_and_lower_case_are_tolerated() -> None:
    row = facts("9165 0100-ma77 q4r27j").row(0, named=True)
    assert row["uscc_code"] == URUMQI_CODE
    assert row["uscc_valid"] is True


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91650100MA77Q4R27K", "check character is K but GB 32100-2015 gives J"),
        ("9165010", "7 characters instead of 18"),
        ("91650100MA77Q4RI7J", "characters a code cannot have"),
        ("9165A100MA77Q4R27J", "characters a code cannot have"),
    ],
)
def test_invalid_codes_say_why(code: str, problem: str) -> None:
    row = facts(code).row(0, named=True)
    assert row["uscc_valid"] is False
    assert problem in row["uscc_problem"]


def test_missing_code_is_neither_valid_nor_a_problem() -> None:
    row = facts(None).row(0, named=True)
    assert row["uscc_valid"] is False
    assert row["uscc_problem"] is None


@pytest.mark.parametrize(
    ("code17", "expected"),
    [
        ("91650100MA77Q4R27", "Urumqi"),
        ("91659001MA77Q4R27", "Shihezi (XPCC 8th Division)"),
        ("91653100MA77Q4R27", "Kashgar"),
        ("91654321MA77Q4R27", "Altay"),
        ("91660000MA77Q4R27", "Xinjiang Production and Construction Corps registration authority"),
        ("91350200MA77Q4R27", None),
        ("91110000MA77Q4R27", None),
    ],
)
def test_division_names_only_for_xuar(code17: str, expected: str | None) -> None:
    assert facts(code17 + check_character(code17)).row(0, named=True)["name"] == expected


body = st.text(alphabet=ALPHABET, min_size=17, max_size=17).map(lambda s: s[:2] + "650100" + s[8:])


@settings(deadline=None)
@given(body)
def test_any_code_with_its_check_character_validates(first17: str) -> None:
    assert facts(first17 + check_character(first17)).row(0, named=True)["uscc_valid"] is True


@settings(deadline=None)
@given(body, st.sampled_from(ALPHABET))
def test_any_other_check_character_fails(first17: str, wrong: str) -> None:
    if wrong == check_character(first17):
        return
    row = facts(first17 + wrong).row(0, named=True)
    assert row["uscc_valid"] is False
    assert "check character" in row["uscc_problem"]


def test_rows_without_codes_get_the_same_columns_as_rows_with_codes() -> None:
    without, mixed = facts(None, None), facts(None, URUMQI_CODE)
    assert without.schema == mixed.schema
    assert without.row(0) == mixed.row(0)
