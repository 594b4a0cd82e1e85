"""The errors a user can act on, and turning one into the line a user is shown.

Every failure the user can fix (a bad file, an unknown portfolio, a list that cannot be fetched, a setting
out of range) raises a `ScreenerError`. The CLI, the web app and the service catch `ScreenerError` and show
its first line; anything else is a bug and surfaces as one (with a traceback under `SCREENER_DEBUG=1`).
"""

from __future__ import annotations


class ScreenerError(Exception):
    """A failure the user can act on: its message says what went wrong and what to do."""


class UsageError(ScreenerError, ValueError):
    """An option, argument or choice the screener cannot use (thresholds out of order, an unknown source)."""


class SettingError(UsageError):
    """An environment variable holds a value the screener cannot use."""


# What a shell turns into one line for the user: the screener's own errors, and the operating system's
# (a file that is missing, unreadable or on a full disk), which are the user's to fix, not bugs.
USER_ERRORS: tuple[type[BaseException], ...] = (ScreenerError, OSError)


def first_line(error: BaseException) -> str:
    """The first line of the error's message, or its type name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
