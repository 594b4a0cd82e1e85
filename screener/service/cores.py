"""One core per service worker: `screener serve --workers N` starts N processes and uvicorn tells none its number,
so each takes the first free slot among lock files beside the database (an exclusive, non-blocking `flock`, released
by the kernel when the process ends, however it ends) and pins every thread to the core of that slot
(screener.cpu.pin_to_one_core). Two workers never share a core while there are cores to spare; with more workers
than cores, slot k takes core k modulo the cores."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import IO

from screener.cpu import pin_to_one_core
from screener.settings import ONE_CORE

MAX_SLOTS = 1024
log = logging.getLogger("screener.service")


def cores_dir(db_path: Path) -> Path:
    """Where the workers of a server over this database hold their slots."""
    return Path(db_path).with_name(f"{Path(db_path).name}.cores")


class CoreSlot:
    """The slot this process holds, and the core its threads run on (None: not pinned)."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.slot: int | None = None
        self.core: int | None = None
        self._held: IO[bytes] | None = None

    def pin(self) -> int | None:
        """Take the first free slot and pin this process to its core; None when pinning is off or impossible."""
        if not ONE_CORE.value():
            return None
        folder = cores_dir(self.db_path)
        folder.mkdir(parents=True, exist_ok=True)
        for slot in range(MAX_SLOTS):
            held = (folder / f"slot-{slot}.lock").open("ab")
            try:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another worker holds it
                held.close()
                continue
            self.slot, self._held = slot, held
            self.core = pin_to_one_core(slot)
            log.info("worker in slot %d runs on core %s", slot, self.core)
            return self.core
        return None

    def release(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None
