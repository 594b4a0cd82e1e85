"""Chinese script to pinyin: each distinct run of characters is read by pypinyin once, with the very result of reading
every name on its own."""

from __future__ import annotations

import itertools

import pypinyin
import pytest

from screener.transliterate import han_to_latin, run_pinyin

PLACES = ["", "深圳市", "乌鲁木齐", "上海", "石河子", "宁波市", "喀什地区"]
TRADE_NAMES = ["华泰", "中宏", "新疆天业", "恒通", "龙", "瑞祥金宝", "合盛", "乐"]
INDUSTRIES = ["纺织", "电子科技", "化工", "棉业", "硅业", "进出口贸易", "重工"]
FORMS = ["有限公司", "股份有限公司", "集团有限公司", "厂"]
NAMES = ["".join(parts) for parts in itertools.product(PLACES, TRADE_NAMES, INDUSTRIES, FORMS)]


@pytest.fixture
def fresh_pinyin():
    """No pinyin kept from earlier tests (and none left for later ones)."""
    run_pinyin.cache_clear()
    yield
    run_pinyin.cache_clear()


def test_names_read_together_get_what_each_gets_read_alone(fresh_pinyin) -> None:
    alone = []
    for name in NAMES:
        run_pinyin.cache_clear()
        alone.append(han_to_latin(name))
    run_pinyin.cache_clear()
    assert [han_to_latin(name) for name in NAMES] == alone


def test_pypinyin_reads_each_distinct_run_of_characters_once(fresh_pinyin, monkeypatch) -> None:
    read: list[str] = []
    lazy_pinyin = pypinyin.lazy_pinyin
    monkeypatch.setattr(pypinyin, "lazy_pinyin", lambda text, **options: read.append(text) or lazy_pinyin(text, **options))
    for name in NAMES:
        han_to_latin(name)
    assert read and len(read) == len(set(read)) < len(NAMES) / 10
