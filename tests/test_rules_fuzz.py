"""Fuzzing user rule files: any document loads or fails with one RulesError line, and nothing in it runs as code."""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.rules import (
    CANDIDATE_STRING_FIELDS,
    KINDS,
    RulesError,
    evaluate,
    load_rules,
)
from tests.test_rules import candidates, suppliers

FUZZ_BUDGET = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CANARY = Path(tempfile.gettempdir()) / f"screener-rules-canary-{uuid.uuid4().hex}"
BUILTIN_IDS = [rule.id for rule in load_rules().rules]
HOSTILE = [
    f"__import__('pathlib').Path({str(CANARY)!r}).write_text('ran')",
    f"{{__import__('pathlib').Path({str(CANARY)!r}).write_text('ran')}}",
    "{0.__class__}", "{row.__class__.__mro__}", "{list_name.__class__.__mro__}", "{name!r}", "{name:>999999999}",
    "{supplier_name.__init__.__globals__}", "{__builtins__}", "{{list_name}}", "{}", "{0}", "{name[0]}",
    "${jndi:ldap://x}", "`rm -rf ~`", "$(touch canary)", "eval('1')", "lambda: 0", "%s%s%n", "\x00", "\u202e",
    "(a+)+$", "(a|a)*b", "((a*)*)*$", "(?:x+x+)+y", "a{1000}{1000}", "[", "(?<name", "\\", "(?i)" + "a?" * 200,
    "{list_name}", "[{citation}]", "{score}", "{supplier_product}", "{basis}", "line\nbreak", "cr\r\nlf", "tab\tbell\a",
]

hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30),
                         st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=4).map("".join))
scalars = st.one_of(
    hostile_text, st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(), st.booleans(),
    st.dates(), st.sampled_from([*KINDS, "python", "exec", "eval"]),
    st.sampled_from(["critical", "high", "medium", "low", "clear", "severe"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner, max_size=3)), max_leaves=6)
nasty_keys = st.one_of(st.sampled_from(["line\nbreak", "cr\r", "tab\tkey", "__class__", "{0}", "é\x1b[31m"]),
                       hostile_text)
condition_keys = st.one_of(
    st.sampled_from([*CANDIDATE_STRING_FIELDS, "in_force", "includes_affiliates", "merchandise_covers_product",
                     "xinjiang_related", "prefixes", "sectors", "china"]),
    st.sampled_from(CANDIDATE_STRING_FIELDS).map(lambda field: f"{field}_matches"),
    st.sampled_from(CANDIDATE_STRING_FIELDS).map(lambda field: f"{field}_not_matches"),
    nasty_keys,
)
conditions = st.dictionaries(condition_keys, st.one_of(hostile_text, st.lists(hostile_text, max_size=3), values),
                             max_size=4)
rule_tables = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(BUILTIN_IDS), st.from_regex(r"[A-Za-z0-9_\-]{1,12}", fullmatch=True), values)},
    optional={
        "title": hostile_text, "reason": hostile_text, "basis": hostile_text,
        "kind": st.one_of(st.sampled_from(list(KINDS)), values),
        "tier": st.one_of(st.sampled_from(["critical", "high", "medium", "low"]), values),
        "weight": st.one_of(st.integers(-5, 105), st.floats(), values),
        "enabled": st.one_of(st.booleans(), values), "when": st.one_of(conditions, values),
    },
).flatmap(lambda table: st.dictionaries(nasty_keys, values, max_size=2).map(lambda extra: {**extra, **table}))
sector_tables = st.dictionaries(
    st.sampled_from(["id", "name", "designation", "source_url", "designated", "keywords", "keywords_zh",
                     "hs_prefixes"]),
    values, max_size=8,
)


# ---------------------------------------------------------------- a small TOML writer (tomllib only reads)


def toml_string(text: str) -> str:
    escaped = "".join(
        "\\\\" if char == "\\" else '\\"' if char == '"' else f"\\u{ord(char):04x}" if ord(char) < 32 or
        ord(char) == 127 else char
        for char in text
    )
    return f'"{escaped}"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(key)} = {toml_value(item)}" for key, item in value.items()) + "}"
    return toml_string(value)


def toml_document(rules: list[dict[str, Any]], sectors: list[dict[str, Any]]) -> str:
    tables = [("rule", table) for table in rules] + [("sector", table) for table in sectors]
    return "".join(
        f"[[{key}]]\n" + "".join(f"{toml_string(field)} = {toml_value(value)}\n" for field, value in table.items())
        for key, table in tables
    )


# ---------------------------------------------------------------- properties


def load_user_file(content: bytes) -> Any:
    """load_rules over a user file with this content: the RuleSet, or the RulesError it raised."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mine.toml"
        path.write_bytes(content)
        try:
            return load_rules([path])
        except RulesError as error:
            message = str(error)
            assert message.startswith(f"rules file {path}"), message
            assert not re.search(r"[\x00-\x1f\x7f]", message), message
            return error


def assert_harmless(loaded: Any) -> None:
    """Nothing ran; a loaded rule set evaluates, and its reasons never show Python internals."""
    assert not CANARY.exists()
    if isinstance(loaded, RulesError):
        return
    for rule in loaded.rules:
        placeholders = re.findall(r"\{([^{}]*)\}", rule.reason)
        assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", inside) for inside in placeholders), rule.reason
    rows = suppliers({"name": "Xinjiang Zhongtai Chemical", "country": "CN", "address": "Shihezi, Xinjiang",
                      "product": "PVC", "hs_code": "3904", "uscc": "91650000MA77XXXX1X"})
    verdicts = evaluate(rows, candidates((0, "uflpa", 97.0, "match"), (0, "wro_active", 80.0, "review")), loaded)
    assert verdicts.height == 1
    reasons = " | ".join(verdicts["reasons"].to_list()[0])
    assert "<class" not in reasons and "<built-in" not in reasons and "<module" not in reasons


@FUZZ_BUDGET
@given(st.lists(rule_tables, max_size=3), st.lists(sector_tables, max_size=2))
def test_any_rule_tables_load_or_fail_with_one_line(rules, sectors):
    assert_harmless(load_user_file(toml_document(rules, sectors).encode()))


@FUZZ_BUDGET
@given(st.one_of(st.text(max_size=200).map(str.encode), st.binary(max_size=200),
                 st.lists(st.sampled_from(["[[rule]]", "[rule.when]", "[[sector]]", "id = \"x\"", "kind = 'otherwise'",
                                           "reason = '{0.__class__}'", "= =", "[[rule]", "a.b.c = 1", "tier = [",
                                           "weight = 1e999", "when = 3", "rule = 1"]), max_size=10).map(
                     lambda lines: "\n".join(lines).encode())))
def test_any_document_loads_or_fails_with_one_line(content):
    assert_harmless(load_user_file(content))


@FUZZ_BUDGET
@given(st.sampled_from(sorted(KINDS)), st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=3))
def test_hostile_reason_templates_are_refused_or_rendered_as_plain_text(kind, pieces):
    """A well-formed rule whose reason holds hostile placeholders: refused, or its text is printed literally."""
    reason = "Hit: " + " ".join(pieces)
    rule = {"id": "hostile", "title": "t", "tier": "high", "weight": 50, "kind": kind, "reason": reason,
            "when": {"prefixes": ["65"]} if kind == "uscc_region" else {}}
    loaded = load_user_file(toml_document([rule], []).encode())
    assert_harmless(loaded)
    if isinstance(loaded, RulesError):
        assert "field 'reason'" in str(loaded)
        return
    if "{" not in reason and "[" not in reason and kind in ("list_match", "otherwise"):
        matches = candidates((0, "uflpa", 97.0, "match")) if kind == "list_match" else candidates()
        verdicts = evaluate(suppliers({"name": "Acme Tools"}), matches, loaded)
        assert reason.replace(" | ", "; ") in " | ".join(verdicts["reasons"].to_list()[0])


def test_an_attribute_placeholder_is_refused_with_the_field_named():
    rule = {"id": "peek", "title": "t", "tier": "high", "weight": 50, "kind": "otherwise",
            "reason": "{supplier_name.__class__.__mro__}"}
    loaded = load_user_file(toml_document([rule], []).encode())
    assert isinstance(loaded, RulesError)
    assert "rule 'peek': field 'reason': braces must enclose a field name" in str(loaded)


def test_a_literal_brace_text_is_kept_verbatim_in_the_reason():
    """A reason quoting Python-looking text renders it as written: no formatting, no attribute access."""
    rule = {"id": "plain", "title": "t", "tier": "low", "weight": 1, "kind": "otherwise",
            "reason": "see __import__('os') and [{supplier_country}] {supplier_name}"}
    loaded = load_user_file(toml_document([rule], []).encode())
    verdicts = evaluate(suppliers({"name": "{0.__class__}", "country": None}), candidates(), loaded)
    assert verdicts.filter(pl.col("fired_rules").list.contains("plain"))["reasons"].to_list()[0][-1].endswith(
        "see __import__('os') and  {0.__class__}")


@pytest.mark.parametrize(("document", "message"), [
    ('[[rule]]\nid = "x"\n"a\\nb" = 1\n', r"unknown field 'a\nb'"),
    ('[[rule]]\nid = "review_candidate"\n[rule.when]\n"shoe\\nsize" = ["42"]\n', r"unknown condition 'shoe\nsize'"),
    ('[[rule]]\nid = "high_priority_sector"\n[rule.when]\nsectors = ["gold\\r\\nx"]\n',
     r"unknown sector 'gold\r\nx'"),
    ('[[rule]]\nid = "review_candidate"\n[rule.when]\nlist_name_matches = "(?<name"\n',
     "'list_name_matches' is not a valid regular expression (error: unclosed capture group name)"),
    ('[[rule]]\nid = "review_candidate"\n[rule.when]\nname_matches = "a{1000}{1000}"\n',
     "'name_matches' is not a valid regular expression (regex error: Compiled regex exceeds size limit"),
])
def test_messages_quoting_the_file_stay_on_one_line_and_say_what_is_wrong(document, message):
    loaded = load_user_file(document.encode())
    assert isinstance(loaded, RulesError)
    assert message in str(loaded)
