"""Transliteration tables: Chinese script to pinyin/English, XUAR place variants, old romanisations."""

from __future__ import annotations

import csv
import functools
import re
import unicodedata

from pypinyin import lazy_pinyin

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

OLD_ROMANISATIONS = {
    "szechuan": "sichuan",
    "szechwan": "sichuan",
    "peking": "beijing",
    "peiping": "beijing",
    "canton": "guangzhou",
    "tientsin": "tianjin",
    "tsingtao": "qingdao",
    "kwangtung": "guangdong",
    "fukien": "fujian",
    "amoy": "xiamen",
    "hupeh": "hubei",
    "honan": "henan",
    "shantung": "shandong",
    "kiangsu": "jiangsu",
    "chekiang": "zhejiang",
    "mukden": "shenyang",
    "nanking": "nanjing",
    "chungking": "chongqing",
    "hankow": "hankou",
    "kweichow": "guizhou",
    "hopeh": "hebei",
    "hopei": "hebei",
    "shansi": "shanxi",
    "shensi": "shaanxi",
    "anhwei": "anhui",
    "kiangsi": "jiangxi",
    "kansu": "gansu",
    "tsinghai": "qinghai",
    "dairen": "dalian",
    "soochow": "suzhou",
    "hangchow": "hangzhou",
    "foochow": "fuzhou",
    "swatow": "shantou",
    "tsinan": "jinan",
    "kunming": "kunming",
    "paotow": "baotou",
    "mutankiang": "mudanjiang",
    "tzekung": "zigong",
    "hsuchow": "xuzhou",
    "waichow": "huizhou",
    "hsiangyang": "xiangyang",
    "hsiang yang": "xiangyang",
    "manchouli": "manzhouli",
    "hotse": "heze",
    "tienshan": "tianshan",
    "kalgan": "zhangjiakou",
    "kirin": "jilin",
    "antung": "dandong",
    "chefoo": "yantai",
    "kiukiang": "jiujiang",
    "ichang": "yichang",
    "kweilin": "guilin",
    "wuchow": "wuzhou",
    "pakhoi": "beihai",
    "kongmoon": "jiangmen",
    "chaochow": "chaozhou",
    "chuanchow": "quanzhou",
    "ningpo": "ningbo",
    "wenchow": "wenzhou",
    "kashing": "jiaxing",
    "huchow": "huzhou",
    "shaohing": "shaoxing",
    "chinkiang": "zhenjiang",
    "yangchow": "yangzhou",
    "nantung": "nantong",
    "wusih": "wuxi",
    "tatung": "datong",
    "paoting": "baoding",
    "lanchow": "lanzhou",
    "sining": "xining",
    "chengchow": "zhengzhou",
    "loyang": "luoyang",
    "sian": "xian",
    "chengtu": "chengdu",
    "luchow": "luzhou",
    "harbin": "haerbin",
    "huhehot": "huhehaote",
    "tsitsihar": "qiqihaer",
    "uighur": "uyghur",
    "uygur": "uyghur",
    "uigur": "uyghur",
    "weiwuer": "uyghur",
}
"""Wade-Giles and postal spellings still seen in company names, to Hanyu Pinyin."""

CHINESE_TERMS = {
    # legal forms and corporate words: dropped
    "股份有限公司": " ",
    "有限责任公司": " ",
    "有限公司": " ",
    "有限責任公司": " ",
    "股份公司": " ",
    "公司": " ",
    "集团": " ",
    "集團": " ",
    "控股": " ",
    "股份": " ",
    "总公司": " ",
    "總公司": " ",
    # structure
    "分公司": " branch ",
    "分厂": " branch factory ",
    "办事处": " office ",
    "公安局": " public security bureau ",
    "公安厅": " public security department ",
    "公安廳": " public security department ",
    "派出所": " police station ",
    "监狱": " prison ",
    "監獄": " prison ",
    "劳改": " laogai ",
    "勞改": " laogai ",
    "劳动教养": " reeducation through labor ",
    "看守所": " detention center ",
    "研究所": " institute ",
    "研究院": " research institute ",
    "大学": " university ",
    "大學": " university ",
    "学院": " college ",
    "学校": " school ",
    "中心": " center ",
    "农场": " farm ",
    "農場": " farm ",
    "牧场": " ranch ",
    "团场": " regiment farm ",
    "工厂": " factory ",
    "工廠": " factory ",
    "厂": " factory ",
    "廠": " factory ",
    "矿": " mine ",
    "礦": " mine ",
    "产业园": " industry park ",
    "工业园": " industry park ",
    "园区": " park ",
    "园": " park ",
    "县": " county ",
    "縣": " county ",
    "地区": " prefecture ",
    "地區": " prefecture ",
    "自治区": " autonomous region ",
    "自治州": " autonomous prefecture ",
    "省": " ",
    "市": " ",
    "区": " district ",
    "區": " district ",
    # industries
    "科技": " technology ",
    "技术": " technology ",
    "技術": " technology ",
    "信息": " information ",
    "资讯": " information ",
    "資訊": " information ",
    "电子": " electronic ",
    "電子": " electronic ",
    "微电子": " microelectronics ",
    "半导体": " semiconductor ",
    "集成电路": " integrated circuit ",
    "光电": " optoelectronic ",
    "电气": " electric ",
    "電氣": " electric ",
    "电器": " appliance ",
    "家电": " home appliance ",
    "电力": " power ",
    "电池": " battery ",
    "光伏": " photovoltaic ",
    "太阳能": " solar ",
    "新能源": " new energy ",
    "能源": " energy ",
    "新材料": " new material ",
    "材料": " material ",
    "化工": " chemical ",
    "化学": " chemical ",
    "化學": " chemical ",
    "硅业": " silicon industry ",
    "硅業": " silicon industry ",
    "硅": " silicon ",
    "有色金属": " nonferrous metals ",
    "有色": " nonferrous ",
    "有色金屬": " nonferrous metals ",
    "金属": " metals ",
    "金屬": " metals ",
    "矿业": " mining ",
    "礦業": " mining ",
    "钢铁": " iron steel ",
    "鋼鐵": " iron steel ",
    "铝业": " aluminum industry ",
    "铜业": " copper industry ",
    "镁业": " magnesium industry ",
    "镁": " magnesium ",
    "煤业": " coal industry ",
    "实业": " industry ",
    "實業": " industry ",
    "工业": " industry ",
    "工業": " industry ",
    "产业": " industry ",
    "棉业": " cotton industry ",
    "棉業": " cotton industry ",
    "棉麻": " cotton linen ",
    "棉花": " cotton ",
    "棉纺": " cotton spinning ",
    "毛纺": " wool textile ",
    "色纺": " color spinning ",
    "纺纱": " spinning ",
    "纺织": " textile ",
    "紡織": " textile ",
    "针织": " knitting ",
    "织造": " weaving ",
    "印染": " printing dyeing ",
    "服装": " apparel ",
    "服裝": " apparel ",
    "服饰": " apparel ",
    "服飾": " apparel ",
    "制衣": " garment ",
    "鞋业": " footwear ",
    "手套": " glove ",
    "发饰": " hair accessories ",
    "髮飾": " hair accessories ",
    "饰品": " accessories ",
    "羊毛": " wool ",
    "食品": " food ",
    "农业": " agriculture ",
    "農業": " agriculture ",
    "农牧": " agriculture livestock ",
    "畜牧": " livestock ",
    "乳业": " dairy ",
    "糖业": " sugar industry ",
    "番茄": " tomato ",
    "果业": " fruit industry ",
    "果蔬": " fruit vegetable ",
    "茶业": " tea industry ",
    "生物科技": " biotechnology ",
    "生物技术": " biotechnology ",
    "生物": " biological ",
    "医药": " pharmaceutical ",
    "醫藥": " pharmaceutical ",
    "制药": " pharmaceutical ",
    "机械": " machinery ",
    "機械": " machinery ",
    "设备": " equipment ",
    "設備": " equipment ",
    "制造": " manufacture ",
    "製造": " manufacture ",
    "汽车": " automotive ",
    "数字": " digital ",
    "数控": " cnc ",
    "绿色": " green ",
    "數字": " digital ",
    "智能": " intelligent ",
    "网络": " network ",
    "通信": " communication ",
    "通讯": " communication ",
    "安防": " security ",
    "物流": " logistics ",
    "仓储": " storage ",
    "贸易": " trade ",
    "貿易": " trade ",
    "商贸": " trade ",
    "经贸": " economic trade ",
    "进出口": " import export ",
    "進出口": " import export ",
    "国际": " international ",
    "國際": " international ",
    "发展": " development ",
    "發展": " development ",
    "开发": " development ",
    "開發": " development ",
    "投资": " investment ",
    "管理": " management ",
    "服务": " service ",
    "建设": " construction ",
    "工程": " engineering ",
    "建筑": " construction ",
    "房地产": " real estate ",
    "置业": " real estate ",
    "水泥": " cement ",
    "玻璃": " glass ",
    "塑料": " plastics ",
    "橡胶": " rubber ",
    "照明": " lighting ",
    "中国": " china ",
    "中國": " china ",
    "人民政府": " peoples government ",
    "政府": " government ",
}
"""Generic words of Chinese company names, with the English a listed name would use (longest match wins)."""

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
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["level"] != "xpcc_division"]
    english_names = {fold(row["name_en"]) for row in rows}
    for row in rows:
        canonical = "xpcc" if row["name_en"].startswith("Xinjiang Production") else fold(row["name_pinyin"])
        variants = [row["name_en"], *row["other_spellings"].split(";")]
        for variant in (v.strip() for v in variants if v.strip()):
            if _HAN.fullmatch(variant):
                han.setdefault(variant, f" {canonical} ")
                continue
            key = fold(variant)
            if not key or _NON_LATIN.search(key) or (key in english_names and key != fold(row["name_en"])):
                continue
            if len(key.split()) == 1 or row["level"] == "region":
                latin.setdefault(key, canonical)
        if row["name_zh"]:
            han.setdefault(row["name_zh"], f" {canonical} ")
        if len(canonical.split()) == 1:
            latin.setdefault(canonical, canonical)
    return latin, han


@functools.lru_cache(maxsize=1)
def _han_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    terms = {**gazetteer_maps()[1], **CHINESE_TERMS}
    alternatives = sorted(terms, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, alternatives))), terms


def han_to_latin(text: str) -> str:
    """Chinese script to the words an English list entry would use: known terms translated, the rest in pinyin."""
    pattern, terms = _han_pattern()
    translated = pattern.sub(lambda m: terms[m.group(0)], text)
    return _HAN.sub(lambda m: f" {run_pinyin(m.group(0))} ", translated)


def run_pinyin(run: str) -> str:
    """Pinyin of a run of Chinese characters, grouped in two-character words as brand names usually are."""
    syllables = [s for s in lazy_pinyin(run, v_to_u=True) if s.strip()]
    if len(syllables) <= 3:
        return "".join(syllables)
    words = ["".join(syllables[i : i + 2]) for i in range(0, len(syllables), 2)]
    if len(syllables) % 2:
        words[-2:] = [words[-2] + words[-1]]
    return " ".join(words)
