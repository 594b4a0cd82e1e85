"""Name normalisation: each step, and robustness on any input."""

import re
import subprocess
import sys

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screener.normalize import (
    NORMALISATION_STEPS,
    compile_pinyin_terms,
    normalize_frame,
    normalize_name,
    normalize_series,
    pinyin_terms,
    steps_text,
    without_tail,
)


def same(*names: str) -> set[str]:
    """The distinct normalised forms of some names (one when they all normalise alike)."""
    return set(normalize_series(pl.Series(list(names), dtype=pl.String)).to_list())


def steps(name: str) -> list[str]:
    return normalize_frame(pl.Series([name])).select(steps_text(pl.col("steps"))).item().split("; ")


def test_steps_text_names_each_step_whose_bit_is_set_in_order_and_nothing_for_none():
    values = pl.DataFrame({"steps": range(1 << len(NORMALISATION_STEPS))}, schema={"steps": pl.UInt8})
    texts = values.select(plain=steps_text(pl.col("steps")), wrapped=steps_text(pl.col("steps"), " ({})"))
    for value, plain, wrapped in zip(values["steps"], texts["plain"], texts["wrapped"], strict=True):
        named = [step for bit, step in enumerate(NORMALISATION_STEPS) if value & (1 << bit)]
        assert plain == "; ".join(named)
        assert wrapped == (f" ({plain})" if named else "")


def test_english_legal_forms_case_and_punctuation_are_removed():
    assert same(
        "Xinjiang Zhongtai Chemical Co., Ltd.",
        "XINJIANG ZHONGTAI CHEMICAL CO   LTD ",
        "Xinjiang Zhongtai Chemical Company Limited",
        "Xinjiang Zhongtai Chemical Corp.",
    ) == {"xinjiang zhongtai chemical"}
    assert "legal forms removed" in steps("Xinjiang Zhongtai Chemical Co., Ltd.")


def test_foreign_legal_forms_are_removed():
    assert normalize_name("Finca Monte Grande S.A. de C.V.") == "finca monte grande"
    assert normalize_name("Sigma Glove Industries Sdn. Bhd.") == "sigma glove industry"
    assert normalize_name("Mangalore Ganesh Beedie Works Pvt Ltd") == "mangalore ganesh beedie work"
    assert normalize_name("Thanh Cong Textile Garment Joint Stock Company") == "thanh cong textile garment"
    assert normalize_name("Southern Cross Cotton Pty Ltd") == "southern cross cotton"
    assert normalize_name("Xinjiang Zhongtai Chemical Company Limited by Shares") == "xinjiang zhongtai chemical"
    assert normalize_name("Morava Obuv s.r.o.") == "morava obuv"
    assert normalize_name("Wisla Obuwie Sp. z o.o.") == "wisla obuwie"
    assert normalize_name("Andes Hilados S.A.C.") == "andes hilados"
    assert normalize_name("Maquila Norte S. de R.L. de C.V.") == "maquila norte"
    assert normalize_name("Kaveri Spinners Private Ltd.") == normalize_name("Kaveri Spinners")
    assert normalize_name("Ege Orme Ltd. Sti.") == "ege orme"
    assert normalize_name("Compañía Textil del Valle") == normalize_name("Textil del Valle")


def test_chinese_legal_forms_and_script_become_the_english_listing_words():
    assert normalize_name("新疆中泰化学股份有限公司") == "xinjiang zhongtai chemical"
    assert normalize_name("合盛硅业股份有限公司") == "hesheng silicon industry"
    assert "pinyin of Chinese script" in steps("新疆中泰化学股份有限公司")


def test_pinyin_legal_forms_are_removed_and_pinyin_industry_words_translated():
    assert normalize_name("Xinjiang Zhongtai Huaxue Gufen Youxian Gongsi") == "xinjiang zhongtai chemical"
    assert normalize_name("Xinjiang Habahe Ashele Tongye Gufen Youxian Gongsi") == "xinjiang habahe ashele copper industry"
    assert normalize_name("Nasida Jituan Youxian Gongsi") == "nasida"


def test_full_width_characters_are_folded():
    assert (
        normalize_name("ＸＩＮＪＩＡＮＧ　ＺＨＯＮＧＴＡＩ　ＣＨＥＭＩＣＡＬ　Ｃｏ．，Ｌｔｄ．")
        == "xinjiang zhongtai chemical"
    )


def test_ampersand_and_the_word_and_are_the_same():
    assert (
        len(
            same(
                "Heze Cotton & Linen Economic & Trade Development Corp",
                "Heze Cotton and Linen Economic and Trade Development Corporation",
            )
        )
        == 1
    )


def test_abbreviations_are_expanded():
    assert same("Xinjiang Liufu Tex Indl Park Co., Ltd.", "Xinjiang Liufu Textile Industrial Park Co., Ltd.") == {
        "xinjiang liufu textile industry park"
    }
    assert len(same("Hefei Bitland Info Tech Co. Ltd.", "Hefei Bitland Information Technology Co., Ltd.")) == 1
    assert len(same("Giant Mfg. Co. Ltd", "Giant Manufacturing Co., Ltd.")) == 1


def test_xpcc_in_any_form_is_one_word():
    assert same(
        "XPCC",
        "Xinjiang Production and Construction Corps",
        "Xinjiang Production & Construction Corps",
        "新疆生产建设兵团",
        "Bingtuan",
    ) == {"xpcc"}
    assert normalize_name("XPCC PSB") == "xpcc public security bureau"


def test_place_variants_become_pinyin():
    assert same(
        "Hotan Haolin Hair Accessories", "Hetian Haolin Hair Accessories", "Khotan Haolin Hair Accessories"
    ) == {"hetian haolin hair accessories"}
    assert len(same("Xinjiang Kashgar Prefecture Yecheng County", "Xinjiang Kashi Prefecture Yecheng County")) == 1
    assert len(same("Urumqi Haishi Xin'an Electronic Technology", "乌鲁木齐海视新安电子科技有限公司")) == 1
    assert len(same("Lop Haishi Dingxin", "Luopu Haishi Dingxin")) == 1


def test_old_romanisations_become_pinyin():
    assert normalize_name("Szechuan Xinsheng Labor Factory") == "sichuan xinsheng labor factory"
    assert normalize_name("Xinjiang Uighur") == normalize_name("Xinjiang Uyghur")


def test_split_pinyin_syllables_are_joined():
    assert same("Zhong Tai Chemical", "Zhongtai Chemical") == {"zhongtai chemical"}
    assert same("Zi Gong Machinery Factory", "Zigong Machinery Factory") == {"zigong machinery factory"}
    assert "pinyin syllables joined" in steps("Zhong Tai Chemical")


def test_the_python_expression_of_syllable_runs_is_compiled_only_for_a_name_that_has_one():
    from screener.normalize import _syllable_run

    _syllable_run.cache_clear()
    assert normalize_name("Hoshine Silicon Unrun Industry") == "hoshine silicon unrun industry"
    assert _syllable_run.cache_info().currsize == 0
    assert normalize_name("Zhong Tai Unrun Chemical") == "zhongtai unrun chemical"
    assert _syllable_run.cache_info().currsize == 1


def test_misspelt_common_words_are_corrected_but_brands_are_not():
    assert len(same("Xinjiang Liufu Textile Indusrtial Park", "Xinjiang Liufu Textile Industrial Park")) == 1
    assert len(same("Imaizumi Tea Manufacturing & Traidng", "Imaizumi Tea Manufacturing & Trading")) == 1
    assert normalize_name("IS'Vision") == "isvision"


def test_a_name_of_legal_words_only_is_kept():
    assert normalize_name("Group Co., Ltd.") == "group co ltd"


def test_repeated_words_are_dropped():
    assert (
        normalize_name("Sichuan (Szechuan) Xinsheng (New Life) Labor Factory")
        == "sichuan xinsheng new life labor factory"
    )


def test_nulls_and_empty_names_normalise_to_empty():
    assert normalize_series(pl.Series([None, "", "  ", "()"], dtype=pl.String)).to_list() == ["", "", "", ""]


@pytest.mark.parametrize(
    "name", ["😀 Co., Ltd.", "\x00\x07\x1b[31m", "A" * 10_000, "新疆 Zhongtai ملك Синьцзян 株式会社"]
)
def test_odd_inputs_do_not_crash(name):
    assert isinstance(normalize_name(name), str)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_normalisation_is_idempotent(name):
    once = normalize_name(name)
    assert normalize_name(once) == once


def test_the_stored_pinyin_of_chinese_terms_is_current() -> None:
    assert pinyin_terms() == compile_pinyin_terms()


def test_a_reference_table_is_read_by_column_name_in_file_order(tmp_path) -> None:
    from screener.reference import csv_columns

    table = tmp_path / "table.csv"
    table.write_text('word,source,meaning\nco,"here, there",company\n\nltd,,limited\n', encoding="utf-8")
    assert list(csv_columns(table, "meaning", "word")) == [("company", "co"), ("limited", "ltd")]


def test_names_in_latin_script_are_read_without_the_pinyin_dictionaries() -> None:
    script = (
        "import sys; from screener.normalize import normalize_name; "
        "normalize_name('Xinjiang Zhongtai Huaxue Co Ltd'); print('pypinyin' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout == "False\n"


def test_only_replacements_whose_words_all_occur_are_kept_and_a_batch_reads_each_name_as_alone() -> None:
    from screener.normalize import _occurring, _padded, _present_words, _reachable

    patterns = [_padded("xinjiang production and construction corps"), _padded("mng"), _padded("ctn")]
    targets = [_padded("xpcc"), _padded("mining"), _padded("cotton")]
    present = _present_words(pl.Series([_padded("xinjiang jinbao mng co ltd"), _padded("xinjiang corps")]))
    kept = _occurring(patterns, targets, present)
    assert kept == ([_padded("mng")], [_padded("mining")])
    removals = [_padded("co ltd"), _padded("youxian gongsi"), _padded("ltd"), _padded("limited")]
    assert _reachable(removals, present) == [_padded("co ltd"), _padded("ltd")]
    names = ["XINJIANG JINBAO MNG CO LTD", "Xinjiang Production and Construction Corps", "Kuche Zongheng CTN Ind"]
    assert normalize_series(pl.Series(names)).to_list() == [normalize_name(name) for name in names]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.text(max_size=30), st.text(alphabet=st.characters(max_codepoint=127), max_size=30),
                          st.none()), max_size=12))
def test_folding_names_in_ascii_by_case_alone_gives_the_full_fold(names: list[str | None]) -> None:
    from screener.normalize import _fold, _folded
    from screener.recent import SMALL_FRAME

    series = pl.Series("name", names * (SMALL_FRAME + 1), dtype=pl.String)  # a batch: its names in ASCII only cased
    full = series.to_frame().select(_fold(pl.col("name").fill_null(""))).to_series()
    assert _folded(series).collect()["folded"].to_list() == full.to_list()


def test_names_in_ascii_skip_the_unicode_steps_and_others_take_them() -> None:
    from screener.normalize import _folded

    def folded(names: list[str | None]) -> list[str]:
        return _folded(pl.Series(names, dtype=pl.String)).collect()["folded"].to_list()

    assert folded(["SenseTime", "TextileCo.,Ltd", None]) == ["sense time", "textile co.,ltd", ""]
    assert folded(["Ｘｉｎｊｉａｎｇ", "Société Générale", "Plain"]) == [
        "xinjiang", "societe generale", "plain"
    ]


def test_a_batch_normalises_each_name_as_a_few_names_do() -> None:
    from screener.normalize import _normalize_names
    from screener.recent import SMALL_FRAME

    few = ["Société Générale Textile Co., Ltd.", "Ｘｉｎｊｉａｎｇ Zhongtai", "新疆中泰化学股份有限公司", "SenseTime", None,
           "XINJIANGZHONGTAI CHEM CO LTD", "Hoshine Silicon Industry (Shanshan) Co., Ltd."]
    batch = few * (SMALL_FRAME // len(few) + 1)
    assert len(batch) > SMALL_FRAME
    together = _normalize_names(pl.Series(batch, dtype=pl.String), False)
    alone = _normalize_names(pl.Series(few, dtype=pl.String), False)
    assert together.head(len(few)).to_dicts() == alone.to_dicts()


def test_replacements_and_corrections_are_words_of_letters_and_digits() -> None:
    """normalize_frame pads the words left after replacements, corrections and removals without splitting them on
    punctuation again, and takes them, once joined, as already collapsed: every replacement and every corrected word
    must be letters and digits apart by spaces."""
    from screener.normalize import _dictionary_keys, _tables

    word = re.compile(r"[^\W_]+")
    for listed in (False, True):
        _, targets, removals, _ = _tables(listed)
        for text in (*targets, *removals):
            assert all(word.fullmatch(part) for part in text.split()), text
    assert all(word.fullmatch(text) for text in _dictionary_keys()["word"].unique().to_list())


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("Taepyung Salt Farm, Jeungdo-myeon, Sinan-gun, Jeollanam-do", "Taepyung Salt Farm"),
        ("Imaizumi Tea Manufacturing, Shimada-shi, Shizuoka-ken", "Imaizumi Tea Manufacturing"),
        ("Hyun-do Trading Co., Ltd.", "Hyun-do Trading Co., Ltd."),
        ("Seoul Textile", "Seoul Textile"),
    ],
)
def test_a_korean_or_japanese_address_after_a_comma_is_no_part_of_the_name(name, head):
    assert pl.select(without_tail(pl.lit(name))).item() == head


@pytest.mark.parametrize("scanned", ["Col., Ltd.", "Col, Ltd.", "Co1., Ltd.", "C0., Ltd.", "COL LTD"])
def test_a_scanned_co_ltd_is_read_as_the_legal_form_on_the_supplier_side(scanned):
    assert normalize_name(f"Zeta Knitting {scanned}") == "zeta knitting"
    assert normalize_name(f"Zeta Knitting {scanned}", listed=True) != "zeta knitting"


def test_a_word_like_a_scanned_co_is_kept_when_no_legal_form_follows():
    assert normalize_name("Col Shoes") == "col shoes"
