"""Errors the service answers with: a stable code, an HTTP status and one line saying what to do."""

from __future__ import annotations

from screener.errors import ScreenerError


class ServiceError(ScreenerError):
    """A request or a service command that cannot be carried out as asked."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status
