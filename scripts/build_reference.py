"""Compile the matcher's reference tables under data/reference/ from well-kept public packages.

- `cn_divisions.csv`: Chinese administrative divisions (provinces, prefecture-level and county-level divisions,
  urban districts left out) with their short name, pinyin and province, from the GB/T 2260 division codes as the
  `cpca` package ships them (MIT licence; codes and names are official PRC data).
- `countries.csv`: ISO 3166-1 countries (alpha-2, alpha-3, numeric) with every name a supplier file may use for
  them: ISO short, official and common names from `pycountry` (LGPL-2.1; ISO 3166 data), and the English and Chinese
  forms below.
- `pinyin_terms.csv`: the pinyin of the Chinese industry and organisation terms of `name_words.csv`, with their
  English (`screener.normalize.compile_pinyin_terms`, with `pypinyin`, MIT licence).
- `common_words.txt`: English words frequent enough (Zipf >= 3.5 in `wordfreq`, Apache-2.0; about one use per
  300,000 words) that sharing one says little about a company's identity ("union", "century", "production").
- `data/gazetteer/xuar_places.compiled.json`: the gazetteer's spelling table and search patterns, compiled from
  `xuar_places.csv` and `screener/gazetteer.py` (needs no extra package; `gazetteer` compiles only this).

    pip install '.[reference]' && python scripts/build_reference.py
    python scripts/build_reference.py gazetteer
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from pathlib import Path

from pypinyin import lazy_pinyin

from screener.gazetteer import write_compiled_gazetteer
from screener.normalize import PINYIN_TERMS, compile_pinyin_terms

OUT = Path(__file__).resolve().parents[1] / "data" / "reference"
COMMON_ZIPF = 3.5
DIVISION_SUFFIXES = (
    "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区",
    "省", "市", "县", "盟", "旗", "区",
)
ETHNIC_GROUPS = re.compile(
    "(蒙古|回族|藏族|维吾尔|哈萨克|柯尔克孜|朝鲜族|土家族|苗族|彝族|傣族|白族|景颇族|傈僳族|哈尼族|壮族|布依族|侗族|瑶族|"
    "羌族|黎族|畲族|满族|达斡尔族|鄂温克族|鄂伦春族|锡伯族|塔吉克|土族|撒拉族|保安族|东乡族|裕固族|仡佬族|水族|仫佬族|"
    "毛南族|各族|纳西族|普米族|怒族|独龙族|拉祜族|佤族|布朗族|阿昌族|德昂族|基诺族)+$"
)
SYLLABLE_WORDS = re.compile(r"^[a-z]+$")


def short_name(name: str) -> str:
    """The name without its division suffix and ethnic qualifiers: 克孜勒苏柯尔克孜自治州 → 克孜勒苏."""
    for suffix in DIVISION_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            name = name[: -len(suffix)]
            break
    stripped = ETHNIC_GROUPS.sub("", name)
    return stripped if len(stripped) >= 2 else name


def level(code: str) -> str:
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "prefecture"
    return "county"


def divisions(adcodes: Path) -> list[dict[str, str]]:
    """Province, prefecture and county rows (not urban districts, whose names are mostly everyday words)."""
    with adcodes.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["adcode"][6:] == "0" * 6]
    provinces = {row["adcode"][:2]: "".join(lazy_pinyin(short_name(row["name"]))) for row in rows if level(row["adcode"]) == "province"}
    table = []
    for row in sorted(rows, key=lambda row: row["adcode"]):
        name = row["name"]
        if (level(row["adcode"]) == "county" and name.endswith("区")) or "直辖" in name or name.endswith("辖区"):
            continue
        short = short_name(name)
        pinyin = "".join(lazy_pinyin(short))
        if not SYLLABLE_WORDS.match(pinyin):
            continue
        table.append(
            {
                "adcode": row["adcode"][:6],
                "name_zh": name,
                "short_zh": short,
                "pinyin": pinyin,
                "level": level(row["adcode"]),
                "province": provinces[row["adcode"][:2]],
            }
        )
    return table


COUNTRY_FORMS = {
    "CN": "China; PRC; P.R.C.; P.R. China; PR China; Mainland China; China (Mainland); China Mainland; "
    "People's Republic of China; China, People's Republic of; 中国; 中国大陆; 中國; 中國大陸; 中华人民共和国; 中華人民共和國",
    "HK": "Hong Kong; Hong Kong SAR; Hong Kong, China; HKSAR; 香港; 中国香港",
    "MO": "Macau; Macao; Macau SAR; Macao SAR; 澳门; 澳門; 中国澳门",
    "TW": "Taiwan; Taiwan, China; Chinese Taipei; Republic of China; 台湾; 臺灣; 台灣",
    "KR": "South Korea; Korea; Korea (South); Republic of Korea; Korea, South; 韩国; 韓國; 南韩",
    "KP": "North Korea; Korea (North); DPRK; 朝鲜",
    "VN": "Vietnam; Viet Nam; 越南",
    "US": "USA; U.S.A.; U.S.; US; United States; United States of America; America; 美国; 美國",
    "GB": "UK; U.K.; United Kingdom; Great Britain; Britain; England; 英国; 英國",
    "TR": "Turkey; Turkiye; Türkiye; 土耳其",
    "RU": "Russia; Russian Federation; 俄罗斯",
    "JP": "Japan; 日本",
    "IN": "India; 印度",
    "BD": "Bangladesh; 孟加拉; 孟加拉国",
    "PK": "Pakistan; 巴基斯坦",
    "KH": "Cambodia; 柬埔寨",
    "ID": "Indonesia; 印度尼西亚; 印尼",
    "MY": "Malaysia; 马来西亚; 馬來西亞",
    "TH": "Thailand; 泰国; 泰國",
    "PH": "Philippines; 菲律宾",
    "MM": "Myanmar; Burma; 缅甸",
    "LA": "Laos; Lao PDR; 老挝",
    "SG": "Singapore; 新加坡",
    "LK": "Sri Lanka; 斯里兰卡",
    "NP": "Nepal; 尼泊尔",
    "KZ": "Kazakhstan; 哈萨克斯坦",
    "UZ": "Uzbekistan; 乌兹别克斯坦",
    "KG": "Kyrgyzstan; Kyrgyz Republic; 吉尔吉斯斯坦",
    "MN": "Mongolia; 蒙古",
    "DE": "Germany; 德国",
    "FR": "France; 法国",
    "IT": "Italy; 意大利",
    "ES": "Spain; 西班牙",
    "MX": "Mexico; 墨西哥",
    "BR": "Brazil; 巴西",
    "CA": "Canada; 加拿大",
    "AU": "Australia; 澳大利亚",
    "RS": "Serbia; 塞尔维亚",
    "DO": "Dominican Republic; 多米尼加",
}
"""Names supplier files use for a country beyond its ISO names: abbreviations, older forms, Chinese."""


def countries() -> list[dict[str, str]]:
    import pycountry

    table = []
    for country in sorted(pycountry.countries, key=lambda item: item.alpha_2):
        names = [country.name, getattr(country, "official_name", ""), getattr(country, "common_name", "")]
        names += COUNTRY_FORMS.get(country.alpha_2, "").split(";")
        unique = list(dict.fromkeys(name.strip() for name in names if name and name.strip()))
        table.append(
            {"iso2": country.alpha_2, "iso3": country.alpha_3, "numeric": country.numeric, "names": "; ".join(unique)}
        )
    return table


def common_words() -> list[str]:
    from wordfreq import top_n_list, zipf_frequency

    words = {word for word in top_n_list("en", 60_000) if word.isalpha() and word.isascii() and len(word) >= 3}
    return sorted(word for word in words if zipf_frequency(word, "en") >= COMMON_ZIPF)


def write_pinyin_terms() -> None:
    with (OUT / PINYIN_TERMS).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["pinyin", "english"])
        writer.writerows(compile_pinyin_terms().items())


def main() -> None:
    print(f"compiled the gazetteer into {write_compiled_gazetteer()}")
    if sys.argv[1:] == ["gazetteer"]:
        return
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install cpca first: pip install 'cpca>=0.5'")
    adcodes = Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"
    OUT.mkdir(parents=True, exist_ok=True)
    table = divisions(adcodes)
    with (OUT / "cn_divisions.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    nations = countries()
    with (OUT / "countries.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(nations[0]))
        writer.writeheader()
        writer.writerows(nations)
    words = common_words()
    (OUT / "common_words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    write_pinyin_terms()
    print(f"cn_divisions.csv: {len(table)} divisions; countries.csv: {len(nations)}; common_words.txt: {len(words)} words")


if __name__ == "__main__":
    main()
