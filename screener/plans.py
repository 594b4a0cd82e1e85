"""Running chains of polars steps as one plan.

Each eager polars call (`filter`, `join`, `sort`, ...) is one trip to polars' thread pool and back. On the frames of
a single check, a few rows, the trip costs more than the step: a chain collected as one lazy plan makes one trip.
"""

from __future__ import annotations

import polars as pl

AS_EAGER_CALLS = pl.QueryOptFlags._eager()
"""How polars runs an eager call: no optimiser pass but simplifying expressions, and the plan marked eager (which
alone halves the fixed cost of a small plan). polars' own helper; a chain run with it does exactly what the same
eager calls do, step by step."""


def run(plan: pl.LazyFrame) -> pl.DataFrame:
    """The result of a chain of steps, computed in one trip (the same result as the steps called eagerly)."""
    return plan.collect(optimizations=AS_EAGER_CALLS)
