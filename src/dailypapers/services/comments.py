"""Comments on papers: a Markdown subset with math, rendered and sanitised once when written.

Rendering is markdown-it-py's CommonMark with raw HTML off, headings and images off (they show as
text and links), and ``$...$`` / ``$$...$$`` parsed as math by an inline rule (so code spans and
``\\$`` stay literal) and turned into whitelisted MathML like abstracts. nh3 then keeps only the
allowed tags, http/https/mailto links, and marks every link ``nofollow ugc noopener``.
Authors edit and delete their own comments; admins delete and hide any. Writes never commit:
callers commit (the request or the command owns the transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.models import Comment, User
from dailypapers.rendering.math import MATHML_ATTRIBUTES, MATHML_ELEMENTS, latex_to_mathml
from dailypapers.services.accounts import initials
from dailypapers.services.errors import Invalid, NotAllowed, NotFound
from dailypapers.services.votes import paper_id_for

MAX_BODY = 10_000
LINK_REL = "nofollow ugc noopener"
URL_SCHEMES = frozenset({"http", "https", "mailto"})
TAGS = frozenset("p br em strong code pre blockquote ul ol li a".split()) | MATHML_ELEMENTS
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href"},
    "ol": {"start"},
    **{tag: set(MATHML_ATTRIBUTES) for tag in MATHML_ELEMENTS},
}


# --- rendering (pure) ------------------------------------------------------------------------


def render_comment(markdown: str) -> str:
    """Safe HTML for a comment written in Markdown with ``$math$``."""
    return nh3.clean(
        _markdown().render(markdown),
        tags=set(TAGS),
        attributes=ATTRIBUTES,
        attribute_filter=_keep_attribute,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
        strip_comments=True,
    )


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.disable(["heading", "lheading", "image"])
    md.inline.ruler.after("escape", "math", _math_rule)
    md.add_render_rule("math", _render_math)
    return md


def _keep_attribute(tag: str, name: str, value: str) -> str | None:
    """Only absolute http/https/mailto links (nh3 alone would keep relative ones)."""
    if tag == "a" and name == "href" and urlsplit(value).scheme.lower() not in URL_SCHEMES:
        return None
    return value


def _math_rule(state: StateInline, silent: bool) -> bool:
    """``$x$`` (no space just inside the dollars) or ``$$x$$`` -> a ``math`` token."""
    src, start = state.src, state.pos
    if src[start] != "$":
        return False
    marker = "$$" if src.startswith("$$", start) else "$"
    end = _closing(src, start + len(marker), marker)
    if end is None:
        return False
    content = src[start + len(marker) : end]
    if not content.strip() or (marker == "$" and (content[0].isspace() or content[-1].isspace())):
        return False
    if not silent:
        token = state.push("math", "math", 0)
        token.content, token.markup = content, marker
    state.pos = end + len(marker)
    return True


def _closing(src: str, position: int, marker: str) -> int | None:
    """Index of the unescaped closing ``marker`` at or after ``position``."""
    end = src.find(marker, position)
    while end != -1 and src[end - 1] == "\\":
        end = src.find(marker, end + 1)
    return None if end == -1 else end


def _render_math(_renderer: Any, tokens: list[Token], idx: int, _options: Any, _env: Any) -> str:
    token = tokens[idx]
    mathml = latex_to_mathml(token.content.strip(), token.markup == "$$")
    return mathml if mathml is not None else escapeHtml(token.markup + token.content + token.markup)


def _checked_body(body: str) -> str:
    text = body.replace("\x00", "").strip()  # NUL: invisible, and PostgreSQL refuses it in text
    if not text:
        raise Invalid("a comment cannot be empty")
    if len(text) > MAX_BODY:
        raise Invalid(f"a comment has at most {MAX_BODY:,} characters")
    return text


# --- writing -----------------------------------------------------------------------------------


def add_comment(
    session: Session, user: User, arxiv_id: str, body: str, *, now: datetime | None = None
) -> Comment:
    text = _checked_body(body)
    comment = Comment(
        paper_id=paper_id_for(session, arxiv_id),
        user_id=user.id,
        body=text,
        body_html=render_comment(text),
        created_at=now or utcnow(),
    )
    session.add(comment)
    session.flush()  # the id: the caller links to the new comment
    return comment


def _existing(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound(f"there is no comment {comment_id}")
    return comment


def edit_comment(
    session: Session, user: User, comment_id: int, body: str, *, now: datetime | None = None
) -> Comment:
    """Authors only (admins hide or delete, they do not rewrite)."""
    comment = _existing(session, comment_id)
    if comment.user_id != user.id:
        raise NotAllowed("you can only edit your own comments")
    comment.body = _checked_body(body)
    comment.body_html = render_comment(comment.body)
    comment.edited_at = now or utcnow()
    return comment


def delete_comment(
    session: Session, user: User, comment_id: int, *, now: datetime | None = None
) -> None:
    """The author or an admin; the row stays (marked deleted) so threads keep their order."""
    comment = _existing(session, comment_id)
    if comment.user_id != user.id and not user.is_admin:
        raise NotAllowed("you can only delete your own comments")
    comment.deleted_at = now or utcnow()


def hide_comment(
    session: Session,
    user: User,
    comment_id: int,
    hidden: bool = True,
    *,
    now: datetime | None = None,
) -> None:
    """Admins hide (or show again) a comment; hidden ones are seen by admins only."""
    if not user.is_admin:
        raise NotAllowed("only admins can hide comments")
    comment = _existing(session, comment_id)
    comment.hidden_at = (now or utcnow()) if hidden else None


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommentView:
    comment: Comment
    author_name: str
    author_initials: str
    can_edit: bool
    can_delete: bool
    can_hide: bool


def comments_for(session: Session, paper_id: int, viewer: User | None) -> list[CommentView]:
    """A paper's comments, oldest first, with what ``viewer`` may do to each."""
    admin = viewer is not None and viewer.is_admin
    query = (
        select(Comment, User.display_name)
        .join(User, User.id == Comment.user_id)
        .where(Comment.paper_id == paper_id, Comment.deleted_at.is_(None))
        .order_by(Comment.created_at, Comment.id)
    )
    if not admin:
        query = query.where(Comment.hidden_at.is_(None))
    views = []
    for comment, name in session.execute(query):
        own = viewer is not None and viewer.id == comment.user_id
        views.append(CommentView(comment, name, initials(name), own, own or admin, admin))
    return views


def comment_counts(session: Session, paper_ids: list[int]) -> dict[int, int]:
    """Visible comments per paper (papers without any are left out)."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(Comment.paper_id, func.count())
        .where(
            Comment.paper_id.in_(paper_ids),
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
        )
        .group_by(Comment.paper_id)
    )
    return {paper_id: int(count) for paper_id, count in rows}
