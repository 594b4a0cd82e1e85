"""XUAR place detection in addresses: every script and spelling, and no false alarms on look-alikes."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from screener.gazetteer import (
    _hits,
    _initials,
    build_gazetteer,
    compiled_path,
    gazetteer_path,
    is_china,
    load_gazetteer,
    mentions_place,
    read_compiled_gazetteer,
    xuar_addresses,
)


def detect(address: str | None, country: str | None = "CN") -> dict[str, object]:
    frame = pl.DataFrame(
        {"row": [0], "address": [address], "country": [country]},
        schema={"row": pl.UInt32, "address": pl.String, "country": pl.String},
    )
    return xuar_addresses(frame).row(0, named=True)


def test_gazetteer_is_read_from_the_project_data() -> None:
    assert gazetteer_path().is_file()
    gazetteer = load_gazetteer()
    places = set(gazetteer.spellings["place"].to_list())
    assert {"Xinjiang", "Urumqi", "Kashgar", "Hotan", "Xinjiang Production and Construction Corps"} <= places


def test_the_compiled_gazetteer_is_what_the_csv_and_the_code_build() -> None:
    """A check reads the spellings and patterns compiled beside the CSV instead of building them (~50 ms)."""
    compiled = read_compiled_gazetteer(gazetteer_path())
    assert compiled is not None, "the compiled gazetteer is stale: run `python scripts/build_reference.py gazetteer`"
    built = build_gazetteer(gazetteer_path())
    assert compiled.spellings.equals(built.spellings) and compiled.spellings.schema == built.spellings.schema
    assert (compiled.latin_pattern, compiled.cjk_pattern, compiled.latin_initials) == (
        built.latin_pattern,
        built.cjk_pattern,
        built.latin_initials,
    )


def test_a_gazetteer_edited_after_its_compilation_is_built_from_the_csv(tmp_path) -> None:
    source = tmp_path / "xuar_places.csv"
    shutil.copyfile(gazetteer_path(), source)
    shutil.copyfile(compiled_path(gazetteer_path()), compiled_path(source))
    assert read_compiled_gazetteer(source) is not None
    places = pl.read_csv(source, infer_schema=False)
    added = places.head(1).with_columns(
        name_en=pl.lit("Qoghuluq"),
        name_pinyin=pl.lit(""),
        name_zh=pl.lit(""),
        other_spellings=pl.lit(""),
        ambiguous=pl.lit("no"),
        note=pl.lit(""),
    )
    pl.concat([places, added]).write_csv(source)
    assert read_compiled_gazetteer(source) is None
    assert "Qoghuluq" in load_gazetteer(source).spellings["place"].to_list()
    compiled_path(source).write_text("{not json", encoding="utf-8")
    assert "Qoghuluq" in load_gazetteer.__wrapped__(source).spellings["place"].to_list()


@pytest.mark.parametrize(
    ("address", "place"),
    [
        ("Kashgar Prefecture, Xinjiang 844000", "Kashgar"),
        ("No. 8 Renmin Road, Urumqi", "Urumqi"),
        ("Wulumuqi Shi, China", "Urumqi"),
        ("Ürümqi Economic Zone", "Urumqi"),
        ("Urumchi", "Urumqi"),
        ("Shihezi Economic Development Zone", "Shihezi"),
        ("Korla City", "Korla"),
        ("Hetian City, Hotan Prefecture", "Hotan City"),
        ("Kuqa County", "Kuqa"),
        ("Xingjiang Province", "Xinjiang"),
        ("新疆昌吉州准东经济技术开发区", "Changji"),
        ("新疆维吾尔自治区乌鲁木齐市天山区", "Urumqi"),
        ("新疆維吾爾自治區烏魯木齊市", "Urumqi"),
        ("吐鲁番市鄯善县", "Pichan"),
        ("喀什地区疏附县", "Shufu"),
        ("ئۈرۈمچى", "Urumqi"),
        ("Aral, 1st Division, Xinjiang Production and Construction Corps", "Aral"),
        ("150 Tuan, Bingtuan 8th Division", "XPCC 8th Division"),
    ],
)
def test_places_in_any_script_or_spelling(address: str, place: str) -> None:
    result = detect(address)
    assert result["xuar_address"] is True, address
    assert place in result["xuar_places"]


@pytest.mark.parametrize(
    ("address", "country", "why"),
    [
        ("Karamay Road, Putuo District, Shanghai", "CN", "street named after a XUAR city"),
        ("No. 5 Urumqi Middle Road, Shanghai", "CN", "street named after a XUAR city"),
        ("Hotan Road 25, Yangpu District, Shanghai", "CN", "Hotan Road in Shanghai"),
        ("88 Kashgar St., Tianhe, Guangzhou", "CN", "street named after a XUAR city"),
        ("青岛市新疆路12号", "CN", "Xinjiang Road in Qingdao"),
        ("上海市克拉玛依路88号", "CN", "Karamay Road in Shanghai"),
        ("Xinjiang cuisine restaurant, Beijing", "CN", "trade name"),
        ("Xinjiang Uyghur Restaurant, Chaoyang, Beijing", "CN", "trade name"),
        ("哈密瓜批发市场, 上海", "CN", "Hami melon"),
        ("和田玉专卖店, 苏州", "CN", "Hotan jade"),
        ("Aksu, Pavlodar Region", "KZ", "Aksu in Kazakhstan"),
        ("Aral, Kyzylorda Region", "KZ", "Aral in Kazakhstan"),
        ("Yili Industrial Park, Hohhot, Inner Mongolia", "CN", "Yili dairy in Inner Mongolia"),
        ("Yiwu, Zhejiang", "CN", "Yiwu commodity city"),
        ("Yiwu International Trade City", "CN", "Yiwu needs Hami/Xinjiang context"),
        ("Changji Road, Changchun, Jilin", "CN", "Changji romanisation"),
        ("Hami City, Jiangsu", "CN", "another province named"),
        ("Bole Road, Addis Ababa", "ET", "Bole in Ethiopia"),
        ("Panama City, Bay County, FL", "US", "Bay County, Florida"),
        ("Urumqi Trading Ltd, 12 High Street, London", "GB", "foreign country, nothing else Xinjiang"),
        ("Patna 840001, Bihar", "IN", "Indian PIN code"),
        ("仓库车间一号", "CN", "库车 inside 仓库车间"),
        (None, "CN", "no address"),
    ],
)
def test_look_alikes_are_not_xuar(address: str | None, country: str, why: str) -> None:
    assert detect(address, country)["xuar_address"] is False, why


@pytest.mark.parametrize(
    ("address", "country"),
    [
        ("Hami", "CN"),
        ("Aksu, China", None),
        ("Kashi", "China"),
        ("Yiwu County, Hami", "CN"),
        ("Fukang, Changji", "CN"),
        ("Xinjiang Road No. 5, Urumqi", "CN"),
        ("Hotan Road 3, Kashgar", "CN"),
        ("Urumqi, Xinjiang", "US"),
    ],
)
def test_ambiguous_names_fire_with_china_or_a_second_xuar_place(address: str, country: str | None) -> None:
    assert detect(address, country)["xuar_address"] is True


def test_ambiguous_name_alone_needs_china() -> None:
    assert detect("Aksu", "CN")["xuar_address"] is True
    assert detect("Aksu", "TR")["xuar_address"] is False


def test_context_level_name_needs_more_than_china() -> None:
    assert detect("Shanshan", "CN")["xuar_address"] is False
    assert detect("Shanshan, Turpan", "CN")["xuar_address"] is True


def test_xuar_postal_code_for_a_supplier_in_china() -> None:
    result = detect("Room 5, Block B, 830001", "CN")
    assert result["xuar_address"] is True
    assert "postal code 830001" in result["xuar_places"]
    assert detect("Room 5, Block B, 830001", "IN")["xuar_address"] is False
    assert detect("Room 5, 200030 Shanghai", "CN")["xuar_address"] is False


def test_description_names_the_spelling_found_and_its_place() -> None:
    places = detect("Hetian City, Hotan Prefecture")["xuar_places"]
    assert "'Hetian City' (Hotan City)" in places
    assert "'Hotan Prefecture' (Hotan)" in places


def test_many_rows_in_one_pass_keep_their_row_ids() -> None:
    addresses = ["Kashgar, Xinjiang", "Shanghai", None, "乌鲁木齐市", "Karamay Road, Shanghai"] * 200
    frame = pl.DataFrame(
        {"row": range(len(addresses)), "address": addresses, "country": ["CN"] * len(addresses)},
        schema={"row": pl.UInt32, "address": pl.String, "country": pl.String},
    )
    result = xuar_addresses(frame)
    assert result["row"].to_list() == list(range(len(addresses)))
    assert result["xuar_address"].to_list() == [True, False, False, True, False] * 200


def test_rows_come_back_in_the_input_order_whatever_their_numbers() -> None:
    addresses = ["Kashgar, Xinjiang", "Shanghai", "乌鲁木齐市", "Karamay Road, Shanghai"] * 500
    rows = list(reversed(range(len(addresses))))
    for frame in (
        pl.DataFrame({"row": rows, "address": addresses, "country": ["CN"] * len(addresses)}),
        pl.DataFrame({"row": rows, "address": [None, *addresses[1:]], "country": ["CN"] * len(addresses)}),
    ):
        result = xuar_addresses(frame.with_columns(pl.col("row").cast(pl.UInt32)))
        assert result["row"].to_list() == rows
        assert result["xuar_address"].to_list()[1:] == ([True, False, True, False] * 500)[1:]


@pytest.mark.parametrize(
    ("country", "china"),
    [
        ("CN", True),
        ("china", True),
        ("P.R. China", True),
        ("China, People's Republic of", True),
        ("中国", True),
        ("156", True),
        ("HK", False),
        ("Taiwan", False),
        ("Indochina", False),
        (None, False),
    ],
)
def test_country_cells_meaning_mainland_china(country: str | None, china: bool) -> None:
    frame = pl.DataFrame({"country": [country]}, schema={"country": pl.String})
    assert frame.select(is_china(pl.col("country"))).item() is china


def test_hong_kong_company_with_a_xinjiang_factory_address_is_xuar() -> None:
    assert detect("Factory: Urumqi Economic Zone", "HK")["xuar_address"] is True
    assert detect("Factory: Urumqi Economic Zone", "DE")["xuar_address"] is False


def test_rows_without_an_address_are_not_in_xuar_and_keep_the_columns_of_read_rows() -> None:
    frame = pl.DataFrame(
        {"row": [0, 1], "address": [None, "Kashgar, Xinjiang"], "country": ["CN", "CN"]},
        schema={"row": pl.UInt32, "address": pl.String, "country": pl.String},
    )
    unread, mixed = xuar_addresses(frame.head(1)), xuar_addresses(frame)
    assert unread.schema == mixed.schema
    assert unread.row(0) == mixed.row(0) == (0, False, None)


PLACE_TEXTS = [
    "Kashgar Road 5, Shanghai",
    "No. 3 Hami Street, Urumqi, Xinjiang",
    "Hami瓜 Trading",  # a Chinese character is a word character: no boundary after 'Hami'
    "哈密瓜Hami",
    "Kashgarés Textile",  # an accented letter is one too
    "Café Kashgar",
    "新疆ÜRÜMQI纺织",  # an initial in another case
    "ürümqi",
    "喀什 kashgar 路",
    "乌鲁木齐市 10th Division, Xinjiang Production and Construction Corps",
    "Кашгар",
    "کاشغەر",
    "和田玉有限公司",
    "",
    None,
]


def test_latin_place_searches_skip_texts_no_spelling_can_begin_in() -> None:
    """A text holding no character a Latin spelling begins with is not searched: every text gets the hits and the
    mentions the alternation as written finds, and None stays None."""
    gazetteer = load_gazetteer()
    text = pl.col("text")
    frame = pl.DataFrame({"text": PLACE_TEXTS}, schema={"text": pl.String})
    searched = frame.select(
        mentions=mentions_place("text", gazetteer),
        hits=_hits(text, gazetteer.latin_pattern, gazetteer.cjk_pattern, gazetteer.latin_initials),
    )
    as_written = frame.select(
        mentions=text.str.contains(gazetteer.latin_pattern) | text.str.contains(gazetteer.cjk_pattern),
        hits=pl.concat_list(
            text.str.extract_all(gazetteer.latin_pattern).fill_null([]),
            text.str.extract_all(gazetteer.cjk_pattern).fill_null([]),
        ),
    )
    assert searched.to_dicts() == as_written.to_dicts()
    assert searched["mentions"].to_list()[:7] == [True, True, False, True, False, True, True]


def test_latin_initials_are_the_characters_spellings_begin_with() -> None:
    assert _initials(["Kashgar", "’Aksu", "Ürümqi", "10th Division"]) == "(?i)[1AKÜ’]"
    frame = pl.DataFrame({"text": ["aksu", "’", "ürümqi", "新疆", "x"]})
    assert frame.select(pl.col("text").str.contains(_initials(["Kashgar", "’Aksu", "Ürümqi"])))["text"].to_list() == [
        True,
        True,
        True,
        False,
        False,
    ]
