"""The ASGI app: routes, request size limits, CORS (off unless configured) and errors as JSON with a code —
never a traceback or an internal path."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from screener import __version__
from screener.casework import DecisionError, PortfolioError
from screener.errors import first_line
from screener.jobs.errors import EmptyUpload, JobError, UnknownJob, UploadTooLarge
from screener.service import casework_routes, job_routes, reconcile, routes
from screener.service.config import MULTIPART_OVERHEAD, ServiceConfig
from screener.service.errors import ServiceError
from screener.service.security import RateLimited
from screener.service.state import ServiceState
from screener.supplier_io import InputFileError

log = logging.getLogger("screener.service")
UPLOAD_PATHS = ("/screen", "/portfolios")
DESCRIPTION = """Screen companies for forced-labour risk against the UFLPA Entity List, CBP Withhold Release
Orders and Findings and Xinjiang-related sanctions. `POST /match/{dataset}` takes yente's request and answers in
its shape; `/reconcile` speaks the Reconciliation Service API that OpenRefine uses; `POST /screen` screens a
supplier file as a job. Every flag cites its list, section, date, source URL and list snapshot."""


def error_body(code: str, message: str) -> dict[str, str]:
    """The JSON of every error: `detail` (yente's field) and a stable `code`."""
    return {"code": code, "detail": message}


class BodyLimit:
    """Refuse request bodies over the limit (413) from Content-Length, or while reading a chunked body."""

    def __init__(self, app: ASGIApp, config: ServiceConfig):
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.config.max_upload_bytes + MULTIPART_OVERHEAD if scope["path"] in UPLOAD_PATHS else self.config.max_json_bytes
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        exceeded = False

        async def counted() -> Message:
            """Pass the body on until it passes the limit; then end it (the app's answer is replaced below)."""
            nonlocal received, exceeded
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                exceeded = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def answer(message: Message) -> None:
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(send, limit)

        await self.app(scope, counted, answer)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        response = JSONResponse(error_body("body_too_large", _too_large(limit)), status_code=413)
        await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit:,} bytes, the limit for this endpoint; send less (split the batch or file)"


def _service_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return JSONResponse(error_body(error.code, str(error)), status_code=error.status, headers=headers)


USER_ERRORS = {InputFileError: "bad_file", PortfolioError: "portfolio_error", DecisionError: "decision_error"}


def _user_error(_: Request, error: Exception) -> JSONResponse:
    """A library error about what the caller sent: its one line, as a 400."""
    code = next(code for kind, code in USER_ERRORS.items() if isinstance(error, kind))
    return JSONResponse(error_body(code, first_line(error)), status_code=400)


JOB_ERROR_STATUS = {UnknownJob: 404, UploadTooLarge: 413, EmptyUpload: 400}


def _job_error(_: Request, error: Exception) -> JSONResponse:
    """A job unknown (404), not in a state for what was asked (409), or an upload refused: its code and one line."""
    assert isinstance(error, JobError)
    status = next((status for kind, status in JOB_ERROR_STATUS.items() if isinstance(error, kind)), 409)
    return JSONResponse(error_body(error.code, first_line(error)), status_code=status)


def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return JSONResponse(error_body(code, str(error.detail)), status_code=error.status_code, headers=error.headers)


def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()[:5]
    )
    return JSONResponse(error_body("invalid_request", f"the request is not valid: {problems}"), status_code=422)


def _internal_error(_: Request, error: Exception) -> JSONResponse:
    log.exception("internal error", exc_info=error)
    return JSONResponse(
        error_body("internal_error", "the server failed to answer this request; its log says why"), status_code=500
    )


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    """The service over the database of `config` (default: from the environment, as `screener serve` sets it)."""
    config = config or ServiceConfig.from_env()
    state = ServiceState(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.start()
        try:
            yield
        finally:
            state.stop()

    app = FastAPI(
        title="xuar-screener", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        docs_url="/docs", redoc_url=None,
    )
    app.state.service = state
    app.include_router(routes.router)
    app.include_router(reconcile.router)
    app.include_router(job_routes.router)
    app.include_router(casework_routes.router)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(JobError, _job_error)
    for kind in USER_ERRORS:
        app.add_exception_handler(kind, _user_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"])
    app.add_middleware(BodyLimit, config=config)
    return app
