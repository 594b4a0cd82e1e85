"""Declarative risk rules: loading `rules/*.toml` (plus user files) and evaluating them over supplier rows.

A rule file holds `[[rule]]` tables (and optionally `[[sector]]` tables, see `rules/sectors.toml`):

    [[rule]]
    id = "uflpa_entity"                 # unique; a user file reusing an id overrides that rule's fields
    title = "Match to a UFLPA Entity List entity"
    tier = "critical"                   # critical | high | medium | low
    weight = 100                        # 0-100, its share of the risk score
    kind = "list_match"                 # one of KINDS
    basis = "UFLPA sec. 3 ... https://..."   # legal basis, available to the reason as {basis}
    reason = "{list_name} — {program}, listed {start_date}[ ({citation})]: ..."
    enabled = true                      # a user file sets false to switch a built-in rule off
    [rule.when]                         # the condition's parameters (structured operators, never code)
    list_name_matches = "(?i)uflpa"

Condition kinds (`when` parameters):
- list_match: a candidate of the matcher joined with its entity. `<field> = [values]` (source, list_kind,
  program, status, band, name_kind, authority, ...), `<field>_matches` / `<field>_not_matches` = regular
  expression, and the booleans in_force (status active / partially active or unconfirmed, and no end date; an
  order modified so that the goods are admitted again is not in force), includes_affiliates, merchandise_covers_product (a word of the order's merchandise occurs in the
  supplier's product) and xinjiang_related (the entry names Xinjiang, the XPCC or Uyghurs). Without `band`
  only `match`-band candidates count.
- xuar_address: the address names a XUAR place (see screener/gazetteer.py for how look-alikes are ruled out).
- xuar_name: the supplier name begins with (or brackets) a XUAR administrative division: Chinese enterprise names
  start with the division that registered them; read with the same look-alike care as addresses.
- uscc_region: `prefixes` = division-code prefixes of the Unified Social Credit Code (characters 3-8).
- uscc_invalid: the registration number fails the GB 32100-2015 format or check character.
- product_sector: the product or HS code is in a `[[sector]]`; `china = true` limits it to suppliers in China,
  `sectors = [ids]` to some sectors.
- otherwise: fires only when no other rule fired; `china = true` limits it to suppliers in China.

Reason templates: `{field}` is replaced by the field's value; a `[...]` segment is dropped when any field
in it is empty. The supplier's own columns are `{supplier_name}`, `{supplier_country}`, ... in every kind.

A supplier's tier is the highest tier among its fired rules (clear when none fired); `risk_score` is
100 * (1 - prod(1 - weight_i * confidence_i / 100)): every fired rule raises it, it never exceeds 100, and
list matches count with their match confidence (score / 100). Reasons list every fired rule, most severe first.
The headline match (`match_entity_id`) is the match-band candidate behind the most severe rule that fired (ties:
the highest score), so a row made critical by its UFLPA listing names that listing, not a higher-scoring other one.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from screener.countries import is_china
from screener.errors import ScreenerError
from screener.files import FileLimitError, read_limited
from screener.gazetteer import gazetteer_path, load_gazetteer, mentions_china, mentions_place, xuar_addresses
from screener.lookup import KeyMap
from screener.matching import registration_claims
from screener.paths import rules_dir
from screener.plans import run
from screener.result import REASON_SEPARATOR, TIERS
from screener.sectors import SECTOR_FIELDS, Sector, sector_hits
from screener.uscc import division_name, with_uscc_columns

FIRING_TIERS = TIERS[:-1]
SUPPLIER_FIELDS = ("name", "country", "address", "product", "hs_code", "uscc", "parent")
MAX_RULES_FILE_BYTES = 256 * 1024
MAX_KEY_PARTS = 16
MAX_TEMPLATE_CHARS = 2_000
_KEY_PART = r"""\s*(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')\s*"""
_DEEP_KEY = re.compile(rf"\s*\[{{0,2}}{_KEY_PART}(?:\.{_KEY_PART}){{{MAX_KEY_PARTS},}}(?=[=\]])")

CANDIDATE_STRING_FIELDS = tuple(
    (
        "entity_id matched_name name_kind name_lang band relation via explanation source list_name list_kind authority "
        "program entity_type name country addresses sector merchandise status citation remarks source_url"
    ).split()
)
CANDIDATE_FIELDS = (*CANDIDATE_STRING_FIELDS, "score", "start_date", "end_date", "includes_affiliates")
DERIVED_CANDIDATE_FIELDS = ("matched_as", "status_text", "in_force", "merchandise_covers_product", "xinjiang_related")
IN_FORCE_STATUSES = ("active", "partially active")
_NAME_KIND_LABELS = KeyMap(
    {"primary": "listed name", "alias": "alias", "subsidiary": "named subsidiary", "former": "former name"}, pl.String()
)
XINJIANG_TEXT = r"(?i)xinjiang|uyghur|uighur|uygur|\bxuar\b|\bxpcc\b|bingtuan|新疆|兵团|兵團"
MERCHANDISE_STOPWORDS = tuple(
    (
        "products product goods parts part pieces other items made with from brand materials including certain "
        "related and the that used all any such based type types kind kinds various containing using"
    ).split()
)


class RulesError(ScreenerError):
    """A rule file cannot be used; the message names the file and the rule, field or line."""

    def __init__(self, message: str):
        super().__init__(re.sub(r"[\x00-\x1f\x7f]", lambda char: repr(char[0])[1:-1], message))


@dataclass(frozen=True)
class Rule:
    """One declarative rule, validated."""

    id: str
    title: str
    tier: str
    weight: float
    kind: str
    reason: str
    basis: str = ""
    when: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    origin: str = ""


@dataclass(frozen=True)
class RuleSet:
    """The rules in force for a run, the sectors they use, and a version that changes with any rule file."""

    version: str
    rules: tuple[Rule, ...]
    sectors: tuple[Sector, ...]
    files: tuple[Path, ...] = ()

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)

    @functools.cached_property
    def ordinary(self) -> tuple[Rule, ...]:
        """The rules other than `otherwise`, in order."""
        return tuple(rule for rule in self.rules if rule.kind != "otherwise")

    @functools.cached_property
    def signals(self) -> dict[str, dict[str, pl.Expr]]:
        """Per frame the rules read (`facts`, `candidates`), a condition per ordinary rule (by position) that holds
        when a row it may fire for is present: built once, as building them costs more than testing them."""
        signals: dict[str, dict[str, pl.Expr]] = {"facts": {}, "candidates": {}}
        for position, rule in enumerate(self.ordinary):
            frame, signal = _signal(rule)
            signals[frame][str(position)] = signal.any()
        return signals


# ---------------------------------------------------------------- loading


def load_rules(extra_files: Iterable[Path] = ()) -> RuleSet:
    """The built-in rules (`rules/*.toml`) with the user's files applied in order (add, override, disable).

    The version is a hash of every rule file's name and content and of the XUAR gazetteer the address rule uses.
    """
    builtin = sorted(rules_dir().glob("*.toml"))
    files = [*builtin, *(Path(path) for path in extra_files)]
    rules: dict[str, dict[str, Any]] = {}
    sectors: dict[str, dict[str, Any]] = {}
    digest = hashlib.sha256()
    for path in files:
        content = _read(path)
        digest.update(path.name.encode() + b"\0" + content + b"\0")
        document = _parse(path, content)
        for position, table in enumerate(_tables(path, document, "rule")):
            rule_id = _required_id(path, table, "rule", position)
            rules[rule_id] = {**rules.get(rule_id, {}), **table, "origin": str(path)}
        for position, table in enumerate(_tables(path, document, "sector")):
            sector_id = _required_id(path, table, "sector", position)
            sectors[sector_id] = {**sectors.get(sector_id, {}), **table, "origin": str(path)}
    if gazetteer_path().is_file():
        digest.update(b"gazetteer\0" + gazetteer_path().read_bytes())
    parsed_sectors = tuple(_sector(table) for table in sectors.values())
    parsed_rules = tuple(_rule(table, {sector.id for sector in parsed_sectors}) for table in rules.values())
    return RuleSet(
        version=digest.hexdigest()[:12],
        rules=tuple(rule for rule in parsed_rules if rule.enabled),
        sectors=parsed_sectors,
        files=tuple(files),
    )


def _read(path: Path) -> bytes:
    try:
        return read_limited(path, MAX_RULES_FILE_BYTES, "rules file (TOML)")
    except FileLimitError as error:
        raise RulesError(f"rules file {error}") from error


def _parse(path: Path, content: bytes) -> dict[str, Any]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RulesError(f"rules file {path}: not UTF-8 text (byte {error.start})") from error
    # the TOML parser spends time and memory with the square of a dotted key's length, and recurses on nesting
    deep = next((number for number, line in enumerate(text.splitlines(), start=1) if _DEEP_KEY.match(line)), None)
    if deep:
        raise RulesError(f"rules file {path}: line {deep} has a key of more than {MAX_KEY_PARTS} dotted parts")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"rules file {path}: invalid TOML: {error}") from error
    except RecursionError as error:
        raise RulesError(f"rules file {path}: values nested too deeply") from error


def _tables(path: Path, document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    tables = document.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise RulesError(f"rules file {path}: '{key}' must be written as [[{key}]] tables")
    return tables


def _required_id(path: Path, table: dict[str, Any], key: str, position: int) -> str:
    identifier = table.get("id")
    if not isinstance(identifier, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", identifier):
        raise RulesError(
            f"rules file {path}: [[{key}]] number {position + 1}: field 'id' must be a name "
            "of letters, digits, '_' or '-'"
        )
    return identifier


def _problem(table: dict[str, Any], what: str, message: str) -> RulesError:
    return RulesError(f"rules file {table['origin']}: {what} '{table['id']}': {message}")


def _sector(table: dict[str, Any]) -> Sector:
    def strings(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise _problem(table, "sector", f"field '{key}' must be a list of non-empty strings")
        return tuple(value)

    for key in ("name", "designation", "source_url"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise _problem(table, "sector", f"field '{key}' is required (text)")
    designated = table.get("designated")
    try:
        designated = designated if isinstance(designated, date) else date.fromisoformat(str(designated))
    except ValueError as error:
        raise _problem(table, "sector", "field 'designated' must be a date (YYYY-MM-DD)") from error
    hs_prefixes = strings("hs_prefixes")
    if any(not re.fullmatch(r"[0-9]{2,}(\.[0-9]+)*", prefix) for prefix in hs_prefixes):
        raise _problem(table, "sector", 'field \'hs_prefixes\' must hold HS codes such as "52" or "2804.61"')
    return Sector(
        id=table["id"],
        name=table["name"],
        designated=designated,
        designation=table["designation"],
        source_url=table["source_url"],
        keywords=strings("keywords"),
        keywords_zh=strings("keywords_zh"),
        hs_prefixes=hs_prefixes,
    )


RULE_KEYS = {"id", "title", "tier", "weight", "kind", "reason", "basis", "when", "enabled", "origin"}


def _rule(table: dict[str, Any], sector_ids: set[str]) -> Rule:
    unknown = sorted(set(table) - RULE_KEYS)
    if unknown:
        raise _problem(
            table, "rule", f"unknown field '{unknown[0]}' (fields: {', '.join(sorted(RULE_KEYS - {'origin'}))})"
        )
    for key in ("title", "reason", "kind"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise _problem(table, "rule", f"field '{key}' is required (text)")
    if table.get("tier") not in FIRING_TIERS:
        raise _problem(
            table, "rule", f"field 'tier' must be one of {', '.join(FIRING_TIERS)} (got {table.get('tier')!r})"
        )
    weight = table.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 100:
        raise _problem(table, "rule", f"field 'weight' must be a number from 0 to 100 (got {weight!r})")
    if not isinstance(table.get("enabled", True), bool):
        raise _problem(table, "rule", "field 'enabled' must be true or false")
    if not isinstance(table.get("basis", ""), str):
        raise _problem(table, "rule", "field 'basis' must be text")
    kind = KINDS.get(table["kind"])
    if kind is None:
        raise _problem(table, "rule", f"field 'kind' must be one of {', '.join(KINDS)} (got {table['kind']!r})")
    when = table.get("when", {})
    if not isinstance(when, dict):
        raise _problem(table, "rule", "field 'when' must be a table of condition parameters")
    error = kind.check(when, sector_ids)
    if error:
        raise _problem(table, "rule", f"field 'when': {error}")
    error = _check_template(table["reason"], {*kind.fields, *_COMMON_FIELDS})
    if error:
        raise _problem(table, "rule", f"field 'reason': {error}")
    return Rule(
        id=table["id"],
        title=table["title"],
        tier=table["tier"],
        weight=float(weight),
        kind=table["kind"],
        reason=table["reason"],
        basis=table.get("basis", ""),
        when=when,
        enabled=table.get("enabled", True),
        origin=table["origin"],
    )


# ---------------------------------------------------------------- reason templates

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_COMMON_FIELDS = ("basis", "title", *(f"supplier_{column}" for column in SUPPLIER_FIELDS))


def _check_template(template: str, fields: set[str]) -> str | None:
    if len(template) > MAX_TEMPLATE_CHARS:
        return f"a reason of {len(template):,} characters; a reason may have at most {MAX_TEMPLATE_CHARS:,}"
    depth = 0
    for character in template:
        depth += {"[": 1, "]": -1}.get(character, 0)
        if depth not in (0, 1):
            return "square brackets (optional segments) must be balanced and not nested"
    if depth:
        return "square brackets (optional segments) must be balanced and not nested"
    if re.sub(_PLACEHOLDER, "", template).count("{") or re.sub(_PLACEHOLDER, "", template).count("}"):
        return "braces must enclose a field name, e.g. {list_name}"
    unknown = sorted({name for name in _PLACEHOLDER.findall(template)} - fields)
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}} (available: {', '.join(sorted(fields))})"
    return None


@functools.lru_cache(maxsize=256)
def _render(template: str) -> pl.Expr:
    """The template as one string expression over the frame's columns (null and '' fields count as empty)."""
    parts: list[pl.Expr] = []
    for segment in re.split(r"(\[[^\]]*\])", template):
        if segment.startswith("[") and segment.endswith("]"):
            inner = segment[1:-1]
            names = _PLACEHOLDER.findall(inner)
            present = pl.all_horizontal(_text(name) != "" for name in names) if names else pl.lit(True)
            parts.append(pl.when(present).then(_render_plain(inner)).otherwise(pl.lit("")))
        elif segment:
            parts.append(_render_plain(segment))
    return pl.concat_str(parts) if parts else pl.lit("")


def _render_plain(text: str) -> pl.Expr:
    pieces = re.split(_PLACEHOLDER, text)
    exprs = [pl.lit(piece) if index % 2 == 0 else _text(piece) for index, piece in enumerate(pieces) if piece]
    return pl.concat_str(exprs) if exprs else pl.lit("")


def _text(name: str) -> pl.Expr:
    """A field as text for a reason: '' when null, never containing the reason separator."""
    return pl.col(name).cast(pl.String).fill_null("").str.replace_all(REASON_SEPARATOR, "; ", literal=True)


# ---------------------------------------------------------------- condition kinds


@dataclass(frozen=True)
class Kind:
    """A condition kind: its parameter check, the fields its reasons may use, and how it fires."""

    check: Callable[[dict[str, Any], set[str]], str | None]
    fields: tuple[str, ...]
    fire: Callable[[Rule, pl.DataFrame, pl.DataFrame, RuleSet], pl.LazyFrame]


def _check_list_match(when: dict[str, Any], _: set[str]) -> str | None:
    for key, value in when.items():
        base = key.removesuffix("_not_matches").removesuffix("_matches")
        if key.endswith("matches"):
            if base not in CANDIDATE_STRING_FIELDS or not isinstance(value, str):
                fields = ", ".join(CANDIDATE_STRING_FIELDS)
                return f"'{key}' must name a text field of the match ({fields}) and hold a regular expression"
            try:
                pl.select(pl.lit("").str.contains(value))
            except pl.exceptions.ComputeError as error:
                lines = [line.strip() for line in str(error).splitlines()]
                detail = next((line for line in lines if line.startswith("error:")), lines[0])
                return f"'{key}' is not a valid regular expression ({detail})"
        elif key in CANDIDATE_STRING_FIELDS:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                return f"'{key}' must be a list of values, e.g. {key} = [\"...\"]"
        elif key in ("in_force", "includes_affiliates", "merchandise_covers_product", "xinjiang_related"):
            if not isinstance(value, bool):
                return f"'{key}' must be true or false"
        else:
            return (
                f"unknown condition '{key}' for kind list_match (use a match field as a list of values, "
                "<field>_matches / <field>_not_matches, in_force, includes_affiliates, "
                "merchandise_covers_product or xinjiang_related)"
            )
    return None


def _check_keys(
    allowed: dict[str, type], required: tuple[str, ...] = ()
) -> Callable[[dict[str, Any], set[str]], str | None]:
    def check(when: dict[str, Any], sector_ids: set[str]) -> str | None:
        missing = [key for key in required if key not in when]
        if missing:
            return f"'{missing[0]}' is required for this kind"
        for key, value in when.items():
            if key not in allowed:
                return f"unknown condition '{key}'" + (
                    f" (allowed: {', '.join(allowed)})" if allowed else " (this kind takes none)"
                )
            if allowed[key] is bool and not isinstance(value, bool):
                return f"'{key}' must be true or false"
            if allowed[key] is list and (
                not isinstance(value, list) or not all(isinstance(item, str) for item in value)
            ):
                return f"'{key}' must be a list of strings"
        if not all(re.fullmatch(r"[0-9]{1,6}", prefix) for prefix in when.get("prefixes", [])):
            return "'prefixes' must list division-code prefixes such as \"65\""
        unknown = set(when.get("sectors", [])) - sector_ids
        if unknown:
            return f"unknown sector '{min(unknown)}' (sectors: {', '.join(sorted(sector_ids))})"
        return None

    return check


def _fire_list_match(rule: Rule, _: pl.DataFrame, candidates: pl.DataFrame, __: RuleSet) -> pl.LazyFrame:
    return (
        candidates.lazy()
        .filter(_list_match_condition(rule))
        .sort(["row", "score"], descending=[False, True])
        .unique(["row", "entity_id"], keep="first", maintain_order=True)
        .with_columns(confidence=pl.col("score").cast(pl.Float64) / 100)
    )


def _list_match_condition(rule: Rule) -> pl.Expr:
    """The candidates a list_match rule fires for."""
    condition = pl.lit(True)
    for key, value in rule.when.items():
        if key.endswith("_not_matches"):
            condition &= ~pl.col(key.removesuffix("_not_matches")).fill_null("").str.contains(value)
        elif key.endswith("_matches"):
            condition &= pl.col(key.removesuffix("_matches")).fill_null("").str.contains(value)
        elif isinstance(value, bool):
            condition &= pl.col(key).fill_null(False) == value
        else:
            condition &= pl.col(key).is_in(value).fill_null(False)
    if "band" not in rule.when:
        condition &= pl.col("band") == "match"
    return condition


def _fire_xuar_address(_: Rule, facts: pl.DataFrame, __: pl.DataFrame, ___: RuleSet) -> pl.LazyFrame:
    return facts.lazy().filter(pl.col("xuar_address")).with_columns(confidence=pl.lit(1.0))


def _fire_xuar_name(_: Rule, facts: pl.DataFrame, __: pl.DataFrame, ___: RuleSet) -> pl.LazyFrame:
    return facts.lazy().filter(pl.col("xuar_name")).with_columns(confidence=pl.lit(1.0))


def _fire_uscc_region(rule: Rule, facts: pl.DataFrame, _: pl.DataFrame, __: RuleSet) -> pl.LazyFrame:
    named = facts.lazy().with_columns(uscc_division_name=division_name(pl.col("uscc_division"), rule.when["prefixes"]))
    return named.filter(pl.col("uscc_division_name").is_not_null()).with_columns(
        uscc=pl.col("uscc_code"), confidence=pl.when(pl.col("uscc_valid")).then(1.0).otherwise(0.8)
    )


def _fire_uscc_invalid(_: Rule, facts: pl.DataFrame, __: pl.DataFrame, ___: RuleSet) -> pl.LazyFrame:
    return facts.lazy().filter(pl.col("uscc_problem").is_not_null()).with_columns(
        uscc=pl.col("supplier_uscc"), confidence=pl.lit(1.0)
    )


def _fire_product_sector(rule: Rule, facts: pl.DataFrame, _: pl.DataFrame, ruleset: RuleSet) -> pl.LazyFrame:
    wanted = rule.when.get("sectors")
    sectors = tuple(sector for sector in ruleset.sectors if wanted is None or sector.id in wanted)
    eligible = facts.filter(pl.col("supplier_product").is_not_null() | pl.col("supplier_hs_code").is_not_null())
    if rule.when.get("china", False):
        eligible = eligible.filter(pl.col("china_based"))
    hits = sector_hits(
        eligible.select("row", product=pl.col("supplier_product"), hs_code=pl.col("supplier_hs_code")), sectors
    )
    return hits.lazy().join(eligible.lazy(), on="row").with_columns(confidence=pl.lit(1.0))


def _fire_otherwise(rule: Rule, facts: pl.DataFrame, _: pl.DataFrame, __: RuleSet) -> pl.LazyFrame:
    eligible = facts.lazy().filter(pl.col("china_based")) if rule.when.get("china", False) else facts.lazy()
    return eligible.with_columns(confidence=pl.lit(1.0))


KINDS: dict[str, Kind] = {
    "list_match": Kind(_check_list_match, (*CANDIDATE_FIELDS, *DERIVED_CANDIDATE_FIELDS), _fire_list_match),
    "xuar_address": Kind(_check_keys({}), ("xuar_places",), _fire_xuar_address),
    "xuar_name": Kind(_check_keys({}), ("xuar_name_places",), _fire_xuar_name),
    "uscc_region": Kind(
        _check_keys({"prefixes": list}, ("prefixes",)),
        ("uscc", "uscc_division", "uscc_division_name"),
        _fire_uscc_region,
    ),
    "uscc_invalid": Kind(_check_keys({}), ("uscc", "uscc_problem"), _fire_uscc_invalid),
    "product_sector": Kind(_check_keys({"china": bool, "sectors": list}), SECTOR_FIELDS, _fire_product_sector),
    "otherwise": Kind(_check_keys({"china": bool}), (), _fire_otherwise),
}
"""Condition kinds. `otherwise` fires only for rows where no other rule fired."""


# ---------------------------------------------------------------- evaluation


def evaluate(suppliers: pl.DataFrame, candidates: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """One verdict per supplier row (its `row` and SUPPLIER_FIELDS are read), in input order: `row, risk_tier,
    risk_score, reasons, fired_rules` and `match_entity_id`, the match-band candidate behind the most severe rule that
    fired (ties: highest score)."""
    facts = supplier_facts(suppliers)
    # without candidates no list_match rule may fire (see _may_fire): their frame is not prepared
    matches = prepare_candidates(candidates, facts) if not candidates.is_empty() else candidates
    ordinary = ruleset.ordinary
    may_fire = _may_fire(ruleset, facts, matches)
    fired = [
        _fired(rule, position, facts, matches, ruleset)
        for position, rule in enumerate(ordinary)
        if may_fire[position]
    ]
    explained = [frame["row"] for frame in fired if not frame.is_empty()]
    rest = facts.filter(~pl.col("row").is_in(pl.concat(explained).implode())) if explained else facts
    fired += [
        _fired(rule, len(ordinary) + position, rest, matches, ruleset)
        for position, rule in enumerate(rule for rule in ruleset.rules if rule.kind == "otherwise")
    ]
    return _verdicts(facts, pl.concat(fired) if fired else _empty_fired(facts.schema["row"]))


def _may_fire(ruleset: RuleSet, facts: pl.DataFrame, matches: pl.DataFrame) -> list[bool]:
    """Per ordinary rule, whether any row holds what it tests (a candidate it accepts, an address in XUAR, a product
    ...): the others are not evaluated, so a row without an address or codes costs nothing for those rules."""
    signals = ruleset.signals
    flags: dict[str, bool] = {}
    for frame, named in (("facts", facts), ("candidates", matches)):
        if signals[frame] and not named.is_empty():
            flags.update(named.select(**signals[frame]).row(0, named=True))
    return [bool(flags.get(str(position))) for position in range(len(ruleset.ordinary))]


def _signal(rule: Rule) -> tuple[str, pl.Expr]:
    """The frame a rule reads (candidates or supplier facts) and a condition that holds on a row it may fire for."""
    if rule.kind == "list_match":
        return "candidates", _list_match_condition(rule)
    china = pl.col("china_based") if rule.when.get("china", False) else pl.lit(True)
    return "facts", {
        "xuar_address": pl.col("xuar_address"),
        "xuar_name": pl.col("xuar_name"),
        "uscc_region": pl.col("uscc_division").is_not_null(),
        "uscc_invalid": pl.col("uscc_problem").is_not_null(),
        "product_sector": (pl.col("supplier_product").is_not_null() | pl.col("supplier_hs_code").is_not_null()) & china,
    }.get(rule.kind, pl.lit(True))


def supplier_facts(suppliers: pl.DataFrame) -> pl.DataFrame:
    """The supplier columns as `supplier_*` plus what the rules test: XUAR address, USCC, China-based."""
    facts = suppliers.select("row", *_supplier_columns(tuple(column in suppliers.columns for column in SUPPLIER_FIELDS)))
    addresses = facts.select("row", address="supplier_address", country="supplier_country")
    facts = with_uscc_columns(facts.hstack(xuar_addresses(addresses).get_columns()[1:]), "supplier_uscc")
    return run(_with_xuar_names(facts).with_columns(_derived_facts()))


@functools.cache
def _supplier_columns(present: tuple[bool, ...]) -> tuple[pl.Expr, ...]:
    """`supplier_<field>` for each of SUPPLIER_FIELDS, trimmed, blank as null (null when the field is not present)."""
    return tuple(
        (pl.col(column) if there else pl.lit(None, pl.String))
        .cast(pl.String)
        .str.strip_chars()
        .replace("", None)
        .alias(f"supplier_{column}")
        for column, there in zip(SUPPLIER_FIELDS, present, strict=True)
    )


@functools.cache
def _derived_facts() -> tuple[pl.Expr, ...]:
    """`xuar_name` (false when not read) and `china_based`: the country is China, or unknown and the address names
    China or a XUAR place, or the USCC is valid."""
    country_unknown = pl.col("supplier_country").is_null()
    return (
        pl.col("xuar_name").fill_null(False),
        (
            is_china(pl.col("supplier_country"))
            | (
                country_unknown
                & (mentions_china(pl.col("supplier_address")) | pl.col("xuar_address") | pl.col("uscc_valid"))
            )
        ).alias("china_based"),
    )


def _with_xuar_names(facts: pl.DataFrame) -> pl.LazyFrame:
    """The facts with `xuar_name, xuar_name_places`: the name begins with (or brackets) a XUAR division, read with the
    same look-alike care as addresses; only names that mention a XUAR place are parsed."""
    mentions = facts.filter(mentions_place("supplier_name", load_gazetteer()))
    if mentions.is_empty():
        return facts.lazy().with_columns(_UNREAD_NAMES)
    claims = run(
        registration_claims(mentions.select("row", name="supplier_name"))
        .lazy()
        .join(mentions.lazy().select("row", country="supplier_country"), on="row")
        .select("row", address="claim", country="country")
    )
    named = xuar_addresses(claims).lazy().select("row", xuar_name="xuar_address", xuar_name_places="xuar_places")
    return facts.lazy().join(named, on="row", how="left", maintain_order="left")


_UNREAD_NAMES = (pl.lit(None, pl.Boolean).alias("xuar_name"), pl.lit(None, pl.String).alias("xuar_name_places"))


def prepare_candidates(candidates: pl.DataFrame, facts: pl.DataFrame) -> pl.DataFrame:
    """Candidates with every field a rule may test (missing ones null), the supplier's facts and derived fields."""
    present = tuple(column in candidates.columns for column in ("row", *CANDIDATE_FIELDS))
    frame = candidates.lazy().select(_candidate_columns(present, facts.schema["row"]))
    products = facts["supplier_product"].null_count() < facts.height
    return run(frame.join(facts.lazy(), on="row", how="left").with_columns(_derived_candidate_columns(products)))


@functools.lru_cache(maxsize=16)
def _candidate_columns(present: tuple[bool, ...], row: pl.DataType) -> tuple[pl.Expr, ...]:
    """`row` and CANDIDATE_FIELDS typed (null where the candidates lack one)."""
    given = {
        column: pl.col(column) if there else pl.lit(None)
        for column, there in zip(("row", *CANDIDATE_FIELDS), present, strict=True)
    }
    return (
        given["row"].cast(row).alias("row"),
        *(given[column].cast(pl.String).alias(column) for column in CANDIDATE_STRING_FIELDS),
        given["score"].cast(pl.Float64).alias("score"),
        *(given[column].cast(pl.String).alias(column) for column in ("start_date", "end_date")),
        given["includes_affiliates"]
        .cast(pl.String)
        .str.to_lowercase()
        .is_in(["true", "1", "yes"])
        .alias("includes_affiliates"),
    )


@functools.cache
def _derived_candidate_columns(products: bool) -> tuple[pl.Expr, ...]:
    """DERIVED_CANDIDATE_FIELDS of a candidate joined with its supplier's facts; without a supplier `products` named,
    no merchandise covers one (and its words are not read)."""
    covers_product = (
        _stems(pl.col("merchandise")).list.set_intersection(_stems(pl.col("supplier_product"))).list.len().fill_null(0)
        > 0
        if products
        else pl.lit(False)
    )
    return (
        _matched_as().alias("matched_as"),
        pl.col("status").fill_null("status not confirmed by the sources").alias("status_text"),
        (
            (pl.col("status").is_null() | pl.col("status").str.to_lowercase().is_in(IN_FORCE_STATUSES))
            & pl.col("end_date").is_null()
        ).alias("in_force"),
        covers_product.alias("merchandise_covers_product"),
        pl.concat_str(
            pl.col("name", "list_name", "program", "remarks", "addresses", "sector"), separator=" ", ignore_nulls=True
        )
        .str.contains(XINJIANG_TEXT)
        .alias("xinjiang_related"),
    )


def _matched_as() -> pl.Expr:
    """ "listed name 'X'", "alias 'X' of 'Entity'", "named subsidiary 'X' of 'Entity'"; for a match on the supplier's
    parent company, "its parent company 'P' (parent company listed), as listed name 'X'"."""
    kind = pl.col("name_kind").fill_null("primary")
    label = _NAME_KIND_LABELS.replaced(kind)
    owner = pl.when((kind != "primary") & (pl.col("name") != pl.col("matched_name"))).then(
        pl.format(" of '{}'", pl.col("name"))
    )
    parent = pl.when(pl.col("via") == "parent").then(
        pl.format("its parent company '{}' (parent company listed), as ", pl.col("supplier_parent"))
    )
    return pl.concat_str(
        parent.fill_null(""), label, pl.lit(" '"), pl.col("matched_name"), pl.lit("'"), owner.fill_null("")
    )


def _stems(text: pl.Expr) -> pl.Expr:
    """Five-letter stems of the words of a text, without filler words (cotton/cottons, silica/silicon meet)."""
    stop = pl.Series([word[:5] for word in MERCHANDISE_STOPWORDS]).implode()
    words = text.str.to_lowercase().str.extract_all(r"\p{L}{3,}")
    return words.list.eval(pl.element().str.slice(0, 5)).list.eval(pl.element().filter(~pl.element().is_in(stop)))


def _fired(rule: Rule, position: int, facts: pl.DataFrame, matches: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """The rows a rule fires for: `row, rule_id, tier_rank, position, contribution, reason` (the list of its texts for the row)."""
    fired = run(KINDS[rule.kind].fire(rule, facts, matches, ruleset))
    if fired.is_empty():
        return _empty_fired(facts.schema["row"])
    hits = (
        fired.lazy()
        .with_columns(_hit_columns(rule.basis, rule.title, "entity_id" in fired.columns, "score" in fired.columns))
        .with_columns(_rendered(rule.reason))
    )
    return run(
        _per_row(hits, _reason_aggregates(), fired["row"]).select(
            pl.col("row").cast(facts.schema["row"]), *_fired_columns(rule.id, rule.tier, rule.weight, position)
        )
    )


Aggregate = tuple[pl.Expr, pl.Expr]
"""A column of a row's entries grouped: its aggregation over them, and its value when the row has a single entry."""


def _per_row(entries: pl.LazyFrame, columns: tuple[Aggregate, ...], rows: pl.Series) -> pl.LazyFrame:
    """`row` and each column aggregated over its entries, in no particular order of rows (`rows`: the entries' row
    numbers, in any order). A row with one entry takes the columns' single-entry values: polars evaluates an
    aggregation it has no fast path for (a product, a sort, a rendered text) group by group, ~1 µs a group, and most
    rows have a single entry. When all rows have one entry, or all several, the other half of the plan is left out
    (on a check's few entries it costs more than the work)."""
    repeated = rows.is_duplicated()
    alone: tuple[str | pl.Expr, ...] = ("row", *(single_value for _, single_value in columns))
    grouped = tuple(aggregation for aggregation, _ in columns)
    if not repeated.any():
        return entries.select(*alone)
    if repeated.all():
        return entries.group_by("row", maintain_order=True).agg(*grouped)
    single = pl.col("row").is_unique()
    return pl.concat(
        [entries.filter(single).select(*alone), entries.filter(~single).group_by("row", maintain_order=True).agg(*grouped)]
    )


@functools.lru_cache(maxsize=1024)
def _hit_columns(basis: str, title: str, listed: bool, scored: bool) -> tuple[pl.Expr, ...]:
    """The fields a rule's reason may name besides the hit's own (basis, title, the score rounded) and the listed
    entity the hit rests on with its score, when it is a match-band candidate (null otherwise)."""
    is_match = pl.col("band") == "match"
    headline = (
        (
            pl.when(is_match).then(pl.col("entity_id")).alias("headline_entity"),
            pl.when(is_match).then(pl.col("score").cast(pl.Float64)).alias("headline_score"),
        )
        if listed
        else (pl.lit(None, pl.String).alias("headline_entity"), pl.lit(None, pl.Float64).alias("headline_score"))
    )
    rounded = (pl.col("score").round(0).cast(pl.Int64),) if scored else ()
    return *headline, *rounded, pl.lit(basis).alias("basis"), pl.lit(title).alias("title")


@functools.lru_cache(maxsize=1024)
def _rendered(reason: str) -> pl.Expr:
    """A hit's reason: the rule's template rendered over its fields (once per hit, before hits are grouped by row)."""
    return _render(reason).alias("reason")


@functools.cache
def _reason_aggregates() -> tuple[Aggregate, ...]:
    """Per row a rule fires for: its reasons (each text once), confidence and headline entity and score."""
    return (
        (pl.col("reason").unique(maintain_order=True), pl.concat_list("reason")),
        (pl.col("confidence").max(), pl.col("confidence")),
        (
            pl.col("headline_entity").sort_by("headline_score", descending=True, nulls_last=True).first(),
            pl.col("headline_entity"),
        ),
        (pl.col("headline_score").max(), pl.col("headline_score")),
    )


@functools.lru_cache(maxsize=1024)
def _fired_columns(rule_id: str, tier: str, weight: float, position: int) -> tuple[pl.Expr, ...]:
    return (
        pl.lit(rule_id).alias("rule_id"),
        pl.lit(TIERS.index(tier), pl.Int8).alias("tier_rank"),
        pl.lit(position, pl.Int32).alias("position"),
        (pl.lit(weight) * pl.col("confidence")).clip(0, 100).alias("contribution"),
        pl.col("reason"),
        pl.col("headline_entity"),
        pl.col("headline_score"),
    )


@functools.lru_cache(maxsize=8)
def _empty_fired(row: pl.DataType) -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "row": row,
            "rule_id": pl.String,
            "tier_rank": pl.Int8,
            "position": pl.Int32,
            "contribution": pl.Float64,
            "reason": pl.List(pl.String),
            "headline_entity": pl.String,
            "headline_score": pl.Float64,
        }
    )


def _verdicts(facts: pl.DataFrame, fired: pl.DataFrame) -> pl.DataFrame:
    """Per row: its most severe tier, the combined score, every reason most severe first, and the headline match
    (the match-band entity of the most severe rule resting on one; ties: the highest score, then the earlier rule)."""
    ranked = fired.lazy().sort(["row", "tier_rank", "contribution", "position"], descending=[False, False, True, False])
    per_row = _per_row(ranked, _verdict_aggregates(), fired["row"])
    rows = facts.lazy().select("row")
    return run(rows.join(per_row, on="row", how="left", maintain_order="left").select("row", *_verdict_columns()))


@functools.cache
def _verdict_aggregates() -> tuple[Aggregate, ...]:
    """Per row of the fired rules sorted most severe first: tier, score, reasons, rules and headline match."""
    kept = 1 - pl.col("contribution") / 100
    return (
        (pl.col("tier_rank").min(), pl.col("tier_rank")),
        (_combined_score(kept.product()), _combined_score(kept)),
        (pl.col("reason").explode().alias("reasons"), pl.col("reason").alias("reasons")),
        (pl.col("rule_id").alias("fired_rules"), pl.concat_list("rule_id").alias("fired_rules")),
        (
            pl.col("headline_entity")
            .sort_by(
                pl.col("headline_entity").is_null(), "tier_rank", "headline_score", "position",
                descending=[False, False, True, False],
            )
            .first()
            .alias("match_entity_id"),
            pl.col("headline_entity").alias("match_entity_id"),
        ),
    )


def _combined_score(kept: pl.Expr) -> pl.Expr:
    """The risk score of the rules fired, from the share of risk their contributions leave."""
    return (100 * (1 - kept)).round(1).alias("risk_score")


@functools.cache
def _verdict_columns() -> tuple[pl.Expr, ...]:
    """The verdict columns, a row no rule fired for being clear."""
    no_texts = pl.lit([], pl.List(pl.String))
    return (
        pl.lit(pl.Series(TIERS)).gather(pl.col("tier_rank").fill_null(TIERS.index("clear"))).alias("risk_tier"),
        pl.col("risk_score").fill_null(0.0).clip(0, 100),
        pl.col("reasons").fill_null(no_texts),
        pl.col("fired_rules").fill_null(no_texts),
        pl.col("match_entity_id"),
    )
