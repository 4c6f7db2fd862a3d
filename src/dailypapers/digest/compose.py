"""Rendering digests: an HTML part (CSS inlined, readable without it) and a plain-text part.

A run renders the page around the sections once, and each section once (HTML with its CSS
inlined by css-inline, and text); a subscriber's mail is then a join of cached strings plus
their own signed links, so rendering stays cheap however many subscribers share the sections.
The same HTML is the "view in browser" page. Also the confirmation and manage-link mails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import quote

import css_inline
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from dailypapers.config import Settings
from dailypapers.db.models import Subscription
from dailypapers.digest.select import DigestPaper, Section
from dailypapers.mail import Mail
from dailypapers.rendering.plain import latex_to_text
from dailypapers.rendering.text import shorten
from dailypapers.services.periods import Period
from dailypapers.services.subscriptions import confirm_token, make_token

TEMPLATES = Path(__file__).with_name("templates")
CSS = (TEMPLATES / "digest.css").read_text(encoding="utf-8")
ABSTRACT_CHARS = 220  # about two lines of a mail client's column
SHOWN_AUTHORS = 3
WEIGHED = "Your model weighed most"  # For you: the words before the terms (as on the site)


def site_url(settings: Settings) -> str:
    """Where links in mails point: the public URL, else the local address ``serve`` uses."""
    return settings.base_url or f"http://{settings.host}:{settings.port}"


def clip(text: str) -> str:
    """An abstract shortened to the digest's one or two lines (never cut inside math), its math
    as readable text: mail clients do not show MathML."""
    return latex_to_text(shorten(text, ABSTRACT_CHARS))


def authors_line(authors: tuple[str, ...] | list[str]) -> str:
    if len(authors) <= SHOWN_AUTHORS + 1:
        return ", ".join(authors)
    return ", ".join(authors[:SHOWN_AUTHORS]) + f" and {len(authors) - SHOWN_AUTHORS} more"


def period_title(period: Period) -> str:
    if period.kind == "day":
        return f"{period.start:%A} {period.start.day} {period.start:%B %Y}"
    return f"week of {_day(period.start)} ({period.label})"


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True, slots=True)
class DigestLinks:
    manage: str
    unsubscribe: str
    view: str
    unsubscribe_mailto: str


def digest_links(
    settings: Settings, secret: bytes, sub: Subscription, period_key: str
) -> DigestLinks:
    """A subscriber's signed links for one digest (manage, one-click unsubscribe, view)."""
    base = site_url(settings)
    leave = make_token(secret, sub, "unsubscribe")
    view = make_token(secret, sub, "view", extra=period_key)
    mailbox = parseaddr(settings.mail_from)[1] or "unsubscribe@localhost"
    return DigestLinks(
        manage=f"{base}/digest/manage?token={make_token(secret, sub, 'manage')}",
        unsubscribe=f"{base}/digest/unsubscribe?token={leave}",
        view=f"{base}/digest/view?period={quote(period_key)}&token={view}",
        unsubscribe_mailto=f"mailto:{mailbox}?subject={quote('unsubscribe ' + sub.email)}",
    )


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
    )
    env.globals.update(clip=clip, authors=authors_line, weighed=WEIGHED)
    env.filters.update(plain=latex_to_text)
    return env


class DigestRenderer:
    """Renders one period's digests for one frequency; caches the shared parts."""

    def __init__(self, settings: Settings, secret: bytes, period: Period, frequency: str) -> None:
        self.settings = settings
        self.secret = secret
        self.period = period
        self.frequency = frequency
        self.base_url = site_url(settings)
        self.heading = f"{settings.site_name}: {period_title(period)}"
        self._env = _environment()
        self._html: dict[str, str] = {}
        self._text: dict[str, str] = {}
        intro = (
            "The papers of the day: trending, your categories and your searches."
            if period.kind == "day"
            else "The week's papers: trending, your categories and your searches."
        )
        shell = self._env.get_template("digest.html").render(
            heading=self.heading,
            intro=intro,
            css=Markup(CSS),
            frequency=frequency,
            base_url=self.base_url,
            site_name=settings.site_name,
        )
        self._shell = _ascii(css_inline.inline(shell))

    def section_html(self, section: Section) -> str:
        if section.key in self._html:
            return self._html[section.key]
        fragment = self._env.get_template("section.html").render(
            section=section, base_url=self.base_url
        )
        html = _ascii(css_inline.inline_fragment(fragment, CSS))
        if section.kind != "for_you":  # a subscriber's own section is rendered once anyway
            self._html[section.key] = html
        return html

    def section_text(self, section: Section) -> str:
        if section.key in self._text:
            return self._text[section.key]
        text = _section_text(section, self.base_url)
        if section.kind != "for_you":
            self._text[section.key] = text
        return text

    def html(self, sections: list[Section], links: DigestLinks) -> str:
        """The digest as one HTML document (the mail's HTML part and the browser view)."""
        body = "".join(self.section_html(s) for s in sections)
        return (
            self._shell.replace("__DP_SECTIONS__", body)
            .replace("__DP_VIEW__", str(escape(links.view)))
            .replace("__DP_MANAGE__", str(escape(links.manage)))
            .replace("__DP_UNSUBSCRIBE__", str(escape(links.unsubscribe)))
        )

    def text(self, sections: list[Section], links: DigestLinks) -> str:
        parts = [self.heading, "=" * min(len(self.heading), 72), ""]
        parts += [self.section_text(s) for s in sections]
        parts += [
            "-- ",
            f"View in your browser: {links.view}",
            f"Change what you get: {links.manage}",
            f"Unsubscribe: {links.unsubscribe}",
            "",
        ]
        return "\n".join(parts)

    def mail(self, sub: Subscription, sections: list[Section], period_key: str) -> Mail:
        """The digest mail for ``sub``, with the RFC 8058 one-click unsubscribe headers."""
        links = digest_links(self.settings, self.secret, sub, period_key)
        count = len({p.arxiv_id for s in sections for p in s.papers})
        papers = f"{count} paper{'s' if count != 1 else ''}"
        return Mail(
            to=sub.email,
            subject=f"{self.heading} · {papers}",
            text=self.text(sections, links),
            html=self.html(sections, links),
            headers={
                "List-Unsubscribe": f"<{links.unsubscribe}>, <{links.unsubscribe_mailto}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            message_id=digest_message_id(self.settings, sub, period_key),
        )


def _ascii(html: str) -> str:
    """Non-ASCII as character references: the HTML part then goes as 7bit text, a third smaller
    than base64 and in a third of the lines (SMTP servers read DATA line by line)."""
    return html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def digest_message_id(settings: Settings, sub: Subscription, period_key: str) -> str:
    """The same Message-ID for the same subscriber and period: a duplicate, should one ever
    be sent (see ``send``), is recognisable, and mail stores that de-duplicate drop it."""
    domain = (parseaddr(settings.mail_from)[1].rsplit("@", 1)[-1] or "localhost").strip("<>")
    period = period_key.replace(":", ".")
    return f"<digest.{period}.{sub.id}.{sub.key[:12]}@{domain}>"


def _section_text(section: Section, base_url: str) -> str:
    lines = [section.title.upper(), "-" * min(len(section.title), 72), ""]
    for number, paper in enumerate(section.papers, 1):
        links = [f"arXiv https://arxiv.org/abs/{paper.arxiv_id}"]
        links.append(f"PDF https://arxiv.org/pdf/{paper.arxiv_id}")
        if paper.code_url:
            links.append(f"Code {paper.code_url}")
        lines += [
            f"{number}. {latex_to_text(paper.title)}",
            f"   {authors_line(paper.authors)}",
            f"   {clip(paper.abstract)}",
            *_reason_text(paper, base_url),
            f"   {paper.upvotes} upvote{'' if paper.upvotes == 1 else 's'} · "
            f"{base_url}/papers/{paper.arxiv_id}",
            "   " + " · ".join(links),
            "",
        ]
    return "\n".join(lines)


def _reason_text(paper: DigestPaper, base_url: str) -> list[str]:
    """For you: why this paper, as lines of text (each linked paper or author with its URL, then
    the words the subscriber's model weighed most)."""
    lines = []
    if paper.reason:
        links = "; ".join(
            f"{latex_to_text(label)} ({base_url}{path})" for path, label in paper.reason_links
        )
        lines.append(f"   {paper.reason}: {links}" if links else f"   {paper.reason}")
    if paper.reason_terms:
        lines.append(f"   {WEIGHED}: {', '.join(paper.reason_terms)}")
    return lines


# --- the mails around a subscription ---------------------------------------------------------


def confirmation_mail(settings: Settings, secret: bytes, sub: Subscription) -> Mail:
    """Double opt-in: nothing else is mailed until this link is used (it expires in 3 days)."""
    site = settings.site_name
    link = f"{site_url(settings)}/digest/confirm?token={confirm_token(secret, sub)}"
    text = (
        f"Someone (hopefully you) asked for {site} digests at this address.\n\n"
        f"Confirm with this link (it works for 3 days):\n\n{link}\n\n"
        "If you did not ask, ignore this mail: nothing more will be sent.\n"
    )
    html = (
        f"<p>Someone (hopefully you) asked for {escape(site)} digests at this address.</p>"
        f'<p><a href="{escape(link)}">Confirm your subscription</a> (the link works for 3 days)</p>'
        "<p>If you did not ask, ignore this mail: nothing more will be sent.</p>"
    )
    return Mail(to=sub.email, subject=f"Confirm your {site} digest", text=text, html=html)


def manage_mail(
    settings: Settings, secret: bytes, sub: Subscription, search: tuple[str, str] | None
) -> Mail:
    """For an address that is already subscribed: its manage link (offering a search to add)."""
    site = settings.site_name
    link = f"{site_url(settings)}/digest/manage?token={make_token(secret, sub, 'manage')}"
    if search:
        link += f"&add_q={quote(search[0])}" + (
            f"&add_category={quote(search[1])}" if search[1] else ""
        )
    offer = f' (to add the search "{search[0]}")' if search else ""
    text = (
        f"This address already gets {site} digests. Change what you get here{offer}:\n\n"
        f"{link}\n\nIf you did not ask, ignore this mail.\n"
    )
    html = (
        f"<p>This address already gets {escape(site)} digests.</p>"
        f'<p><a href="{escape(link)}">Change what you get</a>{escape(offer)}</p>'
        "<p>If you did not ask, ignore this mail.</p>"
    )
    return Mail(to=sub.email, subject=f"Your {site} digest", text=text, html=html)
