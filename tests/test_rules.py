"""The declarative rules: every built-in rule on purpose-built rows, tiers, scores, reasons, user rule files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from screener.result import TIERS
from screener.rules import (
    RulesError,
    RuleSet,
    _per_row,
    _reason_aggregates,
    _rendered,
    _verdict_aggregates,
    evaluate,
    load_rules,
)
from screener.sectors import sector_hits

SUPPLIER_COLUMNS = ("name", "country", "address", "product", "hs_code", "uscc")

ENTITIES: dict[str, dict[str, Any]] = {
    "uflpa": dict(
        entity_id="uflpa:aaa",
        source="uflpa",
        list_name="UFLPA Entity List",
        list_kind="legal",
        authority="US-DHS",
        program="UFLPA 2(d)(2)(B)(ii)",
        entity_type="organization",
        name="Xinjiang Zhongtai Chemical Co., Ltd.",
        country="CN",
        addresses=None,
        sector="chemicals (PVC)",
        merchandise=None,
        status="active",
        start_date=dt.date(2023, 6, 12),
        end_date=None,
        citation="Federal Register 2023-12481",
        remarks=None,
        source_url="https://www.dhs.gov/uflpa-entity-list",
        includes_affiliates=False,
    ),
    "uflpa_affiliates": dict(
        entity_id="uflpa:bbb",
        source="uflpa",
        list_name="UFLPA Entity List",
        list_kind="legal",
        authority="US-DHS",
        program="UFLPA 2(d)(2)(B)(i)",
        entity_type="organization",
        name="Xinjiang Production and Construction Corps",
        country="CN",
        addresses=None,
        sector=None,
        merchandise=None,
        status="active",
        start_date=dt.date(2022, 6, 21),
        end_date=None,
        citation="Federal Register 2022-16754",
        remarks="and its subordinate and affiliated entities",
        source_url="https://www.dhs.gov/uflpa-entity-list",
        includes_affiliates=True,
    ),
    "wro_active": dict(
        entity_id="cbp_wro:ccc",
        source="cbp_wro",
        list_name="CBP Withhold Release Orders and Findings",
        list_kind="legal",
        authority="US-CBP",
        program="WRO",
        entity_type="organization",
        name="Hoshine Silicon Industry Co., Ltd.",
        country="CN",
        addresses=None,
        sector="Industrial materials",
        merchandise="silica-based products",
        status="active",
        start_date=dt.date(2021, 6, 24),
        end_date=None,
        citation="CBP press release 2021-06-24",
        remarks=None,
        source_url="https://www.cbp.gov/trade/forced-labor/withhold-release-orders-and-findings",
        includes_affiliates=True,
    ),
    "wro_unconfirmed": dict(
        entity_id="cbp_wro:ddd",
        source="cbp_wro",
        list_name="CBP Withhold Release Orders and Findings",
        list_kind="legal",
        authority="US-CBP",
        program="WRO",
        entity_type="organization",
        name="Xiang-Yang Machinery Plant",
        country="CN",
        addresses=None,
        sector="Machinery",
        merchandise=None,
        status=None,
        start_date=dt.date(1991, 11, 6),
        end_date=None,
        citation=None,
        remarks=None,
        source_url="https://www.cbp.gov/trade/forced-labor/withhold-release-orders-and-findings",
        includes_affiliates=False,
    ),
    "wro_revoked": dict(
        entity_id="cbp_wro:eee",
        source="cbp_wro",
        list_name="CBP Withhold Release Orders and Findings",
        list_kind="legal",
        authority="US-CBP",
        program="WRO",
        entity_type="vessel",
        name="Fishing Vessel: Tunago No. 61",
        country="VU",
        addresses=None,
        sector="Agriculture",
        merchandise="tuna and tuna products",
        status="revoked",
        start_date=dt.date(2019, 2, 4),
        end_date=dt.date(2020, 4, 1),
        citation=None,
        remarks=None,
        source_url="https://www.cbp.gov/newsroom/national-media-release/cbp-revokes-withhold-release-order",
        includes_affiliates=False,
    ),
    "wro_modified": dict(
        entity_id="cbp_wro:fff",
        source="cbp_wro",
        list_name="CBP Withhold Release Orders and Findings",
        list_kind="legal",
        authority="US-CBP",
        program="Finding",
        entity_type="organization",
        name="Top Glove Corporation Bhd",
        country="MY",
        addresses=None,
        sector="Pharmaceuticals, Health and Chemicals",
        merchandise="disposable gloves",
        status="modified",
        start_date=dt.date(2021, 3, 29),
        end_date=None,
        citation="CBP Finding effective 2021-03-29",
        remarks=None,
        source_url="https://www.cbp.gov/newsroom/stats/trade/forced-labor/withhold-release-orders-and-findings",
        includes_affiliates=False,
    ),
    "sanction": dict(
        entity_id="sanctions:fff",
        source="sanctions",
        list_name="OFAC SDN List",
        list_kind="legal",
        authority="US-OFAC",
        program="GLOMAG (E.O. 13818; Global Magnitsky Human Rights Accountability Act)",
        entity_type="organization",
        name="Xinjiang Public Security Bureau",
        country="CN",
        addresses=None,
        sector=None,
        merchandise=None,
        status="active",
        start_date=dt.date(2020, 7, 9),
        end_date=None,
        citation="Treasury press release sm1055",
        remarks=None,
        source_url="https://home.treasury.gov/news/press-releases/sm1055 | https://example.org/second-source",
        includes_affiliates=False,
    ),
    "sanction_removed": dict(
        entity_id="sanctions:ggg",
        source="sanctions",
        list_name="BIS Entity List",
        list_kind="legal",
        authority="US-BIS",
        program="EAR 15 CFR 744.11",
        entity_type="organization",
        name="Institute of Forensic Science of China",
        country="CN",
        addresses=None,
        sector=None,
        merchandise=None,
        status="inactive",
        start_date=dt.date(2020, 6, 5),
        end_date=dt.date(2023, 11, 16),
        citation="FR Doc 2020-10868",
        remarks=None,
        source_url="https://www.federalregister.gov/d/2023-25557",
        includes_affiliates=False,
    ),
    "csl_xinjiang": dict(
        entity_id="csl:hhh",
        source="csl",
        list_name="Entity List (EL) - Bureau of Industry and Security",
        list_kind="legal",
        authority="US-BIS",
        program="EAR",
        entity_type="organization",
        name="Urumqi Surveillance Technology Co.",
        country="CN",
        addresses="Urumqi, Xinjiang, China",
        sector=None,
        merchandise=None,
        status="active",
        start_date=dt.date(2021, 7, 12),
        end_date=None,
        citation="86 FR 36496",
        remarks=None,
        source_url="https://data.trade.gov/consolidated_screening_list",
        includes_affiliates=False,
    ),
    "csl_other": dict(
        entity_id="csl:iii",
        source="csl",
        list_name="Specially Designated Nationals (SDN) - Treasury Department",
        list_kind="legal",
        authority="US-OFAC",
        program="RUSSIA-EO14024",
        entity_type="organization",
        name="Volga Shipping Holding",
        country="RU",
        addresses="Moscow, Russia",
        sector=None,
        merchandise=None,
        status="active",
        start_date=dt.date(2022, 4, 6),
        end_date=None,
        citation=None,
        remarks=None,
        source_url="https://data.trade.gov/consolidated_screening_list",
        includes_affiliates=False,
    ),
    "research": dict(
        entity_id="opensanctions:jjj",
        source="opensanctions",
        list_name="Sheffield Hallam University Uyghur companies",
        list_kind="research",
        authority="Sheffield Hallam University",
        program="labour transfer research",
        entity_type="organization",
        name="Aksu Huafu Textiles Co., Ltd.",
        country="CN",
        addresses=None,
        sector="textiles",
        merchandise=None,
        status="active",
        start_date=None,
        end_date=None,
        citation=None,
        remarks=None,
        source_url="https://www.opensanctions.org/datasets/shu_uyghur_companies/",
        includes_affiliates=False,
    ),
}


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules([])


def suppliers(*rows: dict[str, str | None]) -> pl.DataFrame:
    data = {column: [row.get(column) for row in rows] for column in SUPPLIER_COLUMNS}
    return pl.DataFrame(
        {"row": list(range(len(rows))), **data}, schema={"row": pl.UInt32, **dict.fromkeys(SUPPLIER_COLUMNS, pl.String)}
    )


def candidates(*matches: tuple) -> pl.DataFrame:
    """Hand-built matcher output joined with the entity columns: (row, entity key, score, band[, relation]) or
    (row, entity key, score, band, name, kind)."""
    records = []
    for match in matches:
        row, key, score, band = match[:4]
        entity = ENTITIES[key]
        matched_name, kind = (match[4], match[5]) if len(match) == 6 else (entity["name"], "primary")
        relation = match[4] if len(match) == 5 else None
        records.append(
            dict(
                row=row,
                matched_name=matched_name,
                name_kind=kind,
                name_lang="en",
                score=score,
                band=band,
                relation=relation,
                explanation="test",
                **entity,
            )
        )
    schema = {
        "row": pl.UInt32,
        "entity_id": pl.String,
        "matched_name": pl.String,
        "name_kind": pl.String,
        "name_lang": pl.String,
        "score": pl.Float64,
        "band": pl.String,
        "relation": pl.String,
        "explanation": pl.String,
        "start_date": pl.Date,
        "end_date": pl.Date,
        "includes_affiliates": pl.Boolean,
    }
    columns = list(schema) + [column for column in ENTITIES["uflpa"] if column not in schema]
    return (
        pl.DataFrame(records, schema={column: schema.get(column, pl.String) for column in columns}, orient="row")
        if records
        else pl.DataFrame(schema={c: schema.get(c, pl.String) for c in columns})
    )


def verdict(rows: pl.DataFrame, matches: pl.DataFrame, ruleset: RuleSet) -> list[dict[str, Any]]:
    return evaluate(rows, matches, ruleset).to_dicts()


def reason_text(reasons: list[str]) -> str:
    """The reasons as the CSV report writes them: one text."""
    return " | ".join(reasons)


def one(ruleset: RuleSet, supplier: dict[str, str | None], *matches: tuple) -> dict[str, Any]:
    return verdict(suppliers(supplier), candidates(*matches), ruleset)[0]


# ------------------------------------------------------------------ the labelled development cases

DEV_CASES = [
    ("Morning Dew Apparel Co., Ltd.", "CN", "Kashgar Prefecture, Xinjiang 844000", None, None, None, {"critical"}),
    ("Silver Line Metals Co., Ltd.", "CN", "新疆昌吉州准东经济技术开发区", None, None, None, {"critical"}),
    ("Eastwind Fibers Co., Ltd.", "CN", "Hetian City, Hotan Prefecture", None, None, None, {"critical"}),
    (
        "Riverside Agro Co., Ltd.",
        "CN",
        "Aral, 1st Division, Xinjiang Production and Construction Corps",
        None,
        None,
        None,
        {"critical"},
    ),
    (
        "Northstar Chemicals Co., Ltd.",
        "CN",
        "Karamay Road, Putuo District, Shanghai",
        None,
        None,
        None,
        {"low", "clear"},
    ),
    ("Northstar Chemicals Co., Ltd.", "KZ", "Aksu, Pavlodar Region", None, None, None, {"clear", "low"}),
    (
        "Green Valley Dairy Co., Ltd.",
        "CN",
        "Yili Industrial Park, Hohhot, Inner Mongolia",
        None,
        None,
        None,
        {"low", "clear"},
    ),
    ("Jade Bridge Trading Co., Ltd.", "CN", None, None, None, "91650100MA77Q4R27J", {"high", "critical"}),
    ("Oceanic Foods Co., Ltd.", "CN", "Qingdao, Shandong", "frozen cod fillets", "0304.71", None, {"medium"}),
    ("Oceanic Foods Co., Ltd.", "CN", "Qingdao, Shandong", "番茄酱", None, None, {"medium"}),
    ("Bright Sun PV Co., Ltd.", "CN", "Wuxi, Jiangsu", "monocrystalline silicon wafers", "3818.00", None, {"medium"}),
    ("Bright Sun PV Co., Ltd.", "VN", "Bac Ninh", "solar modules", "8541.43", None, {"clear", "low"}),
    ("Handy Tools Co., Ltd.", "CN", "Ningbo, Zhejiang", "hand tools", "8205.40", None, {"low", "clear"}),
]


def test_development_cases_get_their_expected_tiers(ruleset: RuleSet) -> None:
    rows = suppliers(*(dict(zip(SUPPLIER_COLUMNS, case[:6], strict=True)) for case in DEV_CASES))
    tiers = evaluate(rows, candidates(), ruleset)["risk_tier"].to_list()
    wrong = [(case[0], case[2], tier) for case, tier in zip(DEV_CASES, tiers, strict=True) if tier not in case[6]]
    assert wrong == []


# ------------------------------------------------------------------ output shape


def test_one_verdict_per_supplier_row_in_input_order(ruleset: RuleSet) -> None:
    rows = suppliers({"name": "A", "country": "CN"}, {"name": "B", "country": "DE"}, {"name": "C", "country": "CN"})
    out = evaluate(rows, candidates((2, "uflpa", 98.0, "match"), (2, "sanction", 91.0, "match")), ruleset)
    assert out.columns == ["row", "risk_tier", "risk_score", "reasons", "fired_rules", "match_entity_id"]
    assert out["row"].to_list() == [0, 1, 2]
    assert out.schema["fired_rules"] == pl.List(pl.String)
    assert out["risk_tier"].to_list() == ["low", "clear", "critical"]


def test_clear_rows_have_no_reason_and_zero_score(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Acme GmbH", "country": "DE", "address": "Berlin"})
    assert result == {
        "row": 0, "risk_tier": "clear", "risk_score": 0.0, "reasons": [], "fired_rules": [], "match_entity_id": None
    }


def test_missing_optional_columns_just_do_not_fire(ruleset: RuleSet) -> None:
    rows = pl.DataFrame(
        {"row": [0], "name": ["Acme"], "country": ["CN"]},
        schema={"row": pl.UInt32, "name": pl.String, "country": pl.String},
    )
    assert evaluate(rows, candidates(), ruleset)["fired_rules"].to_list() == [["china_no_signal"]]



def test_the_conditions_that_tell_which_rules_may_fire_are_built_once_per_ruleset(monkeypatch) -> None:
    import screener.rules as rules

    built: list[str] = []
    signal = rules._signal
    monkeypatch.setattr(rules, "_signal", lambda rule: (built.append(rule.id), signal(rule))[1])
    fresh = load_rules()
    rows = suppliers({"name": "A", "country": "CN"})
    first = evaluate(rows, candidates((0, "uflpa", 98.0, "match")), fresh)
    count = len(built)
    assert count == len(fresh.ordinary) > 0
    assert evaluate(rows, candidates((0, "uflpa", 98.0, "match")), fresh).equals(first)
    assert len(built) == count

# ------------------------------------------------------------------ 1-2 UFLPA


def test_uflpa_match_is_critical_and_cites_clause_date_document_and_url(ruleset: RuleSet) -> None:
    result = one(
        ruleset,
        {"name": "Zhongtai Chemical", "country": "CN"},
        (0, "uflpa", 97.0, "match", "Zhongtai Chemical", "alias"),
    )
    assert result["risk_tier"] == "critical"
    assert result["fired_rules"] == ["uflpa_entity"]
    reason = reason_text(result["reasons"])
    for fact in (
        "UFLPA Entity List",
        "UFLPA 2(d)(2)(B)(ii)",
        "listed 2023-06-12",
        "Federal Register 2023-12481",
        "alias 'Zhongtai Chemical' of 'Xinjiang Zhongtai Chemical Co., Ltd.'",
        "score 97",
        "presumed made with forced labour",
        "https://www.dhs.gov/uflpa-entity-list",
    ):
        assert fact in reason


def test_uflpa_named_subsidiary_match_is_critical(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "X"}, (0, "uflpa_affiliates", 95.0, "match", "Xinjiang Tianye Co.", "subsidiary"))
    assert result["risk_tier"] == "critical"
    assert "named subsidiary 'Xinjiang Tianye Co.'" in reason_text(result["reasons"])


def test_review_band_near_an_entity_listed_with_affiliates_is_high_for_review(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "XPCC Agricultural Supply"}, (0, "uflpa_affiliates", 82.0, "review", "subsidiary"))
    assert result["risk_tier"] == "high"
    assert result["fired_rules"][0] == "uflpa_affiliate_review"
    assert "possible subsidiary or affiliate" in reason_text(result["reasons"])
    assert "needs analyst review" in reason_text(result["reasons"])


@pytest.mark.parametrize("relation", [None, "group"])
def test_review_band_near_an_entity_listed_with_affiliates_without_a_subsidiary_reading_is_medium(
    ruleset: RuleSet, relation: str | None
) -> None:
    """A name that merely resembles an entity listed with its subsidiaries ('... Production Co.' and the XPCC)
    is an ordinary review candidate: only a name read as a possible subsidiary is high."""
    result = one(ruleset, {"name": "Kim Trading And Production"}, (0, "uflpa_affiliates", 82.0, "review", relation))
    assert result["risk_tier"] == "medium"
    assert result["fired_rules"] == ["review_candidate"]


def test_review_band_near_an_entity_without_affiliates_is_only_medium(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Zhongtai Trading"}, (0, "uflpa", 82.0, "review"))
    assert result["risk_tier"] == "medium"
    assert result["fired_rules"] == ["review_candidate"]
    assert result["reasons"][0].startswith("Needs analyst review")


# ------------------------------------------------------------------ 3 CBP WRO and Findings


def test_active_wro_covering_the_product_is_critical(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Hoshine", "product": "silica fume"}, (0, "wro_active", 96.0, "match"))
    assert result["risk_tier"] == "critical"
    assert result["fired_rules"] == ["cbp_wro_covered_product"]
    assert "covers silica-based products" in reason_text(result["reasons"])
    assert "'silica fume' falls under it" in reason_text(result["reasons"])


def test_active_wro_for_other_goods_or_unknown_product_is_high(ruleset: RuleSet) -> None:
    for product in ("office furniture", "rubber-based adhesive", None):
        result = one(ruleset, {"name": "Hoshine", "product": product}, (0, "wro_active", 96.0, "match"))
        assert result["risk_tier"] == "high"
        assert result["fired_rules"] == ["cbp_wro_active"]


def test_wro_without_confirmed_status_counts_as_in_force_and_says_so(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Xiang-Yang Machinery"}, (0, "wro_unconfirmed", 93.0, "match"))
    assert result["risk_tier"] == "high"
    assert "status not confirmed by the sources" in reason_text(result["reasons"])


def test_review_band_near_a_wro_covering_subsidiaries_is_high(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Hoshine Silicon (Luzhou) Co."}, (0, "wro_active", 83.0, "review", "subsidiary"))
    assert result["risk_tier"] == "high"
    assert result["fired_rules"] == ["cbp_wro_affiliate_review", "review_candidate"]
    assert "and its subsidiaries" in reason_text(result["reasons"])


def test_revoked_wro_is_low_with_the_revocation_date(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Tunago No. 61", "product": "tuna"}, (0, "wro_revoked", 99.0, "match"))
    assert result["risk_tier"] == "low"
    assert result["fired_rules"] == ["listing_no_longer_in_force"]
    assert "is revoked since 2020-04-01 and no longer in force" in reason_text(result["reasons"])


def test_order_modified_so_goods_are_admitted_is_not_in_force_even_without_a_date(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Top Glove", "product": "disposable gloves"}, (0, "wro_modified", 100.0, "match"))
    assert result["risk_tier"] == "low"
    assert result["fired_rules"] == ["listing_no_longer_in_force"]
    assert "is modified and no longer in force" in reason_text(result["reasons"])


# ------------------------------------------------------------------ 4 sanctions, other lists, research


def test_xinjiang_sanction_is_high_and_keeps_reason_separator_out_of_urls(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Regional PSB"}, (0, "sanction", 94.0, "match"))
    assert result["risk_tier"] == "high"
    assert result["fired_rules"] == ["xinjiang_sanction"]
    assert "OFAC SDN List — GLOMAG" in reason_text(result["reasons"])
    assert all(" | " not in reason for reason in reason_text(result["reasons"]))
    assert (
        "https://home.treasury.gov/news/press-releases/sm1055; https://example.org/second-source" in reason_text(result["reasons"])
    )


def test_name_near_a_bis_entity_list_party_explains_the_affiliates_rule(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Surveillance Tech Subsidiary Co"}, (0, "csl_xinjiang", 78.0, "review"))
    assert result["risk_tier"] == "medium"
    assert result["fired_rules"] == ["bis_affiliate_review", "review_candidate"]
    assert "owned 50 % or more" in reason_text(result["reasons"]) and "2025-19001" in reason_text(result["reasons"])
    assert "reimposed automatically on 2026-11-10" in reason_text(result["reasons"])
    other = one(ruleset, {"name": "Some Other Co"}, (0, "sanction", 78.0, "review"))
    assert "bis_affiliate_review" not in other["fired_rules"]


def test_removed_sanction_is_low_with_removal_date(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Institute of Forensic Science"}, (0, "sanction_removed", 95.0, "match"))
    assert result["risk_tier"] == "low"
    assert "inactive since 2023-11-16" in reason_text(result["reasons"])


def test_other_list_naming_xinjiang_is_high_and_unrelated_listing_medium(ruleset: RuleSet) -> None:
    rows = suppliers({"name": "Regional Surveillance"}, {"name": "Volga Shipping"})
    out = evaluate(rows, candidates((0, "csl_xinjiang", 95.0, "match"), (1, "csl_other", 95.0, "match")), ruleset)
    assert out["risk_tier"].to_list() == ["high", "medium"]
    assert out["fired_rules"].to_list() == [["other_listing_xinjiang"], ["other_legal_listing"]]
    assert "not Xinjiang-specific" in reason_text(out["reasons"][1])


def test_research_dataset_is_high_evidence_not_legal_listing(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Aksu Huafu"}, (0, "research", 93.0, "match"))
    assert result["risk_tier"] == "high"
    assert "evidence of exposure, not a legal listing" in reason_text(result["reasons"])
    assert "https://www.opensanctions.org/datasets/shu_uyghur_companies/" in reason_text(result["reasons"])


# ------------------------------------------------------------------ 5-7 supplier facts


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("Xinjiang Goens Energy Technology Co., Ltd.", "Xinjiang"),
        ("Shihezi Xinren Battery Aluminum Foil Technology Co., Ltd.", "Shihezi"),
        ("新疆中泰化学股份有限公司", "Xinjiang"),
        ("Solar Panel Works (Xinjiang) Co., Ltd.", "Xinjiang"),
    ],
)
def test_name_that_states_registration_in_xuar_is_high(ruleset: RuleSet, name: str, place: str) -> None:
    result = one(ruleset, {"name": name, "country": "CN"})
    assert result["risk_tier"] == "high"
    assert result["fired_rules"][0] == "xuar_name"
    assert f"Name states registration in XUAR: it begins with {place}" in reason_text(result["reasons"])


@pytest.mark.parametrize(
    "name",
    [
        "Tianshan Material Co., Ltd.",
        "Beijing Xinjiang Restaurant Co., Ltd.",
        "Hami Fruit Trading Co. (Shanghai)",
        "Zhongtai Xinjiang Cotton Import Co., Ltd.",
    ],
)
def test_xuar_word_that_is_a_brand_or_a_dish_is_no_registration_claim(ruleset: RuleSet, name: str) -> None:
    """A brand word ('Tianshan'), a cuisine after another province, an ambiguous place with another province, or a
    place after the trade name: none is the registering division."""
    result = one(ruleset, {"name": name, "country": "CN"})
    assert "xuar_name" not in result["fired_rules"]


def test_xuar_address_is_critical_with_the_places_found(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "A", "country": "CN", "address": "喀什地区疏附县"})
    assert result["risk_tier"] == "critical"
    assert "Address in XUAR" in reason_text(result["reasons"]) and "Shufu" in reason_text(result["reasons"])
    assert one(ruleset, {"name": "A", "country": "CN", "address": "Karamay Road, Shanghai"})["risk_tier"] == "low"


def test_uscc_registered_in_xuar_is_high(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "A", "country": "CN", "uscc": "91650100MA77Q4R27J"})
    assert result["risk_tier"] == "high"
    assert "issued in Urumqi (division code 650100, XUAR)" in reason_text(result["reasons"])


def test_uscc_failing_its_check_is_a_data_quality_note(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "A", "country": "CN", "uscc": "91310000MA1FL4CT3X"})
    assert result["risk_tier"] == "low"
    assert result["fired_rules"] == ["uscc_invalid"]
    assert "Data quality" in reason_text(result["reasons"]) and "check character" in reason_text(result["reasons"])
    valid_shanghai = one(ruleset, {"name": "A", "country": "CN", "uscc": "913502000728319549"})
    assert valid_shanghai["fired_rules"] == ["china_no_signal"]


@pytest.mark.parametrize(
    ("product", "hs_code", "sector"),
    [
        ("100% cotton T-shirts", None, "apparel, cotton"),
        ("纯棉衬衫", None, "apparel, cotton"),
        (None, "6109.10", "apparel, cotton"),
        ("tomato paste", None, "tomatoes"),
        ("光伏组件", None, "polysilicon"),
        (None, "2804.61", "polysilicon"),
        ("aluminium extrusions", None, "aluminum"),
        (None, "7601.10", "aluminum"),
        ("PVC resin", "3904.10", "polyvinyl chloride"),
        ("frozen shrimp", None, "seafood"),
        (None, "304.71", "seafood"),
        ("hot-rolled steel coils", None, "steel"),
        ("铜杆", None, "copper"),
        ("lithium carbonate", "2836.91", "lithium"),
        ("烧碱", None, "caustic soda"),
        ("dried red dates", None, "red dates"),
        ("PVC塑料地板的研发、生产和销售", None, "polyvinyl chloride"),
        ("PVC管材管件", None, "polyvinyl chloride"),
        ("特殊钢的冶炼和金属压延加工业务", None, "steel"),
        ("优特钢生产与销售", None, "steel"),
        ("大型钢结构产品", None, "steel"),
        ("钢制滚型车轮", None, "steel"),
    ],
)
def test_high_priority_sectors_from_keywords_or_hs_codes(
    product: str | None, hs_code: str | None, sector: str, ruleset: RuleSet
) -> None:
    result = one(ruleset, {"name": "A", "country": "CN", "product": product, "hs_code": hs_code})
    assert result["risk_tier"] == "medium"
    assert sector in reason_text(result["reasons"])
    assert "https://" in reason_text(result["reasons"])


@pytest.mark.parametrize(
    ("product", "hs_code"),
    [
        ("bar codes printing", None),
        ("fishing rods", "9507.10"),
        ("piano", None),
        ("hand tools", "8205.40"),
        ("polyester fabric", "5407.61"),
        ("钢琴", None),
        ("玻璃钢化设备、低辐射镀膜玻璃设备", None),
        ("codeine syrup", None),
    ],
)
def test_ordinary_products_are_not_priority_sectors(product: str, hs_code: str | None, ruleset: RuleSet) -> None:
    assert one(ruleset, {"name": "A", "country": "CN", "product": product, "hs_code": hs_code})["risk_tier"] == "low"


def test_priority_sector_outside_china_does_not_fire(ruleset: RuleSet) -> None:
    assert one(ruleset, {"name": "A", "country": "VN", "product": "cotton yarn"})["risk_tier"] == "clear"


# ------------------------------------------------------------------ 8-9 review band and otherwise


def test_review_band_of_any_list_is_medium(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "Volga Shipping Ltd", "country": "RU"}, (0, "csl_other", 80.0, "review"))
    assert result["risk_tier"] == "medium"
    assert result["fired_rules"] == ["review_candidate"]


def test_china_without_signal_is_low_elsewhere_clear(ruleset: RuleSet) -> None:
    rows = suppliers(
        {"name": "A", "country": "China"},
        {"name": "B", "country": "US"},
        {"name": "C", "country": None, "address": "No. 1 Road, Ningbo, China"},
    )
    out = evaluate(rows, candidates(), ruleset)
    assert out["risk_tier"].to_list() == ["low", "clear", "low"]


def test_otherwise_rule_does_not_add_to_other_signals(ruleset: RuleSet) -> None:
    result = one(ruleset, {"name": "A", "country": "CN", "product": "cotton"})
    assert result["fired_rules"] == ["high_priority_sector"]


# ------------------------------------------------------------------ combining rules


def test_highest_tier_wins_and_reasons_are_most_severe_first(ruleset: RuleSet) -> None:
    result = one(
        ruleset,
        {"name": "A", "country": "CN", "product": "cotton yarn", "address": "Aksu, Xinjiang"},
        (0, "uflpa", 88.0, "review"),
        (0, "sanction", 93.0, "match"),
    )
    assert result["risk_tier"] == "critical"
    assert result["fired_rules"] == ["xuar_address", "xinjiang_sanction", "high_priority_sector", "review_candidate"]
    reasons = result["reasons"]
    assert len(reasons) == 4
    assert reasons[0].startswith("Address in XUAR")


def test_headline_match_is_the_listing_behind_the_most_severe_rule_not_the_highest_score(ruleset: RuleSet) -> None:
    result = one(
        ruleset, {"name": "A", "country": "CN"}, (0, "sanction", 99.0, "match"), (0, "uflpa", 90.0, "match")
    )
    assert result["risk_tier"] == "critical"
    assert result["match_entity_id"] == ENTITIES["uflpa"]["entity_id"]


def test_headline_match_ties_on_tier_go_to_the_highest_score(ruleset: RuleSet) -> None:
    result = one(
        ruleset, {"name": "A", "country": "CN"}, (0, "uflpa", 91.0, "match"), (0, "uflpa_affiliates", 97.0, "match")
    )
    assert result["match_entity_id"] == ENTITIES["uflpa_affiliates"]["entity_id"]


def test_headline_match_is_never_a_review_band_candidate(ruleset: RuleSet) -> None:
    review_only = one(ruleset, {"name": "A", "country": "CN"}, (0, "uflpa_affiliates", 80.0, "review", "subsidiary"))
    assert review_only["risk_tier"] == "high" and review_only["match_entity_id"] is None
    both = one(
        ruleset,
        {"name": "A", "country": "CN"},
        (0, "uflpa_affiliates", 80.0, "review", "subsidiary"),
        (0, "sanction_removed", 95.0, "match"),
    )
    assert both["risk_tier"] == "high" and both["match_entity_id"] == ENTITIES["sanction_removed"]["entity_id"]


def test_score_rises_with_each_signal_and_with_match_confidence(ruleset: RuleSet) -> None:
    base = {"name": "A", "country": "CN"}
    sector = one(ruleset, {**base, "product": "cotton"})["risk_score"]
    both = one(ruleset, {**base, "product": "cotton"}, (0, "sanction", 93.0, "match"))["risk_score"]
    weak = one(ruleset, base, (0, "sanction", 86.0, "match"))["risk_score"]
    strong = one(ruleset, base, (0, "sanction", 99.0, "match"))["risk_score"]
    everything = one(
        ruleset,
        {**base, "product": "cotton", "address": "Urumqi", "uscc": "91650100MA77Q4R27J"},
        (0, "uflpa", 99.0, "match"),
        (0, "wro_active", 99.0, "match"),
        (0, "sanction", 99.0, "match"),
    )
    assert 0 < sector < both
    assert weak < strong
    assert everything["risk_score"] <= 100


def test_every_tier_is_reachable(ruleset: RuleSet) -> None:
    rows = suppliers(
        {"name": "A", "address": "Kashgar, Xinjiang"},
        {"name": "B", "uscc": "91650100MA77Q4R27J"},
        {"name": "C", "country": "CN", "product": "tomato"},
        {"name": "D", "country": "CN"},
        {"name": "E", "country": "FR"},
    )
    assert evaluate(rows, candidates(), ruleset)["risk_tier"].to_list() == list(TIERS)


def test_same_inputs_same_verdicts(ruleset: RuleSet) -> None:
    rows = suppliers(*(dict(zip(SUPPLIER_COLUMNS, case[:6], strict=True)) for case in DEV_CASES))
    matches = candidates((0, "uflpa", 95.0, "match"), (3, "research", 90.0, "match"), (5, "csl_other", 80.0, "review"))
    assert evaluate(rows, matches, ruleset).equals(evaluate(rows, matches, load_rules([])))


# ------------------------------------------------------------------ user rule files


def write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_overrides_a_builtin_rule_by_id(tmp_path: Path) -> None:
    custom = load_rules([write(tmp_path, '[[rule]]\nid = "high_priority_sector"\ntier = "high"\nweight = 60\n')])
    assert custom.rule("high_priority_sector").tier == "high"
    assert custom.rule("high_priority_sector").reason == load_rules([]).rule("high_priority_sector").reason
    result = one(custom, {"name": "A", "country": "CN", "product": "cotton"})
    assert result["risk_tier"] == "high"
    assert result["risk_score"] == 60.0


def test_user_file_disables_and_adds_rules(tmp_path: Path) -> None:
    text = """
[[rule]]
id = "china_no_signal"
enabled = false

[[rule]]
id = "bis_any"
title = "Any BIS listing is critical for us"
tier = "critical"
weight = 90
kind = "list_match"
reason = "Company policy: {authority} listing on {list_name} ({program}) — {source_url}"
[rule.when]
authority = ["US-BIS"]
"""
    custom = load_rules([write(tmp_path, text)])
    assert "china_no_signal" not in [rule.id for rule in custom.rules]
    rows = suppliers({"name": "A", "country": "CN"}, {"name": "B", "country": "CN"})
    out = evaluate(rows, candidates((1, "csl_xinjiang", 95.0, "match")), custom)
    assert out["risk_tier"].to_list() == ["clear", "critical"]
    assert "Company policy: US-BIS listing" in reason_text(out["reasons"][1])


def test_user_file_adds_a_sector(tmp_path: Path) -> None:
    text = """
[[sector]]
id = "cobalt"
name = "cobalt"
designated = 2025-01-01
designation = "company policy"
source_url = "https://example.org/policy"
keywords = ["cobalt"]
hs_prefixes = ["8105"]
"""
    custom = load_rules([write(tmp_path, text)])
    result = one(custom, {"name": "A", "country": "CN", "product": "cobalt powder"})
    assert result["risk_tier"] == "medium"
    assert "cobalt (designated 2025-01-01, company policy)" in reason_text(result["reasons"])


def test_rules_version_changes_with_user_rules(tmp_path: Path) -> None:
    builtin = load_rules([]).version
    assert builtin == load_rules([]).version
    assert load_rules([write(tmp_path, '[[rule]]\nid = "uscc_xuar"\nweight = 71\n')]).version != builtin


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rule]]\nid = "x"\ntier = "high\n', "invalid TOML"),
        ('[[rule]]\nid = "x"\ntier = "high\n', "line 3"),
        (
            '[[rule]]\nid = "high_priority_sector"\ntier = "severe"\n',
            "rule 'high_priority_sector': field 'tier' must be one of critical, high, medium, low (got 'severe')",
        ),
        ('[[rule]]\nid = "uscc_xuar"\nweight = 150\n', "field 'weight' must be a number from 0 to 100"),
        (
            '[[rule]]\nid = "new_rule"\ntier = "high"\nweight = 5\nkind = "list_match"\n',
            "rule 'new_rule': field 'title' is required",
        ),
        (
            '[[rule]]\nid = "x"\ntitle = "t"\ntier = "high"\nweight = 5\nkind = "python"\nreason = "r"\n',
            "field 'kind' must be one of list_match",
        ),
        (
            '[[rule]]\nid = "review_candidate"\nreason = "{no_such_field}"\n',
            "field 'reason': unknown placeholder {no_such_field}",
        ),
        ('[[rule]]\nid = "review_candidate"\nreason = "[{list_name}"\n', "square brackets"),
        (
            '[[rule]]\nid = "review_candidate"\n[rule.when]\nlist_name_matches = "(unclosed"\n',
            "'list_name_matches' is not a valid regular expression",
        ),
        ('[[rule]]\nid = "review_candidate"\n[rule.when]\nshoe_size = ["42"]\n', "unknown condition 'shoe_size'"),
        ('[[rule]]\nid = "uscc_xuar"\n[rule.when]\nprefixes = ["XJ"]\n', "'prefixes' must list division-code"),
        ('[[rule]]\nid = "high_priority_sector"\n[rule.when]\nsectors = ["gold"]\n', "unknown sector 'gold'"),
        ('[[rule]]\nid = "high_priority_sector"\ncolour = "red"\n', "unknown field 'colour'"),
        ('[[rule]]\ntitle = "no id"\n', "field 'id' must be a name"),
        ('rule = "x"\n', "'rule' must be written as [[rule]] tables"),
        (
            '[[sector]]\nid = "s"\nname = "s"\ndesignation = "d"\nsource_url = "u"\ndesignated = "soon"\n',
            "sector 's': field 'designated' must be a date",
        ),
    ],
)
def test_malformed_rule_files_fail_with_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as failure:
        load_rules([path])
    assert str(path) in str(failure.value)
    assert message in str(failure.value)
    assert "\n" not in str(failure.value)


def test_missing_rules_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="nope.toml: no such file"):
        load_rules([tmp_path / "nope.toml"])


def test_no_rows_and_no_candidate_columns(ruleset: RuleSet) -> None:
    empty = evaluate(suppliers(), pl.DataFrame(), ruleset)
    assert empty.height == 0
    assert empty.columns == ["row", "risk_tier", "risk_score", "reasons", "fired_rules", "match_entity_id"]
    bare = pl.DataFrame({"row": [0], "name": ["Acme"]})
    assert evaluate(bare, pl.DataFrame(), ruleset)["risk_tier"].to_list() == ["clear"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*(st.one_of(st.none(), st.text(max_size=40)) for _ in SUPPLIER_COLUMNS)), max_size=8))
def test_any_text_in_any_column_gives_one_valid_verdict_per_row(rows: list[tuple[str | None, ...]]) -> None:
    ruleset = load_rules([])
    frame = suppliers(*(dict(zip(SUPPLIER_COLUMNS, row, strict=True)) for row in rows))
    out = evaluate(frame, candidates(), ruleset)
    assert out["row"].to_list() == list(range(len(rows)))
    assert set(out["risk_tier"].to_list()) <= set(TIERS)
    assert all(0 <= score <= 100 for score in out["risk_score"].to_list())
    pairs = zip(out["reasons"].to_list(), out["fired_rules"].to_list(), strict=True)
    assert all((reasons == []) == (fired == []) for reasons, fired in pairs)


ADDRESSES = [
    "Kashgar Prefecture, Xinjiang 844000", "No. 8 Renmin Road, Urumqi", "Wulumuqi Shi, China", "Ürümqi Economic Zone",
    "Hetian City, Hotan Prefecture", "新疆昌吉州准东经济技术开发区", "新疆维吾尔自治区乌鲁木齐市天山区", "Karamay Road, Shanghai",
    "Aksu", "Hotan 848000", "Room 5, 841000", "Postbox 8430001", "Shihezi", "Tianshan District, Shanghai",
    "No. 5 Industrial Road, 12 District", "Ho Chi Minh City", "上海市浦东新区", "Factory: Urumqi Economic Zone", "", None,
]


def test_only_addresses_naming_a_xuar_place_or_postal_code_are_read_and_judged_as_all_are(monkeypatch) -> None:
    from screener import gazetteer, rules

    frame = pl.DataFrame(
        {"row": range(len(ADDRESSES) * 3), "address": ADDRESSES * 3, "country": ["CN", "HK", None] * len(ADDRESSES)},
        schema={"row": pl.UInt32, "address": pl.String, "country": pl.String},
    )
    judge = gazetteer._judge_addresses
    read: list[str] = []
    monkeypatch.setattr(gazetteer, "_judge_addresses", lambda frame, places: read.extend(frame["address"].drop_nulls())
                        or judge(frame, places))
    facts = rules.supplier_facts(frame.with_columns(name=pl.lit("Golden Harbour Textiles Ltd")))
    unread = {"No. 5 Industrial Road, 12 District", "Ho Chi Minh City", "上海市浦东新区", "Postbox 8430001", "", None}
    assert set(read) == set(ADDRESSES) - unread
    every = judge(frame, gazetteer.load_gazetteer())
    assert facts.select("xuar_address", "xuar_places").equals(every.select("xuar_address", "xuar_places"))
    assert facts["xuar_address"].sum() > 10


def _grouped(entries: pl.DataFrame, columns: tuple[tuple[pl.Expr, pl.Expr], ...]) -> pl.DataFrame:
    return entries.group_by("row", maintain_order=True).agg(*(grouped for grouped, _ in columns)).sort("row")


def test_rows_with_one_fired_rule_get_what_grouping_gives() -> None:
    """A row one rule fired for takes its verdict without grouping; rows several fired for are grouped: both give
    what grouping every row gives (a product of one share, a list of one reason, the one headline entity)."""
    fired = pl.DataFrame(
        {
            "row": [0, 1, 1, 2, 3, 3, 3],
            "tier_rank": [2, 0, 1, 3, 1, 1, 2],
            "contribution": [40.0, 90.0, 33.3, 10.0, 50.0, 25.0, 12.5],
            "position": [4, 0, 2, 7, 1, 3, 5],
            "reason": [["a"], ["b", "c"], ["d"], ["e"], ["f"], ["g"], ["h"]],
            "rule_id": ["r4", "r0", "r2", "r7", "r1", "r3", "r5"],
            "headline_entity": [None, "x", "y", "z", None, "w", "v"],
            "headline_score": [None, 91.0, 88.0, 70.0, None, 95.0, 99.0],
        },
        schema_overrides={"row": pl.UInt32, "tier_rank": pl.Int8, "position": pl.Int32},
    ).sort(["row", "tier_rank", "contribution", "position"], descending=[False, False, True, False])
    columns = _verdict_aggregates()
    assert_frame_equal(_per_row(fired.lazy(), columns, fired["row"]).collect().sort("row"), _grouped(fired, columns))
    for rows in ([0, 2], [1, 3]):  # every row with one entry; every row with several
        some = fired.filter(pl.col("row").is_in(rows))
        assert_frame_equal(_per_row(some.lazy(), columns, some["row"]).collect().sort("row"), _grouped(some, columns))
    verdict = _per_row(fired.lazy(), columns, fired["row"]).collect().sort("row")
    assert verdict["risk_score"].to_list() == [40.0, 93.3, 10.0, 67.2]
    assert verdict["fired_rules"].to_list()[3] == ["r1", "r3", "r5"]

    hits = (
        fired.with_columns(confidence=pl.col("contribution"), kind=pl.lit("listed"))
        .drop("reason")
        .with_columns(_rendered("on the {kind} list[ (entity {headline_entity})]"))
    )
    reasons = _reason_aggregates()
    grouped = _per_row(hits.lazy(), reasons, hits["row"]).collect().sort("row")
    assert_frame_equal(grouped, _grouped(hits, reasons))
    assert grouped["reason"].to_list()[3] == ["on the listed list", "on the listed list (entity w)", "on the listed list (entity v)"]


def test_sector_hits_read_each_distinct_product_once_and_keep_rows_and_sectors_in_order() -> None:
    """Goods repeated across rows, a product in two sectors, an HS code alone, nothing at all: every row gets the
    hits its own product and code give, by row, then in the sectors' order."""
    sectors = load_rules().sectors
    names = {sector.id: sector.name for sector in sectors}
    suppliers = pl.DataFrame(
        {
            "row": [4, 1, 2, 3, 0, 5],
            "product": ["cotton t-shirts and tomato paste", "tomato paste", None, "cotton t-shirts and tomato paste", None, "steel bolts"],
            "hs_code": [None, None, "5201.00", None, None, "7318"],
        },
        schema={"row": pl.UInt32, "product": pl.String, "hs_code": pl.String},
    )
    hits = sector_hits(suppliers, sectors)
    order = [sector.name for sector in sectors]
    assert hits["row"].to_list() == sorted(hits["row"].to_list())
    for row in hits["row"].unique().to_list():
        found = hits.filter(pl.col("row") == row)["sector"].to_list()
        assert found == sorted(found, key=order.index)
    by_row = {row: hits.filter(pl.col("row") == row)["sector"].to_list() for row in range(6)}
    assert by_row[3] == by_row[4] and len(by_row[3]) == 2
    assert by_row[1] == [names[next(sector.id for sector in sectors if "tomato" in sector.keywords)]]
    assert by_row[0] == [] and len(by_row[2]) == 1
    assert hits.filter(pl.col("row") == 2)["sector_evidence"].item().startswith("HS code 5201.00 is under")
