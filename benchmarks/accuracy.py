"""Matching accuracy on the labelled development queries (../shared/eval/dev_queries.csv).

Screens every query against the embedded lists and prints recall at the match threshold and within
the review band, precision and false-positive rate at the match threshold, a per-category table and
the misses.

    python benchmarks/accuracy.py [--queries ../shared/eval/dev_queries.csv] [--match 85] [--review 70]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from screener.embedded import read_embedded
from screener.matching import MatchConfig, Matcher

DEFAULT_QUERIES = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "dev_queries.csv"


def load_matcher(config: MatchConfig) -> tuple[Matcher, pl.DataFrame, pl.DataFrame]:
    """A matcher over every embedded list, with the entity and name frames it was built from."""
    lists = read_embedded()
    entities = pl.concat([item.entities for item in lists], how="vertical_relaxed")
    names = pl.concat([item.names for item in lists], how="vertical_relaxed")
    return Matcher(names, entities, config), entities, names


def outcomes(
    queries: pl.DataFrame, candidates: pl.DataFrame, entities: pl.DataFrame, names: pl.DataFrame
) -> pl.DataFrame:
    """Per query: whether the expected entity was found in the match band / review band, and whether any match fired."""
    variants = (
        names.join(entities.select("entity_id", "source"), on="entity_id")
        .select("entity_id", "source", key=pl.col("name").str.to_lowercase().str.strip_chars())
        .unique()
    )
    expected = (
        queries.filter(pl.col("expected_entity").is_not_null())
        .with_columns(key=pl.col("expected_entity").str.to_lowercase().str.strip_chars())
        .join(variants, left_on=["key", "expected_list"], right_on=["key", "source"])
        .select("row", "entity_id")
        .unique()
    )
    found = expected.join(candidates.select("row", "entity_id", "band"), on=["row", "entity_id"], how="left")
    per_row = found.group_by("row").agg(
        hit_match=(pl.col("band") == "match").any(), hit_review=pl.col("band").is_not_null().any()
    )
    flagged = candidates.filter(pl.col("band") == "match").group_by("row").agg(flagged=pl.len() > 0)
    top = (
        candidates.sort(["row", "score"], descending=[False, True])
        .unique("row", keep="first")
        .join(entities.select("entity_id", top_name="name"), on="entity_id")
        .select("row", "top_name", top_score="score", top_band="band", explanation="explanation")
    )
    return (
        queries.join(per_row, on="row", how="left")
        .join(flagged, on="row", how="left")
        .join(top, on="row", how="left")
        .with_columns(
            pl.col("hit_match", "hit_review", "flagged").fill_null(False),
            positive=pl.col("expected_entity").is_not_null(),
        )
    )


TARGETS = {
    "dev_queries": {"recall at match": 0.99, "recall within review": 0.99, "false-positive rate": 0.01},
    "dev_customs_queries": {"recall at match": 0.95, "recall within review": 0.99, "false-positive rate": 0.02},
}
"""The targets of each query file (issue 12), by file stem; another file is shown against dev_queries' targets."""


def report(result: pl.DataFrame, targets: dict[str, float]) -> None:
    positives = result.filter(pl.col("positive"))
    negatives = result.filter(~pl.col("positive"))
    true_flags = positives["hit_match"].sum()
    false_flags = negatives["flagged"].sum() + positives.filter(pl.col("flagged") & ~pl.col("hit_match")).height
    print(f"queries: {result.height} ({positives.height} positive, {negatives.height} negative)")
    print(_share("recall at match threshold ", positives["hit_match"], f">= {targets['recall at match']}"))
    print(_share("recall within review band ", positives["hit_review"], f">= {targets['recall within review']}"))
    print(f"precision at match        : {true_flags / max(true_flags + false_flags, 1):.4f}")
    print(_share("false-positive rate (neg.)", negatives["flagged"], f"<= {targets['false-positive rate']}"))
    table = (
        result.group_by("category")
        .agg(
            n=pl.len(),
            recall_match=pl.col("hit_match").filter(pl.col("positive")).mean(),
            recall_review=pl.col("hit_review").filter(pl.col("positive")).mean(),
            flagged_negatives=pl.col("flagged").filter(~pl.col("positive")).mean(),
        )
        .sort("category")
    )
    with pl.Config(tbl_rows=50, tbl_cols=10, tbl_width_chars=140, fmt_str_lengths=80):
        print(table)
        misses = positives.filter(~pl.col("hit_match")).select(
            "category", "query_name", "expected_entity", "hit_review", "top_name", "top_score"
        )
        print(f"\npositives not flagged at the match threshold ({misses.height}):")
        print(misses)
        false_alarms = negatives.filter(pl.col("flagged")).select("category", "query_name", "top_name", "top_score")
        print(f"\nnegatives flagged ({false_alarms.height}):")
        print(false_alarms)


def _share(label: str, hits: pl.Series, target: str) -> str:
    """'label : 585/591 = 0.9898   (target >= 0.99)': the count beside the share, so a shortfall of one row shows."""
    return f"{label}: {hits.sum()}/{hits.len()} = {hits.mean() or 0.0:.4f}   (target {target})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--match", type=float, default=MatchConfig().match_threshold)
    parser.add_argument("--review", type=float, default=MatchConfig().review_threshold)
    parser.add_argument("--explain", action="store_true", help="print the explanation of every miss and false alarm")
    args = parser.parse_args()
    config = MatchConfig(match_threshold=args.match, review_threshold=args.review)
    matcher, entities, names = load_matcher(config)
    queries = (
        pl.read_csv(args.queries, infer_schema=False).with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    )
    candidates = matcher.match(queries.select("row", name="query_name", country="country", address="address"))
    result = outcomes(queries, candidates, entities, names)
    report(result, TARGETS.get(Path(args.queries).stem, TARGETS["dev_queries"]))
    if args.explain:
        wrong = result.filter((pl.col("positive") & ~pl.col("hit_match")) | (~pl.col("positive") & pl.col("flagged")))
        for row in wrong.iter_rows(named=True):
            print(f"- {row['query_name']!r} (expected {row['expected_entity']!r}): {row['explanation']}")


if __name__ == "__main__":
    main()
