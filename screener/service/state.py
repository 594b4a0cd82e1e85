"""What one service process holds: the loaded lists (a Screener and its entity catalog), the key ring, its
connection to the rate limits shared by every worker, and the job runner."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from fastapi import Request

from screener.api_keys import ApiKey, KeyRing
from screener.errors import first_line
from screener.jobs.runner import JobRunner
from screener.rate_limit import RateLimiter, rate_limit_path
from screener.screening import Screener
from screener.service.catalog import Catalog
from screener.service.config import ServiceConfig
from screener.service.cores import CoreSlot
from screener.service.errors import ServiceError
from screener.service.matching import Coalescer
from screener.service.security import invalid_key, missing_key, request_token, take_request
from screener.store import Store

log = logging.getLogger("screener.service")


@dataclass(frozen=True)
class Loaded:
    screener: Screener
    catalog: Catalog


class ServiceState:
    """Lists are loaded in a background thread at start: /healthz answers at once, /readyz once they are in."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.keyring = KeyRing(config.db_path)
        self.limiter = RateLimiter(rate_limit_path(config.db_path))
        self.coalescer = Coalescer(config.gather_seconds)
        self.core = CoreSlot(config.db_path)
        self.runner = JobRunner(config.db_path, self.screener_if_loaded)
        self._loaded: Loaded | None = None
        self._load_error: str | None = None
        self._loader = threading.Thread(target=self._load, name="screener-load", daemon=True)

    def start(self) -> None:
        if self.config.pin_worker:
            self.core.pin()  # before the lists load and the threads start: every thread of the worker on its core
        Store(self.config.db_path).close()  # migrate once, before threads open the database side by side
        self._loader.start()
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        self.limiter.close()
        self.core.release()

    def _load(self) -> None:
        try:
            screener = Screener.from_db(self.config.db_path)
            self._loaded = Loaded(screener, Catalog(screener.lists))
            log.info("lists loaded: %d entities", len(self._loaded.catalog.entities))
            self.runner.wake()
        except Exception as error:  # the process stays up to say why on /readyz
            log.exception("cannot load the lists")
            self._load_error = first_line(error)

    def wait_loaded(self, timeout: float | None = None) -> bool:
        self._loader.join(timeout)
        return self._loaded is not None

    def screener_if_loaded(self) -> Screener | None:
        return self._loaded.screener if self._loaded else None

    @property
    def readiness(self) -> tuple[bool, str]:
        if self._loaded:
            return True, "lists loaded"
        if self._load_error:
            return False, f"the lists could not be loaded: {self._load_error}"
        return False, "loading the lists"

    @property
    def loaded(self) -> Loaded:
        if self._loaded is None:
            _, why = self.readiness
            raise ServiceError("not_ready", f"the service is not ready ({why}); retry when GET /readyz answers 200", 503)
        return self._loaded

    def anonymous_read(self, request: Request) -> bool:
        """Whether the request is a read without a key where reads are open (nothing to look up)."""
        return self.config.open_reads and request_token(request) is None

    def caller(self, request: Request, *, writes: bool) -> ApiKey | None:
        """The key of the caller, rate-limited; None for an anonymous read where reads are open."""
        token = request_token(request)
        if token is None:
            if writes or not self.config.open_reads:
                raise missing_key("writing (jobs, portfolios, decisions)" if writes else "reading on this server")
            return None
        key = self.keyring.verify(token)
        if key is None:
            raise invalid_key()
        take_request(self.limiter, key)
        return key


async def service_state(request: Request) -> ServiceState:  # async: FastAPI runs a plain function in a thread
    return request.app.state.service
