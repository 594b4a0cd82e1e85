"""Running chains of polars steps as one plan.

Each eager polars call (`filter`, `join`, `sort`, ...) is one trip to polars' thread pool and back. On the frames of
a single check, a few rows, the trip costs more than the step: a chain collected as one lazy plan makes one trip.
"""

from __future__ import annotations

from typing import Final

import polars as pl

AS_EAGER_CALLS = pl.QueryOptFlags._eager()
"""How polars runs an eager call: no optimiser pass but simplifying expressions, and the plan marked eager (which
alone halves the fixed cost of a small plan). polars' own helper; a chain run with it does exactly what the same
eager calls do, step by step."""


ENGINE: Final = "in-memory"
"""The engine eager calls run on. `collect`'s default ('auto') first weighs whether the streaming engine should take
the plan, which costs ~0.05 ms a plan on the frames of a single check and nothing on a large batch."""


def run(plan: pl.LazyFrame) -> pl.DataFrame:
    """The result of a chain of steps, computed in one trip (the same result as the steps called eagerly)."""
    return plan.collect(engine=ENGINE, optimizations=AS_EAGER_CALLS)
