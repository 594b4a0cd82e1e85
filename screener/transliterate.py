"""Transliteration tables: Chinese script to pinyin/English, XUAR place variants, old romanisations."""

from __future__ import annotations

import functools
import re
import unicodedata

from screener import reference
from screener.paths import data_dir

PINYIN_SYLLABLES = frozenset(
    """ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen ceng
    cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu
    cuan cui cun cuo da dai dan dang dao de deng di dian diao die ding diu dong dou du duan dui dun duo ei en eng er
    fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo
    ha hai han hang hao hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing
    jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan
    lang lao le lei leng li lia lian liang liao lie lin ling liu long lou lu luan lun luo lv lve ma mai man mang mao mei
    men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao nei nen neng ni nian niang niao nie nin ning
    niu nong nou nu nuan nun nuo nv nve ou pa pai pan pang pao pei pen peng pi pian piao pin ping po pou pu qi qia qian
    qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa
    sai san sang sao se sen seng sha shai shan shang shao shen sheng shi shou shu shua shuai shuan shuang shui shun
    shuo si song sou su suan sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun
    tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang
    yao yi yin ying yong yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhen zheng
    zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo""".split()
)
"""Single pinyin syllables (without one-letter ones and English words like 'he', 'you', 'she')."""
ALL_PINYIN_SYLLABLES = PINYIN_SYLLABLES | {"a", "e", "o", "he", "she", "you", "ye"}
"""Every pinyin syllable, for telling whether a whole word is pinyin ('hesheng', 'youse')."""


@functools.lru_cache(maxsize=2)
def pinyin_word_regex(most: int | None = None) -> str:
    """A word of two or more pinyin syllables — or of one up to `most` when given — the later ones not starting
    with a vowel (unanchored)."""
    syllables = sorted(ALL_PINYIN_SYLLABLES, key=len, reverse=True)
    medial = "|".join(syllable for syllable in syllables if syllable[0] not in "aeo")
    repeat = "+" if most is None else f"{{0,{most - 1}}}"
    return f"(?:{'|'.join(syllables)})(?:{medial}){repeat}"


def chinese_terms() -> dict[str, str]:
    """Generic words of Chinese company names, with the English a listed name would use (longest match wins),
    each padded by spaces (a legal form by a single space)."""
    return {term: f" {english} " if english else " " for term, english in reference.meanings("chinese_term").items()}



PINYIN_RUNS_KEPT = 65_536
"""Distinct runs of Chinese characters whose pinyin is kept (pypinyin's phrase segmenter takes ~30 us a run)."""

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_NON_LATIN = re.compile(r"[^a-z0-9' &().,-]")


def fold(text: str) -> str:
    """NFKC, lower case, no diacritics, apostrophes dropped: the key form of a variant."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['\u2019`]", "", text).replace("&", " and ")
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


@functools.lru_cache(maxsize=1)
def gazetteer_maps() -> tuple[dict[str, str], dict[str, str]]:
    """XUAR place variants from data/gazetteer: (Latin variant → canonical pinyin, Chinese name → canonical)."""
    latin: dict[str, str] = {}
    han: dict[str, str] = {}
    path = data_dir() / "gazetteer" / "xuar_places.csv"
    if not path.exists():
        return latin, han
    columns = ("level", "name_en", "name_pinyin", "name_zh", "other_spellings")
    rows = [row for row in reference.csv_columns(path, *columns) if row[0] != "xpcc_division"]
    english_names = {fold(name_en) for _, name_en, _, _, _ in rows}
    for level, name_en, name_pinyin, name_zh, other_spellings in rows:
        canonical = "xpcc" if name_en.startswith("Xinjiang Production") else fold(name_pinyin)
        variants = [name_en, *other_spellings.split(";")]
        for variant in (v.strip() for v in variants if v.strip()):
            if _HAN.fullmatch(variant):
                han.setdefault(variant, f" {canonical} ")
                continue
            key = fold(variant)
            if not key or _NON_LATIN.search(key) or (key in english_names and key != fold(name_en)):
                continue
            if len(key.split()) == 1 or level == "region":
                latin.setdefault(key, canonical)
        if name_zh:
            han.setdefault(name_zh, f" {canonical} ")
        if len(canonical.split()) == 1:
            latin.setdefault(canonical, canonical)
    return latin, han


@functools.lru_cache(maxsize=1)
def _han_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    terms = {**gazetteer_maps()[1], **chinese_terms()}
    alternatives = sorted(terms, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, alternatives))), terms


def han_to_latin(text: str) -> str:
    """Chinese script to the words an English list entry would use: known terms translated, the rest in pinyin."""
    pattern, terms = _han_pattern()
    translated = pattern.sub(lambda m: terms[m.group(0)], text)
    return _HAN.sub(lambda m: f" {run_pinyin(m.group(0))} ", translated)


@functools.lru_cache(maxsize=PINYIN_RUNS_KEPT)
def run_pinyin(run: str) -> str:
    """Pinyin of a run of Chinese characters, grouped in two-character words as brand names usually are (each
    distinct run read once: trade names, places and industry words recur across a batch's names)."""
    from pypinyin import lazy_pinyin  # its dictionaries take a while to load: only names in Chinese script need them

    syllables = [s for s in lazy_pinyin(run, v_to_u=True) if s.strip()]
    if len(syllables) <= 3:
        return "".join(syllables)
    words = ["".join(syllables[i : i + 2]) for i in range(0, len(syllables), 2)]
    if len(syllables) % 2:
        words[-2:] = [words[-2] + words[-1]]
    return " ".join(words)
