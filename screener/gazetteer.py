"""Finding XUAR places in supplier addresses, in any script or spelling, without crying wolf.

The gazetteer (`data/gazetteer/xuar_places.csv`) gives every place's English, pinyin, Chinese and other
spellings, and flags names that also occur outside XUAR (`ambiguous=yes`). Each spelling gets a strength:

- `specific`: the place is not ambiguous, or its note names this spelling as specific
  ("'Hotan', 'Khotan' and 和田地区 are specific");
- `country`: an ambiguous place whose note asks only for China ("Require country = China"), or an ambiguous
  place's spelling that carries an administrative word (Prefecture, City, County, 市, 县, 地区...);
- `context`: every other spelling of an ambiguous place (the note asks for Xinjiang context: "Yiwu", "Yili").

An address is in XUAR when, after dropping hits that are street, building or trade names ("Karamay Road",
"新疆路", "Xinjiang cuisine", "哈密瓜", "和田玉"):

- it has a `specific` hit, unless the supplier's country is stated, is not China, the address does not name
  China and nothing else corroborates the hit;
- or a `country` hit, the supplier is in China (country column or "China"/"中国" in the address) or another
  XUAR place or a XUAR postal code corroborates it, and the address names no other Chinese province or
  provincial capital ("Yili Industrial Park, Hohhot, Inner Mongolia" is not XUAR);
- or a `context` hit corroborated by another XUAR place or postal code, with no other province named;
- or a XUAR postal code (83xxxx, 84xxxx) for a supplier in China, with no other province named.

Everything is vectorised: one regular-expression alternation per script (word boundaries for non-Chinese
scripts), longest spelling first, run once over the address column.

The spelling table and the two alternations are kept compiled beside the CSV (`xuar_places.compiled.json`, written
by `python scripts/build_reference.py gazetteer`) so that a check does not rebuild them; a compilation of another CSV
or of other code than this module's is not used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from screener.countries import is_china, is_hong_kong_or_macao
from screener.paths import data_dir
from screener.patterns import without
from screener.plans import run

STRENGTHS = ("context", "country", "specific")
SPELLINGS_SCHEMA = {"key": pl.String, "place": pl.String, "strength": pl.String}

LATIN_NON_PLACE_WORDS = tuple(
    (
        "road rd street str st avenue ave boulevard blvd lane alley way lu jie dajie dadao hutong cuisine "
        "restaurant restaurants food foods noodle noodles kitchen bbq barbecue melon melons jade hotel mansion "
        "building plaza tower"
    ).split()
)
"""A place name followed (within one word) by one of these names a street, a building or a trade, not a location."""

CJK_NON_PLACE_SUFFIXES = tuple(
    (
        "[东西南北中]?路 [东西南北中]?街 大街 大道 巷 胡同 菜 餐厅 餐馆 饭店 饭馆 风味 美食 "
        "大盘鸡 拌面 烤肉 羊肉串 瓜 玉 大厦 大楼 宾馆 酒店 办事处 特产 斯克"
    ).split()
)
"""Chinese-script equivalents, directly after the name (新疆路, 新疆菜, 哈密瓜, 和田玉, 新疆大厦, 阿拉尔斯克)."""

OTHER_PROVINCES_LATIN = tuple(
    (
        "Beijing|Tianjin|Hebei|Shanxi|Inner Mongolia|Nei Mongol|Neimenggu|Liaoning|Jilin|Heilongjiang|Shanghai|"
        "Jiangsu|Zhejiang|Anhui|Fujian|Jiangxi|Shandong|Henan|Hubei|Hunan|Guangdong|Guangxi|Hainan|Chongqing|"
        "Sichuan|Guizhou|Yunnan|Tibet|Xizang|Shaanxi|Gansu|Qinghai|Ningxia|Hong Kong|Macau|Macao|Taiwan|"
        "Shijiazhuang|Taiyuan|Hohhot|Shenyang|Changchun|Harbin|Nanjing|Hangzhou|Hefei|Fuzhou|Nanchang|Jinan|"
        "Zhengzhou|Wuhan|Changsha|Guangzhou|Nanning|Haikou|Chengdu|Guiyang|Kunming|Lhasa|Lanzhou|Xining|Yinchuan|"
        "Shenzhen|Dongguan|Foshan|Suzhou|Wuxi|Ningbo|Qingdao|Dalian|Xiamen|Baotou|Tangshan"
    ).split("|")
)
OTHER_PROVINCES_CJK = tuple(
    (
        "北京 天津 河北 山西 内蒙古 辽宁 吉林 黑龙江 上海 江苏 浙江 安徽 福建 江西 山东 "
        "河南 湖北 湖南 广东 广西 海南 重庆 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 香港 "
        "澳门 台湾 石家庄 太原 呼和浩特 沈阳 长春 哈尔滨 南京 杭州 合肥 福州 南昌 济南 "
        "郑州 武汉 长沙 广州 南宁 海口 成都 贵阳 昆明 拉萨 西安 兰州 西宁 银川 深圳 东莞 "
        "佛山 苏州 无锡 宁波 青岛 大连 厦门 包头 唐山"
    ).split()
)
"""Other provinces, provincial capitals and big industrial cities: naming one contradicts an ambiguous hit."""

CHINA_MENTION = r"(?i)\b(?:china|p\.?\s?r\.?\s?c\.?|people'?s republic of china)\b|中国|中華人民共和國|中华人民共和国"
XUAR_POSTCODE = r"(?:^|[^0-9])(8[34][0-9]{4})(?:[^0-9]|$)"
_ADMIN_WORDS = re.compile(
    r"(?i)\b(?:prefecture|city|county|district|autonomous|diqu|shi|xian|qu|zizhizhou|division)\b"
    r"|(?:地区|地區|自治州|自治县|自治縣|市|县|縣|区|區|州|师|師)$"
)
_SPECIFIC_CLAUSE = re.compile(r"([^.;:]*?)\s+(?:is|are) (?:specific|unambiguous)")
_ASKS_ONLY_FOR_CHINA = re.compile(r"(?i)\b(?:require|need)s?\s+(?:country\s*=\s*)?China\b")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_APOSTROPHES = "'’ʼ"


def mentions_china(text: pl.Expr) -> pl.Expr:
    """True where a text names China."""
    return text.str.contains(CHINA_MENTION).fill_null(False)


@dataclass(frozen=True)
class Gazetteer:
    """Spellings (key → place, strength), the two alternations that find them, and the characters a Latin-script
    match can begin with."""

    spellings: pl.DataFrame
    latin_pattern: str
    cjk_pattern: str
    latin_initials: str


def gazetteer_path() -> Path:
    return data_dir() / "gazetteer" / "xuar_places.csv"


def compiled_path(source: Path) -> Path:
    """Where the gazetteer of a CSV is kept compiled: beside it."""
    return source.with_name(f"{source.stem}.compiled.json")


@functools.lru_cache(maxsize=4)
def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """The gazetteer of a CSV (by default the project's): as compiled beside it, or built when that compilation is
    missing or not of this CSV and this code."""
    source = path or gazetteer_path()
    return read_compiled_gazetteer(source) or build_gazetteer(source)


def write_compiled_gazetteer(source: Path | None = None) -> Path:
    """Compile the gazetteer of a CSV beside it (a value a line): what `load_gazetteer` reads instead of building."""
    source = source or gazetteer_path()
    gazetteer = build_gazetteer(source)
    compiled = {
        "digest": _compilation_digest(source),
        "latin_pattern": gazetteer.latin_pattern,
        "cjk_pattern": gazetteer.cjk_pattern,
        "latin_initials": gazetteer.latin_initials,
        "spellings": gazetteer.spellings.to_dict(as_series=False),
    }
    compiled_path(source).write_text(json.dumps(compiled, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return compiled_path(source)


def _compilation_digest(source: Path) -> str:
    """What a compilation is of: the CSV and this module's code."""
    return hashlib.sha256(source.read_bytes() + b"\0" + Path(__file__).read_bytes()).hexdigest()


def read_compiled_gazetteer(source: Path) -> Gazetteer | None:
    """The gazetteer compiled beside a CSV, or None when it is absent, unreadable or of another CSV or code."""
    try:
        compiled = json.loads(compiled_path(source).read_text(encoding="utf-8"))
        if compiled["digest"] != _compilation_digest(source):
            return None
        return Gazetteer(
            spellings=pl.DataFrame(compiled["spellings"], schema=SPELLINGS_SCHEMA),
            latin_pattern=compiled["latin_pattern"],
            cjk_pattern=compiled["cjk_pattern"],
            latin_initials=compiled["latin_initials"],
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None


def build_gazetteer(source: Path) -> Gazetteer:
    """Read a gazetteer CSV and build its spelling table and search patterns."""
    places = pl.read_csv(source, infer_schema=False).fill_null("")
    records = [
        record for order, place in enumerate(places.iter_rows(named=True)) for record in _spelling_records(place, order)
    ]
    spellings = (
        pl.DataFrame(
            records,
            schema={
                "key": pl.String,
                "spelling": pl.String,
                "place": pl.String,
                "strength": pl.Int8,
                "order": pl.Int32,
                "cjk": pl.Boolean,
            },
        )
        .sort("order")
        .group_by("key", maintain_order=True)
        .agg(pl.col("spelling").first(), pl.col("place").first(), pl.col("strength").min(), pl.col("cjk").first())
    )
    latin = spellings.filter(~pl.col("cjk"))["spelling"].to_list()
    cjk = spellings.filter(pl.col("cjk"))["spelling"].to_list()
    return Gazetteer(
        spellings=spellings.select("key", "place", pl.col("strength").replace_strict(dict(enumerate(STRENGTHS)))),
        latin_pattern=_latin_pattern(latin),
        cjk_pattern=_cjk_pattern(cjk),
        latin_initials=_initials(latin),
    )


def _spelling_records(place: dict[str, str], order: int) -> list[dict[str, object]]:
    """One record per spelling of a place (plus diacritic-free variants), with its strength."""
    names = [place["name_en"], place["name_pinyin"], place["name_zh"], *place["other_spellings"].split(";")]
    names = [name.strip() for name in names if name.strip()]
    names += [folded for name in names if (folded := _strip_diacritics(name)) != name]
    ambiguous = place["ambiguous"].strip().lower() == "yes"
    specific = _named_specific(place["note"]) if ambiguous else set()
    row_strength = STRENGTHS.index("country") if _ASKS_ONLY_FOR_CHINA.search(place["note"]) else 0
    records = []
    for name in dict.fromkeys(names):
        if not ambiguous or _key(name) in specific:
            strength = STRENGTHS.index("specific")
        elif _ADMIN_WORDS.search(name):
            strength = max(row_strength, STRENGTHS.index("country"))
        else:
            strength = row_strength
        records.append(
            {
                "key": _key(name),
                "spelling": name,
                "place": place["name_en"],
                "strength": strength,
                "order": order,
                "cjk": bool(_HAN.search(name)),
            }
        )
    return records


def _named_specific(note: str) -> set[str]:
    """Spellings a note calls specific: "'Hotan', 'Khotan' and 和田地区 are specific" → {hotan, khotan, 和田地区}."""
    names: set[str] = set()
    for clause in _SPECIFIC_CLAUSE.findall(note):
        for token in re.split(r",|/| and ", clause):
            token = token.strip().strip("'\"").removeprefix("Chinese ").strip().strip("'\"")
            if token:
                names.add(_key(token))
    return names


def _strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _key(spelling: str) -> str:
    """Lookup form: lower case, no apostrophes, runs of spaces and hyphens as one space."""
    folded = spelling.lower().translate({ord(mark): None for mark in _APOSTROPHES})
    return re.sub(r"[\s\-]+", " ", folded).strip()


def _key_expr(hit: pl.Expr) -> pl.Expr:
    return (
        without(hit.str.to_lowercase(), _APOSTROPHES)
        .str.replace_all(r"[\s\-]+", " ")
        .str.strip_chars()
    )


def _latin_alternative(spelling: str) -> str:
    parts = []
    for character in spelling:
        if character in " -":
            parts.append(r"[\s\-]+")
        elif character in _APOSTROPHES:
            parts.append(f"[{_APOSTROPHES}]?")
        else:
            parts.append(re.escape(character))
    return re.sub(r"(\[\\s\\-\]\+)+", r"[\\s\\-]+", "".join(parts))


_LATIN_TAIL = rf"(?:[\s\-]+(?:[\p{{L}}']+[\s\-]+)?(?:{'|'.join(LATIN_NON_PLACE_WORDS)})\b\.?)"
_CJK_TAIL = f"(?:{'|'.join(CJK_NON_PLACE_SUFFIXES)})"


def _latin_pattern(spellings: list[str]) -> str:
    alternatives = "|".join(_latin_alternative(s) for s in sorted(spellings, key=len, reverse=True))
    return rf"(?i)\b(?:{alternatives})\b{_LATIN_TAIL}?"


def _initials(spellings: list[str]) -> str:
    """A class of every character a match of `_latin_pattern(spellings)` can begin with: each spelling's first
    character, and the one after its leading apostrophes (which a match may omit); case-insensitive, as the match."""
    initials: set[str] = set()
    for spelling in spellings:
        initials.update(spelling[: len(spelling) - len(spelling.lstrip(_APOSTROPHES)) + 1])
    return (
        "(?i)["
        + "".join(r"\s\-" if character in " -" else re.escape(character) for character in sorted(initials))
        + "]"
    )


def _cjk_pattern(spellings: list[str]) -> str:
    alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    return f"(?:{alternatives}){_CJK_TAIL}?"


@functools.lru_cache(maxsize=1)
def _other_provinces_patterns() -> tuple[str, str, str]:
    latin = list(OTHER_PROVINCES_LATIN)
    return _latin_pattern(latin), _cjk_pattern(list(OTHER_PROVINCES_CJK)), _initials(latin)


def _hits(address: pl.Expr, latin_pattern: str, cjk_pattern: str, latin_initials: str) -> pl.Expr:
    """Every hit of either alternation in the address, as a list (street/trade hits included, suffix kept)."""
    latin_hits = _latin_search(
        address, latin_pattern, latin_initials, lambda text, pattern: text.str.extract_all(pattern)
    )
    return pl.concat_list(latin_hits.fill_null([]), address.str.extract_all(cjk_pattern).fill_null([]))


def _latin_search(text: pl.Expr, pattern: str, initials: str, search: Callable[[pl.Expr, str], pl.Expr]) -> pl.Expr:
    """`search(text, pattern)`, where a text holding no character a match can begin with (`initials`) is searched
    as the empty text it has no hit in (null stays null).

    A Latin alternation with Unicode word boundaries cannot run on the regex engine's DFA over non-ASCII text: a
    name in Chinese script cost ~18 µs to search, as much as ten names in English; few hold a Latin letter. (They
    must be replaced, not masked: polars searches the strings under a null too.)"""
    may_begin = text.str.contains(initials).fill_null(True)
    return search(pl.when(may_begin).then(text).otherwise(pl.lit("", pl.String)), pattern)


def _is_place_use(hit: pl.Expr) -> pl.Expr:
    """False for hits that end in a street, building or trade word."""
    return ~hit.str.contains(rf"(?i){_LATIN_TAIL}$|{_CJK_TAIL}$")


_UNREAD = (pl.lit(False).alias("xuar_address"), pl.lit(None, pl.String).alias("xuar_places"))


def mentions_place(column: str, gazetteer: Gazetteer) -> pl.Expr:
    """The column names a place of the gazetteer, in any of its spellings (a street or trade use included)."""
    return _mentions_place(column, gazetteer.latin_pattern, gazetteer.cjk_pattern, gazetteer.latin_initials)


@functools.lru_cache(maxsize=8)
def _mentions_place(column: str, latin_pattern: str, cjk_pattern: str, latin_initials: str) -> pl.Expr:
    text = pl.col(column)
    latin = _latin_search(text, latin_pattern, latin_initials, lambda searched, pattern: searched.str.contains(pattern))
    return latin | text.str.contains(cjk_pattern)


def xuar_addresses(suppliers: pl.DataFrame, gazetteer: Gazetteer | None = None) -> pl.DataFrame:
    """`row, xuar_address (bool), xuar_places (str)` for a frame with `row, address, country`, one row per input row in
    its order; only addresses naming a place of the gazetteer or a XUAR postal code are judged (no other is in XUAR,
    and most addresses are such others)."""
    if suppliers["address"].null_count() == suppliers.height:
        return suppliers.select("row", *_UNREAD)
    gazetteer = gazetteer or load_gazetteer()
    address = pl.col("address")
    readable = suppliers.filter(mentions_place("address", gazetteer) | address.str.contains(XUAR_POSTCODE))
    if readable.is_empty():
        return suppliers.select("row", *_UNREAD)
    if readable.height == suppliers.height:
        return _judge_addresses(suppliers, gazetteer)
    verdicts = _judge_addresses(readable, gazetteer)
    return (
        suppliers.select("row", *_UNREAD)
        .join(verdicts, on="row", how="left", maintain_order="left")
        .select(
            "row",
            xuar_address=pl.col("xuar_address_right").fill_null(False),
            xuar_places=pl.col("xuar_places_right"),
        )
    )


def _judge_addresses(suppliers: pl.DataFrame, gazetteer: Gazetteer) -> pl.DataFrame:
    """The verdicts of addresses; whether one names another province is read only when a hit needs it (a `country`
    or `context` hit or a postal code): its three patterns would count towards the 32 polars keeps compiled."""
    rows = suppliers.lazy().select("row", "address", *_address_facts())
    hits = (
        suppliers.lazy()
        .select("row", _hit_list(gazetteer.latin_pattern, gazetteer.cjk_pattern, gazetteer.latin_initials))
        .explode("hit")
        .filter(_hit_is_place_use())
        .with_columns(_hit_key())
        .join(gazetteer.spellings.lazy(), on="key", how="inner")
        .with_columns(_hit_label())
        .group_by("row", maintain_order=True)
        .agg(*_places_found())
    )
    judged = run(rows.join(hits, on="row", how="left", maintain_order="left").with_columns(*_judged_facts()))
    calm_needed = judged["country_level"].any() or judged["context_level"].any() or judged["has_postcode"].any()
    other_province = _other_province() if calm_needed else pl.lit(False).alias("other_province")
    return run(judged.lazy().with_columns(other_province).select("row", *_verdict()))


@functools.cache
def _address_facts() -> tuple[pl.Expr, ...]:
    """china, foreign and postcode of each address (constant: built once)."""
    address = pl.col("address")
    return (
        (is_china(pl.col("country")) | mentions_china(address)).alias("china"),
        (
            pl.col("country").is_not_null()
            & ~is_china(pl.col("country"))
            & ~is_hong_kong_or_macao(pl.col("country"))
            & ~mentions_china(address)
        ).alias("foreign"),
        address.str.extract(XUAR_POSTCODE, 1).alias("postcode"),
    )


@functools.cache
def _other_province() -> pl.Expr:
    """The address names another province or provincial capital, not as a street or trade name."""
    other_latin, other_cjk, other_initials = _other_provinces_patterns()
    hits = _hits(pl.col("address"), other_latin, other_cjk, other_initials)
    return hits.list.eval(_is_place_use(pl.element())).list.any().alias("other_province")


@functools.lru_cache(maxsize=4)
def _hit_list(latin_pattern: str, cjk_pattern: str, latin_initials: str) -> pl.Expr:
    return _hits(pl.col("address"), latin_pattern, cjk_pattern, latin_initials).alias("hit")


@functools.cache
def _hit_is_place_use() -> pl.Expr:
    return pl.col("hit").is_not_null() & _is_place_use(pl.col("hit"))


@functools.cache
def _hit_key() -> pl.Expr:
    return _key_expr(pl.col("hit")).alias("key")


@functools.cache
def _hit_label() -> pl.Expr:
    """The place as listed, or the spelling found and the place it stands for."""
    return (
        pl.when(pl.col("key") == _key_expr(pl.col("place")))
        .then(pl.col("place"))
        .otherwise(pl.format("'{}' ({})", pl.col("hit"), pl.col("place")))
        .alias("label")
    )


@functools.cache
def _places_found() -> tuple[pl.Expr, ...]:
    return (
        pl.col("place").unique(maintain_order=True).alias("places"),
        pl.col("label").unique(maintain_order=True).alias("labels"),
        (pl.col("strength") == "specific").any().alias("specific"),
        (pl.col("strength") == "country").any().alias("country_level"),
        (pl.col("strength") == "context").any().alias("context_level"),
    )


@functools.cache
def _judged_facts() -> tuple[pl.Expr, ...]:
    return (
        pl.col("specific", "country_level", "context_level").fill_null(False),
        pl.col("places").fill_null([]),
        (pl.col("postcode").is_not_null() & pl.col("china")).alias("has_postcode"),
    )


@functools.cache
def _verdict() -> tuple[pl.Expr, pl.Expr]:
    """xuar_address and xuar_places: the place words found, read with the country, the postcode and the other
    provinces the address names."""
    corroborated = (pl.col("places").list.len() >= 2) | pl.col("has_postcode")
    calm = ~pl.col("other_province")
    xuar = (
        (pl.col("specific") & (~pl.col("foreign") | corroborated))
        | (pl.col("country_level") & calm & (pl.col("china") | corroborated))
        | (pl.col("context_level") & calm & corroborated)
        | (pl.col("has_postcode") & calm)
    )
    return xuar.fill_null(False).alias("xuar_address"), pl.when(xuar).then(_describe()).alias("xuar_places")


def _describe() -> pl.Expr:
    """ "Xinjiang, 'Kashgar Prefecture' (Kashgar); postal code 844000 (XUAR)"."""
    places = pl.col("labels").list.join(", ")
    postcode = pl.when(pl.col("has_postcode")).then(pl.format("postal code {} (XUAR)", pl.col("postcode")))
    return pl.concat_str(
        pl.when(pl.col("places").list.len() > 0).then(places), postcode, separator="; ", ignore_nulls=True
    )
