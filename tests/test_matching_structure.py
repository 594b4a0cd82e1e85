"""Names read by their structure: one test per way a supplier file writes a listed name (must match) and per way
an unlisted name resembles one (must not reach the match band). The list is invented, in the forms real lists use."""

import datetime as dt

import polars as pl
import pytest

from screener.matching import MatchConfig, Matcher
from screener.normalize import normalize_name
from screener.schema import ENTITY_SCHEMA, entity_id

LISTED = [
    # (primary name, includes_affiliates, [(other name, kind, lang)])
    (
        "Xinjiang Hengrui Cotton Industry Co., Ltd.",
        False,
        [("新疆恒瑞棉业有限公司", "alias", "zh"), ("恒瑞", "alias", "zh")],
    ),
    ("Kelvoro Technology Co., Ltd.", False, [("Kelvoro", "alias", "en")]),
    ("Golden Union Metals Co., Ltd.", False, []),
    ("Lianfeng Chemical Co., Ltd.", False, []),
    ("Shaya Tongrui Textile Co., Ltd.", False, []),
    ("Zanfor Sugar Holding Co., Ltd.", False, []),
    ("Zerk Packaging Co., Ltd.", False, []),
    ("Qorvane Silicon Industry (Shanshan) Co., Ltd.", True, []),
    ("Qixin Green Energy Co., Ltd.", False, [("QX Solar", "alias", "en")]),
    ("Tangshan Moheng Machinery Group", False, []),
    ("Vormel Group", False, [("沃梅集团", "alias", "zh"), ("沃梅", "alias", "zh")]),
    (
        "Gansu Brivant International Trading Co., Ltd.",
        False,
        [("Gansu Brivant International Trade Group Co., Ltd.", "alias", "en")],
    ),
]


def lists() -> tuple[pl.DataFrame, pl.DataFrame]:
    entity_rows, name_rows = [], []
    for name, affiliates, others in LISTED:
        key = entity_id("uflpa", name)
        entity_rows.append(
            {
                "entity_id": key,
                "source": "uflpa",
                "list_name": "UFLPA Entity List",
                "list_kind": "legal",
                "authority": "US-DHS",
                "program": "UFLPA 2(d)(2)(B)(v)",
                "entity_type": "organization",
                "name": name,
                "country": "CN",
                "addresses": "",
                "sector": "",
                "merchandise": "",
                "status": "active",
                "start_date": dt.date(2024, 5, 17),
                "end_date": None,
                "citation": "FR",
                "remarks": "",
                "source_url": "https://example.gov",
                "includes_affiliates": affiliates,
            }
        )
        name_rows.append({"entity_id": key, "name": name, "kind": "primary", "lang": "en"})
        name_rows += [{"entity_id": key, "name": other, "kind": kind, "lang": lang} for other, kind, lang in others]
    return pl.DataFrame(name_rows), pl.DataFrame(entity_rows, schema=ENTITY_SCHEMA)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    names, entities = lists()
    return Matcher(names, entities, MatchConfig())


def best(matcher: Matcher, name: str, country: str | None = "CN") -> dict | None:
    found = matcher.check(name, country)
    return None if found.is_empty() else found.row(0, named=True)


def matches(matcher: Matcher, name: str, listed: str) -> bool:
    top = best(matcher, name)
    return top is not None and top["band"] == "match" and top["entity_id"] == entity_id("uflpa", listed)


HENGRUI = "Xinjiang Hengrui Cotton Industry Co., Ltd."


@pytest.mark.parametrize(
    ("category", "query"),
    [
        ("customs abbreviations", "XINJIANG HENGRUI CTN IND CO LTD"),
        ("address after the legal form", "Xinjiang Hengrui Cotton Industry Co., Ltd., No. 8 Beijing Road, Urumqi 830000"),
        ("address after a comma", "Xinjiang Hengrui Cotton Industry, 18 Youhao Road, Urumqi 830000"),
        ("branch after the legal form", "Xinjiang Hengrui Cotton Industry Co., Ltd. Kuitun Branch"),
        ("branch in Chinese", "新疆恒瑞棉业有限公司第二分厂"),
        ("scanning confusion", "XINJIANG HENGRU1 COTTON INDUSTRY CO LTD"),
        ("scanning confusion of letters", "Xinjiang Hengrui Cotton lndustry Co., Ltd."),
        ("words written together", "XINJIANGHENGRUI COTTON INDUSTRY CO LTD"),
        ("syllables written apart", "Xin Jiang Heng Rui Cotton Industry Co., Ltd."),
        ("tone marks", "Xīnjiāng Héngruì Cotton Industry Co., Ltd."),
        ("traditional characters", "新疆恆瑞棉業有限公司"),
        ("both scripts in one cell", "新疆恒瑞棉业 Xinjiang Hengrui Cotton"),
        ("industry and legal form in pinyin", "Xinjiang Hengrui Mianye Youxian Gongsi"),
        ("old romanisation of the place", "Sinkiang Hengrui Cotton Industry Co., Ltd."),
        ("place in brackets", "Hengrui Cotton Industry (Xinjiang) Co., Ltd."),
        ("legal form glued to the name", "Xinjiang Hengrui Cotton IndustryCo.,Ltd."),
        ("legal form of another country", "Xinjiang Hengrui Cotton Industry Pty Ltd"),
        ("joint-stock form in English", "Xinjiang Hengrui Cotton Industry Joint-Stock Co., Ltd."),
        ("swapped letters in pinyin", "Xinjiang Hnegrui Cotton Industry Co., Ltd."),
        ("short alias with its industry", "恒瑞棉业"),
    ],
)
def test_supplier_file_forms_of_a_listed_name_match(matcher, category, query):
    assert matches(matcher, query, HENGRUI), category


@pytest.mark.parametrize(
    ("subsidiary", "branch"),
    [
        ("Xinjiang Hengrui Cotton Industry Subsidiary Co., Ltd.", "Xinjiang Hengrui Cotton Industry Branch Co., Ltd."),
        ("Subsidiary Factory of Xinjiang Hengrui Cotton Industry Co., Ltd.", "Branch Factory of Xinjiang Hengrui Cotton Industry Co., Ltd."),
    ],
)
def test_a_subsidiary_qualifier_weighs_as_little_as_a_branch_qualifier(matcher, subsidiary, branch):
    """'Subsidiary Factory of X', 'X Subsidiary Company' (brands' facility lists write them so) qualify a name as
    'branch' does: a word of any company name, not an unexplained extra word."""
    assert best(matcher, subsidiary)["score"] == best(matcher, branch)["score"]


BRIVANT = "Gansu Brivant International Trading Co., Ltd."


@pytest.mark.parametrize(
    ("category", "query"),
    [
        ("trade as the list writes it", "Gansu Brivant International Trade Co., Ltd."),
        ("trade in customs abbreviations", "GANSU BRIVANT INTL TRDG CO LTD"),
    ],
)
def test_trading_company_written_another_way_matches(matcher, category, query):
    assert matches(matcher, query, BRIVANT), category


@pytest.mark.parametrize(
    ("category", "query"),
    [
        ("a maker, where a trading company is listed", "Gansu Brivant Textile Co., Ltd."),
        ("'industrial' as the only industry word (实业)", "Gansu Brivant Industrial Co., Ltd."),
        ("the industrial group beside a listed trading group", "Gansu Brivant Industrial (Group) Co., Ltd."),
    ],
)
def test_same_trade_name_and_place_with_another_stated_industry_is_another_company(matcher, category, query):
    assert "industry conflicts" in reading(matcher, query)["explanation"], category


def test_name_cut_at_a_manifest_field_width_matches(matcher):
    cut = "XINJIANG HENGRUI COTTON INDUSTRY GROUP CO LTD"[:35]
    assert len(cut) == 35 and cut.endswith(" GR")
    assert matches(matcher, cut, HENGRUI)


KELVORO = "Kelvoro Technology Co., Ltd."
CUT_NAMES = [
    "SHENZHEN NANSHAN SCIENCE PARK KELVORO TECHNOLOGY"[:35],
    "XINJIANG HENGRUI COTTON INDUSTRY GROUP CO LTD"[:35],
    "SHAYA TONGRUI TEXTILE COMPANY LIMITED COMMERCE"[:35],
    "ZANFOR SUGAR HOLDING CO LTD COMMERCIAL DEPARTMENT"[:35],
]


def test_a_word_cut_at_the_field_width_is_read_as_the_list_words_it_begins(matcher):
    assert CUT_NAMES[0].endswith(" KELVO")
    top = best(matcher, CUT_NAMES[0])
    assert top is not None and top["entity_id"] == entity_id("uflpa", KELVORO)
    assert "near spellings (typo, scan or cut): kelvo≈kelvoro" in top["explanation"]


def test_names_cut_short_score_alike_alone_and_in_a_batch(matcher):
    """A stub too short to say which word it begins ('GR', 'COM') is left out, in a batch of stubs too."""
    assert {len(name) for name in CUT_NAMES} == {35}
    batch = matcher.match(
        pl.DataFrame(
            {"row": range(len(CUT_NAMES)), "name": CUT_NAMES, "country": "CN", "address": None},
            schema={"row": pl.Int64, "name": pl.String, "country": pl.String, "address": pl.String},
        )
    )
    alone = [best(matcher, name) for name in CUT_NAMES]
    for row, top in enumerate(alone):
        first = batch.filter(pl.col("row") == row).row(0, named=True)
        assert (first["entity_id"], first["score"]) == (top["entity_id"], top["score"])
    assert [top["score"] for top in alone[1:]] == [100.0, 100.0, 100.0]


VORMEL = "Vormel Group"


def test_a_group_listed_by_its_chinese_short_name_matches_in_the_same_characters(matcher):
    """溢达集团 is how the list itself names Esquel Group: the trade name and the group word in the listed characters
    need no place or industry to corroborate them, as the bare trade name 溢达 does."""
    assert matches(matcher, "沃梅集团", VORMEL)


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("Qixni Green Energy Co., Ltd.", "Qixin Green Energy Co., Ltd."),
        ("Shaya Tongriu Textile Co., Ltd.", "Shaya Tongrui Textile Co., Ltd."),
        ("Qixin Energy Co., Ltd.", "Qixin Green Energy Co., Ltd."),
    ],
)
def test_a_trade_name_within_a_typo_matches_when_every_listed_word_is_there_or_it_is_exact(matcher, query, listed):
    assert matches(matcher, query, listed)


def reading(matcher: Matcher, query: str) -> dict:
    """The best candidate of a name that must not reach the match band."""
    top = best(matcher, query)
    assert top is None or top["band"] != "match", top
    return top or {}


@pytest.mark.parametrize(
    ("category", "query", "why"),
    [
        ("same sound, other characters", "新疆恒锐棉业有限公司", "Chinese characters of the trade name differ"),
        ("short alias and a group word", "恒瑞集团有限公司", "group or holding company"),
        ("short alias in pinyin, nothing else", "Hengrui Co., Ltd.", "short listed alias"),
        ("common English words", "Golden Union Holdings Co., Ltd.", ""),
        ("shared trade name, other industry", "Lianfeng Garment Co., Ltd.", "industry conflicts"),
        ("shared trade name, other province", "Jiangyin Tongrui Textile Co., Ltd.", "place conflicts"),
        ("another trade name word", "Yuanshan Kelvoro Technology Co., Ltd.", "other trade name words: yuanshan"),
        ("trade name within a typo, a listed word missing", "Qixni Energy Co., Ltd.", "trade name agrees only within a typo"),
        ("trade name within a typo, the listed place missing", "Tongriu Textile Co., Ltd.", "only within a typo"),
        ("initials of an alias", "QX Energy Group Co., Ltd.", ""),
        ("pinyin one letter off", "Xinjiang Hengrun Cotton Industry Co., Ltd.", ""),
        ("short word one letter off", "Zork Packaging Co., Ltd.", ""),
        ("a listed group's bare short alias", "沃梅", "short listed alias"),
        ("a listed group's short name in pinyin, which other characters share", "Womei Group", "short listed alias"),
        ("a listed group's short name in other characters of the same sound", "握美集团", "Chinese characters of the trade name differ"),
    ],
)
def test_look_alikes_of_a_listed_name_do_not_match(matcher, category, query, why):
    top = reading(matcher, query)
    if why:
        assert why in top["explanation"], category


def test_sister_company_is_same_group_for_review(matcher):
    top = reading(matcher, "Zanfor Capital Holdings Co., Ltd.")
    assert (top["band"], top["relation"]) == ("review", "group")
    assert "same group, different company" in top["explanation"]


def test_group_of_a_listed_member_is_same_group_for_review(matcher):
    top = reading(matcher, "Kelvoro Group Co., Ltd.")
    assert (top["band"], top["relation"]) == ("review", "group")


MOHENG = "Tangshan Moheng Machinery Group"


def test_a_branch_in_another_city_is_the_listed_company_itself(matcher):
    """A branch (分公司) is the company itself, wherever it is: the place named with it is where the branch works,
    not a place the company claims."""
    assert matches(matcher, "Moheng Machinery Group Qingdao Branch", MOHENG)


@pytest.mark.parametrize("query", ["Moheng Machinery Qingdao Co., Ltd.", "Qingdao Moheng Machinery Group"])
def test_a_company_of_the_same_trade_name_registered_in_another_city_is_same_group_for_review(matcher, query):
    top = reading(matcher, query)
    assert (top["band"], top["relation"]) == ("review", "group")


def test_other_subsidiary_of_an_entity_listed_with_subsidiaries_is_a_possible_subsidiary(matcher):
    top = reading(matcher, "Qorvane Silicon Industry (Luzhou) Co., Ltd.")
    assert (top["band"], top["relation"]) == ("review", "subsidiary")


@pytest.mark.parametrize(
    ("query", "ignored"),
    [
        ("Xinjiang Hengrui Cotton Industry Co., Ltd. Kuitun Branch", "Kuitun Branch"),
        ("Xinjiang Hengrui Cotton Industry, 18 Youhao Road, Urumqi 830000", "18 Youhao Road, Urumqi 830000"),
        ("新疆恒瑞棉业有限公司第二分厂", "第二分厂"),
    ],
)
def test_explanation_names_what_follows_the_name_and_was_ignored(matcher, query, ignored):
    assert f"ignored after the name: '{ignored}'" in best(matcher, query)["explanation"]


def test_explanation_of_a_name_without_a_tail_ignores_nothing(matcher):
    assert "ignored" not in best(matcher, HENGRUI)["explanation"]


def test_explanation_names_the_parts(matcher):
    top = best(matcher, "XINJIANG HENGRUI CTN IND CO LTD")
    assert "trade name agrees (hengrui)" in top["explanation"]


def test_explanation_says_when_the_chinese_characters_themselves_agree(matcher):
    """Chinese script is compared character by character, not by its sound: the explanation says so."""
    assert "trade name agrees (hengrui, in the same Chinese characters)" in best(matcher, "新疆恆瑞棉業有限公司")["explanation"]


def test_listed_names_are_never_rewritten():
    """A listed name is read as written: 'Tangshan' is a city, not a misspelt 'Tianshan'."""
    assert normalize_name("Tangshan Moheng Machinery Group", listed=True) == "tangshan moheng machinery"
    assert normalize_name("TANGSHAN MOHENG CTN", listed=True) == "tangshan moheng ctn"
    assert normalize_name("TANGSHAN MOHENG CTN") == "tangshan moheng cotton"


@pytest.mark.parametrize("length", [50_000, 60_000])
def test_a_word_of_tens_of_thousands_of_letters_is_matched_in_linear_time(matcher, length):
    """No typo keys for such a word (their number grows with the square of its length)."""
    assert best(matcher, "x" * length) is None
    names, entities = lists()
    long_name = pl.DataFrame({"entity_id": [entities["entity_id"][0]], "name": ["y" * length], "kind": ["alias"], "lang": ["en"]})
    grown = Matcher(pl.concat([names, long_name]), entities)
    assert matches(grown, HENGRUI, HENGRUI)
