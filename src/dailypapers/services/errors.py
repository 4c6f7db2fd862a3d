"""Errors a user can cause in a service, each one sentence the web and CLI show as is.

The web layer maps them to status codes (NotAllowed 403, NotFound 404, Invalid 400,
RateLimited 429 with ``Retry-After``); the CLI prints them and exits with code 2.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``message`` is one sentence meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(ServiceError):
    """The user may not do this (someone else's comment or collection, an admin-only action)."""


class NotFound(ServiceError):
    """No such paper, comment, collection or token (or one the viewer may not see)."""


class Invalid(ServiceError):
    """Bad input: a malformed email or arXiv id, an empty comment, a used sign-in link."""


class RateLimited(ServiceError):
    """Too many requests of one kind; ``retry_after`` says how many seconds to wait."""

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(int(retry_after), 1)
        super().__init__(
            message or f"too many requests; try again in {_duration(self.retry_after)}"
        )


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


class Conflict(ServiceError):
    """The thing exists already: a taken organization slug, a paper's author already claimed."""
