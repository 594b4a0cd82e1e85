"""A DuckDB connection that stops inside a snapshot transaction, for tests that kill or race a writer process."""

from __future__ import annotations

from collections.abc import Callable


class PausingConnection:
    """Delegates to DuckDB, but calls `pause` inside add_snapshot's transaction, just before the names go in."""

    def __init__(self, con, pause: Callable[[], None]):
        self._con = con
        self._pause = pause

    def __getattr__(self, name):
        return getattr(self._con, name)

    def register(self, view, frame):
        if view == "new_names":
            print("mid-transaction", flush=True)
            self._pause()
        return self._con.register(view, frame)
