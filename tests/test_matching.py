"""The Matcher: what it must find, what it must not flag, scores, bands and explanations."""

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from screener.embedded import read_embedded
from screener.matching import OUTPUT_SCHEMA, MatchConfig, Matcher
from screener.schema import ENTITY_SCHEMA, entity_id

LISTED = [
    # (source, primary name, country, includes_affiliates, entity_type, [(other name, kind, lang)])
    (
        "uflpa",
        "Xinjiang Zhongtai Chemical Co., Ltd.",
        "CN",
        False,
        "organization",
        [("新疆中泰化学股份有限公司", "alias", "zh")],
    ),
    ("uflpa", "Hoshine Silicon Industry (Shanshan) Co., Ltd.", "CN", True, "organization", []),
    ("uflpa", "Xinjiang Junggar Cotton and Linen Co., Ltd.", "CN", False, "organization", []),
    ("uflpa", "Xinjiang Production and Construction Corps", "CN", False, "organization", [("XPCC", "alias", "en")]),
    ("cbp_wro", "Hetian Haolin Hair Accessories Co., Ltd.", "CN", False, "organization", []),
    (
        "uflpa",
        "Ninestar Corporation",
        "CN",
        False,
        "organization",
        [("Zhuhai Pantum Electronics Co., Ltd.", "subsidiary", "en")],
    ),
    ("sanctions", "Sun Jinlong", "CN", False, "person", []),
    ("uflpa", "Xinjiang Tianmian Foundation Textile Co., Ltd.", "CN", False, "organization", []),
    ("cbp_wro", "Smart Glove Corporation Sdn Bhd", "MY", False, "organization", []),
    ("uflpa", "Xinjiang Huafu Textile Co., Ltd.", "CN", False, "organization", []),
    ("uflpa", "Xinjiang East Hope Nonferrous Metals Co., Ltd.", "CN", False, "organization", []),
    ("uflpa", "Xinjiang Tianshan Wool Textile Co. Ltd.", "CN", False, "organization", []),
    ("cbp_wro", "Wugang Zhongchang Logistics Co., Ltd.", "CN", False, "organization", []),
]


def lists() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Entity and name frames of a small, realistic list."""
    entity_rows, name_rows = [], []
    for source, name, country, affiliates, kind, others in LISTED:
        key = entity_id(source, name)
        entity_rows.append(
            {
                "entity_id": key,
                "source": source,
                "list_name": source,
                "list_kind": "legal",
                "authority": "US-DHS",
                "program": "p",
                "entity_type": kind,
                "name": name,
                "country": country,
                "addresses": "",
                "sector": "",
                "merchandise": "",
                "status": "active",
                "start_date": dt.date(2023, 6, 12),
                "end_date": None,
                "citation": "c",
                "remarks": "",
                "source_url": "https://example.gov",
                "includes_affiliates": affiliates,
            }
        )
        name_rows.append({"entity_id": key, "name": name, "kind": "primary", "lang": "en"})
        name_rows += [{"entity_id": key, "name": other, "kind": k, "lang": lang} for other, k, lang in others]
    return pl.DataFrame(name_rows), pl.DataFrame(entity_rows, schema=ENTITY_SCHEMA)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    names, entities = lists()
    return Matcher(names, entities, MatchConfig())


def best(matcher: Matcher, name: str, country: str | None = None) -> dict | None:
    """The top candidate of one name, with the primary name of its entity."""
    found = matcher.check(name, country)
    if found.is_empty():
        return None
    top = found.row(0, named=True)
    primary = {entity_id(source, primary): primary for source, primary, *_ in LISTED}
    return {**top, "entity": primary[top["entity_id"]]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("新疆中泰化学", "Xinjiang Zhongtai Chemical Co., Ltd."),
        ("新疆中泰化学股份有限公司", "Xinjiang Zhongtai Chemical Co., Ltd."),
        ("Zhong Tai Chemical (Xinjiang) Company Limited", "Xinjiang Zhongtai Chemical Co., Ltd."),
        ("Chemical Xinjiang Zhongtai Co Ltd", "Xinjiang Zhongtai Chemical Co., Ltd."),
        ("XINJIANG ZHONGTAI CHEMICAL CO   LTD", "Xinjiang Zhongtai Chemical Co., Ltd."),
        ("Xinjiang Zhongtia Chemical Co., Ltd.", "Xinjiang Zhongtai Chemical Co., Ltd."),
        ("Wugang Zohngchang Logistics Co., Ltd.", "Wugang Zhongchang Logistics Co., Ltd."),
        ("Hotan Haolin Hair Accessories Co., Ltd.", "Hetian Haolin Hair Accessories Co., Ltd."),
        ("Xinjiang Production & Construction Corps", "Xinjiang Production and Construction Corps"),
        ("新疆生产建设兵团", "Xinjiang Production and Construction Corps"),
        ("Zhuhai Pantum Electronics Co., Ltd.", "Ninestar Corporation"),
        ("Xinjiang Tianmian Foundation Tex Co., Ltd.", "Xinjiang Tianmian Foundation Textile Co., Ltd."),
        ("Smart Glove Corp Sdn. Bhd.", "Smart Glove Corporation Sdn Bhd"),
    ],
)
def test_variants_of_listed_names_are_flagged(matcher, query, expected):
    top = best(matcher, query)
    assert top is not None and top["entity"] == expected
    assert top["band"] == "match"


def test_chinese_script_match_says_how_it_matched(matcher):
    top = best(matcher, "新疆中泰化学股份有限公司")
    assert "pinyin of Chinese script" in top["explanation"]
    assert "zhongtai" in top["explanation"]


@pytest.mark.parametrize("name", ["新疆中泰化学 Xinjiang Zhongtai Chemical", "Xinjiang Zhongtai Chemical 新疆中泰化学"])
def test_a_name_written_in_two_scripts_is_explained_as_written(matcher, name):
    """Its parts in each script are matched too; when one scores as high as the whole name, the explanation still
    reads the whole name (ties broken by the query, not by the order rows happen to come in)."""
    for _ in range(2):
        assert "pinyin of Chinese script" in best(matcher, name)["explanation"]


def test_subsidiary_name_is_reported_as_such(matcher):
    top = best(matcher, "Zhuhai Pantum Electronics Co., Ltd.")
    assert top["name_kind"] == "subsidiary"
    assert top["matched_name"] == "Zhuhai Pantum Electronics Co., Ltd."


def test_other_subsidiary_of_an_entity_listed_with_its_subsidiaries_is_a_possible_subsidiary_for_review(matcher):
    """Same distinctive trade name, another place: not the listed company, but possibly its subsidiary, which the
    listing covers — review (the rules make it high, never critical)."""
    found = matcher.check("Hoshine Silicon Industry (Luzhou) Co., Ltd.", "CN")
    shanshan = found.filter(pl.col("matched_name") == "Hoshine Silicon Industry (Shanshan) Co., Ltd.").row(0, named=True)
    assert (shanshan["band"], shanshan["relation"]) == ("review", "subsidiary")
    assert "possible subsidiary" in shanshan["explanation"]
    assert "place conflicts" in shanshan["explanation"]


@pytest.mark.parametrize(
    "query",
    [
        "Xinjiang Tianshan Cotton Trading Co.",
        "China Textile Co., Ltd.",
        "Xinjiang Huayu Foundation Textile Co., Ltd.",
        "Jinlong Tea Farm",
        "Xinjiang Cotton Trading Co., Ltd.",
        "Hetian Jintai Hair Accessories Co., Ltd.",
        "Zhongtai Securities Co., Ltd.",
        "Shanghai Hair Accessories Co., Ltd.",
    ],
)
def test_names_sharing_only_generic_or_sibling_words_are_not_flagged(matcher, query):
    found = matcher.check(query, "CN")
    assert found.filter(pl.col("band") == "match").is_empty()


def test_company_without_a_listed_word_gets_no_candidate(matcher):
    assert matcher.check("China Textile Co., Ltd.").is_empty()


def test_country_conflict_lowers_the_score_and_is_explained(matcher):
    agreeing = best(matcher, "Smart Glove Corporation", "MY")
    conflicting = best(matcher, "Smart Glove Corporation", "CN")
    unknown = best(matcher, "Smart Glove Corporation")
    assert conflicting["score"] < unknown["score"] <= agreeing["score"]
    assert "conflicts" in conflicting["explanation"] and "agrees" in agreeing["explanation"]


def test_explanations_name_the_variant_the_forms_and_the_words(matcher):
    top = best(matcher, "Xinjiang Tianmian Foundation Tex Co., Ltd.", "CN")
    explanation = top["explanation"]
    assert "primary 'Xinjiang Tianmian Foundation Textile Co., Ltd.'" in explanation
    assert "'xinjiang tianmian foundation textile'" in explanation
    assert "shared:" in explanation and "tianmian" in explanation
    assert "low-weight:" in explanation and "xinjiang" in explanation


def test_bands_follow_the_configured_thresholds():
    names, entities = lists()
    strict = Matcher(names, entities, MatchConfig(match_threshold=99.0, review_threshold=40.0))
    queries = pl.DataFrame(
        {"row": [0, 1, 2], "name": ["Xinjiang Zhongtia Chemical", "Zhongtai Securities", "Hoshine Silicon"]}
    )
    found = strict.match(queries)
    assert not found.is_empty()
    assert (found["score"] >= 40.0).all()
    assert found.select(((pl.col("band") == "match") == (pl.col("score") >= 99.0)).all()).item()
    assert found.filter(pl.col("score") < 85).height > 0


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="thresholds"):
        MatchConfig(match_threshold=60.0, review_threshold=70.0)


def test_output_is_one_row_per_row_and_entity_sorted_by_row_then_score(matcher):
    queries = pl.DataFrame(
        {
            "row": [5, 2, 9],
            "name": ["Xinjiang Zhongtai Chemical", "新疆中泰化学", "Hoshine Silicon"],
            "country": ["CN", None, "CN"],
            "address": [None, None, None],
        },
        schema={"row": pl.UInt32, "name": pl.String, "country": pl.String, "address": pl.String},
    )
    found = matcher.match(queries)
    assert found.columns == list(OUTPUT_SCHEMA)
    assert found.schema["row"] == pl.UInt32
    assert found.select("row", "entity_id").is_unique().all()
    assert found.equals(found.sort(["row", "score"], descending=[False, True], maintain_order=True))
    assert set(found["row"]) == {2, 5, 9}


def test_empty_input_returns_an_empty_frame_with_the_contract_schema(matcher):
    empty = pl.DataFrame(schema={"row": pl.Int64, "name": pl.String, "country": pl.String, "address": pl.String})
    found = matcher.match(empty)
    assert found.is_empty()
    assert found.schema == pl.Schema(OUTPUT_SCHEMA)


def test_blank_names_and_names_without_country_column_are_handled(matcher):
    found = matcher.match(pl.DataFrame({"row": [0, 1, 2], "name": ["", None, "Xinjiang Zhongtai Chemical"]}))
    assert found["row"].to_list() == [2]


def test_blocking_loses_nothing_the_exhaustive_scan_finds(matcher):
    queries = pl.DataFrame(
        {
            "row": list(range(6)),
            "name": [
                "Xinjiang Zhongtai Chemical",
                "Hotan Haolin Hair",
                "Hoshine Silicon (Luzhou)",
                "Xinjiang Huafu Tex",
                "Ninestar Corp",
                "Xinjiang Textile Wool Tianshan",
            ],
        }
    )
    blocked = matcher.match(queries).select("row", "entity_id")
    exhaustive = matcher.match(queries, exhaustive=True).select("row", "entity_id")
    assert exhaustive.join(blocked, on=["row", "entity_id"], how="anti").is_empty()


def test_embedded_lists_match_chinese_script_against_english_entries():
    lists_ = read_embedded()
    entities = pl.concat([item.entities for item in lists_], how="vertical_relaxed")
    names = pl.concat([item.names for item in lists_], how="vertical_relaxed")
    found = Matcher(names, entities).check("新疆中泰化学股份有限公司", "CN")
    listed = found.filter(pl.col("band") == "match").join(entities.select("entity_id", "name"), on="entity_id")
    assert "Xinjiang Zhongtai Chemical Co., Ltd." in listed["name"].to_list()


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=60), st.sampled_from([n for _, n, *_ in LISTED]).map(lambda n: n[:-3] + "x")))
def test_any_name_gets_scores_between_0_and_100(matcher, name):
    found = matcher.check(name)
    assert found.select(pl.col("score").is_between(0, 100).all()).item() in (True, None)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "😀😀 Trading Co., Ltd.",
        "\x00\x07\x1b[31mXinjiang\x7f",
        "Xinjiang Zhongtai " * 600,
        "新疆 Zhongtai ملك Синьцзян 株式会社 化学",
        "(((",
        "Co., Ltd.",
    ],
)
def test_no_input_string_crashes_the_engine(matcher, name):
    found = matcher.check(name)
    assert found.columns == list(OUTPUT_SCHEMA)


def test_rare_brand_words_outweigh_generic_words(matcher):
    brand_only = best(matcher, "Tianmian Foundation", "CN")
    generic_only = matcher.check("Xinjiang Foundation Textile", "CN")
    assert brand_only["entity"] == "Xinjiang Tianmian Foundation Textile Co., Ltd."
    assert brand_only["score"] >= MatchConfig().review_threshold
    tianmian = generic_only.filter(pl.col("entity_id") == brand_only["entity_id"])
    assert tianmian.is_empty() or tianmian["score"][0] < brand_only["score"]


def test_shared_address_place_corroborates_and_is_explained():
    names, entities = lists()
    police = entity_id("sanctions", "Xinjiang Police College")
    entities = pl.concat(
        [
            entities,
            entities.head(1).with_columns(
                entity_id=pl.lit(police),
                name=pl.lit("Xinjiang Police College"),
                addresses=pl.lit("Xinshi District, Changsha Road, No. 1108, Urumqi, Xinjiang, China"),
            ),
        ]
    )
    names = pl.concat(
        [
            names,
            pl.DataFrame(
                {"entity_id": [police], "name": ["Xinjiang Police College"], "kind": ["primary"], "lang": ["en"]}
            ),
        ]
    )
    matcher = Matcher(names, entities)
    queries = pl.DataFrame(
        {
            "row": [0, 1],
            "name": ["Xinjiang Police Academy"] * 2,
            "country": ["CN"] * 2,
            "address": ["1108 Changsha Rd, Xinshi Qu, Wulumuqi", None],
        }
    )
    found = matcher.match(queries).filter(pl.col("entity_id") == police).sort("row")
    with_address, without = found.row(0, named=True), found.row(1, named=True)
    assert with_address["score"] > without["score"]
    assert "address shares: changsha, wulumuqi, xinshi" in with_address["explanation"]
    assert "address" not in without["explanation"]


@pytest.fixture(scope="module")
def embedded_matcher() -> Matcher:
    lists_ = read_embedded()
    entities = pl.concat([item.entities for item in lists_], how="vertical_relaxed")
    names = pl.concat([item.names for item in lists_], how="vertical_relaxed")
    return Matcher(names, entities)


def one_row(name: str, country: str | None = None, address: str | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {"row": [0], "name": [name], "country": [country], "address": [address]},
        schema={"row": pl.Int64, "name": pl.String, "country": pl.String, "address": pl.String},
    )


def varied_names(matcher: Matcher) -> list[tuple[str, str | None, str | None]]:
    """Listed names as written and varied (case, legal form, typo, word order, Chinese script), with and without a
    country or an address, plus names that must match nothing."""
    names = matcher._name_table.sort("nid")
    english = names.filter(pl.col("lang") == "en")["name"].to_list()[::13]
    chinese = names.filter(pl.col("lang") == "zh")["name"].to_list()[::3]
    typos = [name[: len(name) // 2] + name[len(name) // 2 + 1 :] for name in english]
    reordered = [" ".join(reversed(name.split())) for name in english[::2]]
    varied = [name.upper().replace("CO., LTD.", "COMPANY LIMITED") for name in english[1::2]]
    negatives = [
        "China Textile Co.",
        "Xinjiang Tianshan Cotton Trading Co.",
        "Global Textiles Ltd",
        "Saigon Garment Company",
        "Prime Foods (Vietnam) Co., Ltd.",
        "华美服装有限公司",
        "",
        "Xinjiang Zhongtai Zhongtia Chemical Co., Ltd.",
        "Xinjiang Zhongtao Chemical Co., Ltd.",
        "Hoshine Silicon Industry (Luopu) Co., Ltd.",
    ]
    countries = ["CN", "US", None, "Hong Kong"]
    named = english + chinese + typos + reordered + varied + negatives
    cases = [(name, countries[i % len(countries)], None) for i, name in enumerate(named)]
    return cases + [(name, "CN", "No. 1 Changsha Road, Urumqi, Xinjiang") for name in english[::5]]


def test_check_gives_exactly_the_rows_match_gives(embedded_matcher):
    cases = varied_names(embedded_matcher)
    bands = set()
    for name, country, address in cases:
        checked = embedded_matcher.check(name, country, address)
        assert_frame_equal(checked, embedded_matcher.match(one_row(name, country, address)))
        bands.update(checked["band"].to_list())
    assert len(cases) > 100 and bands == {"match", "review"}


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(st.text(max_size=40), st.sampled_from([n for _, n, *_ in LISTED]).map(lambda n: n[:-4] + " (Kashgar)"))
)
def test_check_equals_match_for_any_string(matcher, name):
    assert_frame_equal(matcher.check(name, "CN"), matcher.match(one_row(name, "CN")))


def test_a_list_name_of_generic_words_only_is_found_through_its_word_pairs(embedded_matcher):
    """Such names have no informative word to be found by: a supplier having two of their weightiest words finds them,
    whatever other words it has."""
    keys = embedded_matcher._generic_keys.table.join(embedded_matcher._name_table.select("nid", "name"), on="nid")
    listed = keys.filter(pl.col("key") == "bureau security")
    assert listed["name"][0] in embedded_matcher.check(listed["name"][0], "CN")["matched_name"].to_list()
    words = pl.DataFrame({"qid": [0, 0, 0, 0, 1], "word": ["zorvath", "security", "kelmira", "bureau", "security"]})
    found = embedded_matcher._generic_candidates(words)
    assert set(listed["nid"]) <= set(found.filter(pl.col("qid") == 0)["nid"])
    assert found.filter(pl.col("qid") == 1).is_empty()
