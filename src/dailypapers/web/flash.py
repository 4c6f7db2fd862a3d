"""One-time messages after a redirect ("You are signed in"), carried in a short-lived cookie.

The cookie holds only a message key (and at most an arXiv id to show in it), never the text, so a
crafted cookie or link cannot make the site say anything new; the text is escaped like any other.
The page that shows the message marks it shown and the cookie middleware deletes the cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from fastapi.responses import Response
from jinja2 import pass_context

COOKIE = "dp_flash"
MESSAGES = {
    "signed-in": "You are signed in.",
    "signed-out": "You are signed out.",
    "submitted": "Thanks! {arg} is marked as your pick in the feed of the day it was announced.",
    "pending": "Thanks! {arg} is not on this instance yet: it appears in today's feed "
    "once it has been fetched from arXiv.",
    "saved": "Saved to your collection.",
    "collection-created": "Collection created.",
    "collection-saved": "Collection saved.",
    "collection-deleted": "Collection deleted.",
    "removed": "Removed from the collection.",
    "profile-saved": "Your profile is saved.",
    "token-revoked": "The API token is revoked.",
    "library-cleared": "Your imported library is removed.",
    "featured": "{arg} is featured on today's page.",
    "followed": "You follow {arg}: their new papers come first in your For you list.",
    "unfollowed": "You no longer follow {arg}.",
    "signal-removed": "The signal is removed; your recommendations are updated within minutes.",
    "comment-saved": "Your comment is saved.",
    "comment-deleted": "The comment is deleted.",
    "comment-hidden": "The comment is hidden.",
    "comment-shown": "The comment is visible again.",
    "digest-confirmed": "You are subscribed: digests start with the next announcement day.",
    "digest-saved": "Your digest settings are saved.",
    "digest-search-added": "The search is now a section of your digest.",
    "digest-search-removed": "The search is removed from your digest.",
}
MAX_ARG = 64


def set_flash(response: Response, key: str, arg: str = "") -> None:
    value = quote(f"{key}|{arg[:MAX_ARG]}", safe="")
    response.set_cookie(COOKIE, value, max_age=60, httponly=True, samesite="lax")


def flash_text(raw: str | None) -> str | None:
    """The message for a cookie value, or None for an unknown key."""
    if not raw:
        return None
    key, _, arg = unquote(raw).partition("|")
    template = MESSAGES.get(key)
    return template.format(arg=arg[:MAX_ARG]) if template else None


@pass_context
def take_flash(context: Any) -> str | None:
    """Template global: the pending message, marked shown so the cookie is cleared."""
    request = context.get("request")
    if request is None:
        return None
    text = flash_text(request.cookies.get(COOKIE))
    if text:
        request.state.flash_shown = True
    return text
