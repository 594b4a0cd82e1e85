"""DHS UFLPA Entity List page: tables per clause, name cells with aliases and subsidiaries."""

import datetime as dt

import pytest

from sources import uflpa
from sources.base import Download, SourceFormatError
from sources.fetch_policy import Fetched
from sources.uflpa import split_name_cell
from tests.fixtures.sources.mock_http import fixture
from tests.fixtures.sources.parsed import entity, names_of

PAGE = fixture("uflpa_entity_list.html")


def parse(page: bytes = PAGE):
    return uflpa.parse(Download(url=uflpa.URL, files={"data": Fetched(url=uflpa.URL, content=page)}))


def test_every_listing_of_every_clause_is_parsed():
    parsed = parse()
    assert parsed.entities.height == 10
    assert set(parsed.entities["list_kind"]) == {"legal"}
    assert set(parsed.entities["country"]) == {"CN"}
    assert set(parsed.entities["source_url"]) == {uflpa.URL}
    assert parsed.as_of == dt.date(2025, 1, 15)


def test_entity_in_three_clauses_is_one_entity_with_three_listings():
    xpcc = entity(parse(), "Xinjiang Production and Construction Corps (XPCC)")
    assert xpcc["program"] == "UFLPA 2(d)(2)(B)(i); UFLPA 2(d)(2)(B)(ii); UFLPA 2(d)(2)(B)(iv)"
    assert xpcc["includes_affiliates"] is True
    assert xpcc["start_date"] == dt.date(2022, 6, 21)


def test_alias_lists_become_alias_names():
    parsed = parse()
    assert names_of(parsed, "Hefei Bitland Information Technology Co. Ltd.", "alias") == [
        "Anhui Hefei Baolongda Information Technology",
        "Hefei Baolongda Information Technology Co., Ltd.",
        "Hefei Bitland Optoelectronic Technology Co., Ltd.",
    ]
    assert names_of(parsed, "Hetian Haolin Hair Accessories Co. Ltd.", "alias") == [
        "Hotan Haolin Hair Accessories", "Hollin Hair Accessories"]
    assert names_of(parsed, "Changji Esquel Textile Co. Ltd.", "alias") == ["Changji Yida Textile"]
    assert names_of(parsed, "Xinjiang Habahe Ashele Copper Co., Ltd.", "alias") == ["Ashele Copper"]
    assert names_of(parsed, "Hefei Meiling Co. Ltd.", "former") == ["Changhong Meiling Co., Ltd."]


def test_named_subsidiaries_are_matched_names_of_the_parent():
    parsed = parse()
    ninestar = entity(parsed, "Ninestar Corporation")
    subsidiaries = names_of(parsed, "Ninestar Corporation", "subsidiary")
    assert len(subsidiaries) == 8
    assert subsidiaries[0] == "Zhuhai Ninestar Information Technology Co., Ltd."
    assert "Zhuhai G&G Digital Technology Co., Ltd." in subsidiaries
    assert subsidiaries[-1] == "Zhuhai Ninestar Management Co., Ltd."
    assert ninestar["includes_affiliates"] is True
    assert ninestar["start_date"] == dt.date(2023, 6, 12)
    assert names_of(parsed, "Chenguang Biotech Group Co., Ltd.", "subsidiary") == [
        "Chenguang Biotech Group Yanqi Co., Ltd."]
    assert entity(parsed, "Chenguang Biotech Group Co., Ltd.")["includes_affiliates"] is False


def test_and_subsidiaries_flags_affiliates_and_keeps_the_name_clean():
    hoshine = entity(parse(), "Hoshine Silicon Industry Co., Ltd.")
    assert hoshine["includes_affiliates"] is True
    assert hoshine["program"] == "UFLPA 2(d)(2)(B)(i)"


def test_entity_name_header_variant_and_clause_iii():
    meiling = entity(parse(), "Hefei Meiling Co. Ltd.")
    assert meiling["program"] == "UFLPA 2(d)(2)(B)(iii)"
    assert meiling["start_date"] == dt.date(2022, 12, 12)
    assert "exported products" in meiling["remarks"]


@pytest.mark.parametrize(
    ("cell", "main", "aliases", "subsidiaries", "affiliates"),
    [
        ("A Co., Ltd. (including two aliases: B Textile and C Textile)", "A Co., Ltd.", ["B Textile", "C Textile"], [], False),
        ("A Group (including one alias: A Grp) and its subordinate and affiliated entities", "A Group", ["A Grp"], [], True),
        ("A Co., Ltd, and Subsidiaries", "A Co., Ltd", [], [], True),
        ("A Corp and its subsidiary B Co., Ltd.", "A Corp", [], ["B Co., Ltd."], False),
        ("A Corp and its two Xinjiang-based subsidiaries, which include B Co., Ltd. and C Inc.", "A Corp", [],
         ["B Co., Ltd.", "C Inc."], True),
    ],
)
def test_name_cell_grammar(cell, main, aliases, subsidiaries, affiliates):
    parsed = uflpa.split_name_cell(cell)
    assert (parsed.main, parsed.aliases, parsed.subsidiaries, parsed.includes_affiliates) == (
        main, aliases, subsidiaries, affiliates)


def test_page_without_tables_is_refused():
    page = PAGE.split(b"<table", 1)[0] + b"</div></main></body></html>"
    with pytest.raises(SourceFormatError, match="no entity tables"):
        parse(page)


def test_renamed_columns_are_refused():
    page = PAGE.replace(b"Name of Entity", b"Company").replace(b"Entity Name", b"Company")
    with pytest.raises(SourceFormatError, match="no entity tables"):
        parse(page)


def test_a_heading_naming_the_clause_only_in_words_is_read_by_its_words():
    page = PAGE.replace(b"UFLPA Section 2(d)(2)(B)(i)</a>", b"UFLPA</a>", 1)
    assert entity(parse(page), "Hetian Haolin Hair Accessories Co. Ltd.")["program"] == "UFLPA 2(d)(2)(B)(i)"


def test_table_without_clause_heading_is_refused():
    page = PAGE.replace(b"UFLPA Section 2(d)(2)(B)(i)</a>", b"UFLPA</a>", 1).replace(
        b"Entities in Xinjiang that mine, produce, or manufacture wholly or in part", b"Entities listed", 1)
    with pytest.raises(SourceFormatError, match="heading"):
        parse(page)


def test_mixed_alias_and_former_name_groups_keep_every_name_with_its_kind():
    cell = split_name_cell(
        "Sunrise Crystal Energy Co., Ltd. (also known as SC Solar; and Sunrize Crystal Energy Co. Ltd., and formerly "
        "known as Dawn Grinding CNC Co., Ltd.; Dawn Grinding Automation Co., Ltd.; and Dawn Grinding Machine Co., Ltd.)"
    )
    assert cell.aliases == ["SC Solar", "Sunrize Crystal Energy Co. Ltd."]
    assert cell.formers == ["Dawn Grinding CNC Co., Ltd.", "Dawn Grinding Automation Co., Ltd.",
                            "Dawn Grinding Machine Co., Ltd."]
    tail = split_name_cell("Lakeside Sweetener Ingredients Co., Ltd. (also known as LSweet; Lakeside Sweetener Additive "
                           "Co., Ltd.; and formerly known as Lakeside Biotech Co., Ltd.)")
    assert tail.aliases == ["LSweet", "Lakeside Sweetener Additive Co., Ltd."]
    assert tail.formers == ["Lakeside Biotech Co., Ltd."]


def test_accordion_layout_clause_headings_are_found():
    page = b"""<!DOCTYPE html><html><body><main><div class="usa-accordion">
      <h4 class="usa-accordion__heading"><button class="usa-accordion__button" aria-controls="a1">
        Entities in Xinjiang that use forced labor - UFLPA Section 2(d)(2)(B)(i)</button></h4>
      <div id="a1" class="usa-accordion__content usa-prose"><table class="usa-table">
        <tr><th>Name of Entity</th><th>Effective Date</th></tr>
        <tr><td>Alpha Cotton Co., Ltd.</td><td>June 21, 2022</td></tr></table></div>
      <h4 class="usa-accordion__heading"><button class="usa-accordion__button" aria-controls="a2">
        Entities that exported products - UFLPA Section 2(d)(2)(B)(iii)</button></h4>
      <div id="a2" class="usa-accordion__content usa-prose"><table class="usa-table">
        <tr><th>Name of Entity</th><th>Effective Date</th></tr>
        <tr><td>Beta Trading Co., Ltd.</td><td>May 16, 2024</td></tr></table></div>
    </div></main></body></html>"""
    parsed = parse(page)
    assert parsed.entities.select("name", "program").rows() == [
        ("Alpha Cotton Co., Ltd.", "UFLPA 2(d)(2)(B)(i)"), ("Beta Trading Co., Ltd.", "UFLPA 2(d)(2)(B)(iii)")]
