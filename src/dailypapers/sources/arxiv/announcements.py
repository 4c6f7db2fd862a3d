"""Parse rss.arxiv.org's Atom feeds of one announcement (``https://rss.arxiv.org/atom/cs.LG+cs.CL``).

The feed is arXiv's daily announcement for the named categories. Each entry (as arXiv's feed
service writes it):

* ``<id>oai:arXiv.org:2506.12613v1</id>``: arXiv id and version;
* ``<title>``, ``<category term="...">`` (one per category, primary first);
* ``<summary>arXiv:2506.12613v1 Announce Type: new \\nAbstract: ...</summary>``: the abstract
  behind a one-line prefix, which is stripped here;
* ``<arxiv:announce_type>``: ``new``, ``cross``, ``replace``, ``replace-cross`` (arXiv also
  documents ``absonly``);
* ``<dc:creator>``: all authors as one string (``<author><name>`` elements are used instead when
  present); ``<dc:rights>`` (license), ``<arxiv:DOI>``, ``<arxiv:journal_reference>``;
* ``<published>``: midnight US Eastern of the announcement day, e.g. ``2025-06-17T00:00:00-04:00``.

The announce date of an entry is the calendar date of its ``<published>`` as written (the feed is
stamped in Eastern time); failing that, the feed's own ``<published>``; failing that, the feed's
``<updated>`` build time read in US Eastern time (a feed built after the 20:00 announcement already
carries the next day's listing). A weekend or holiday feed has no entries and parses to ``[]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from xml.etree import ElementTree as ET

from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.arxiv.listing import MalformedRecord
from dailypapers.sources.arxiv.records import (
    PaperRecord,
    extract_links,
    normalise_text,
    optional_text,
)
from dailypapers.sources.arxiv.schedule import to_us_eastern
from dailypapers.sources.arxiv.xml import (
    MalformedResponse,
    children_by_name,
    element_text,
    local_name,
    parse_document,
    parse_iso_date,
    parse_iso_datetime,
    split_author_string,
)

__all__ = [
    "Announcement",
    "AnnouncementFeed",
    "MalformedResponse",
    "parse_announcement_feed",
    "parse_announcements",
]

ANNOUNCE_TYPES = frozenset({"new", "cross", "replace", "replace-cross", "absonly"})
ANNOUNCEMENT_HOUR_EASTERN = 20
_OAI_PREFIX = "oai:arxiv.org:"
_PREFIX_RE = re.compile(
    r"\s*arXiv:(?P<id>\S+?)\s+Announce\s+Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)


@dataclass(slots=True)
class Announcement:
    """One entry of an announcement feed: which paper, which version, how it was announced."""

    arxiv_id: str
    version: int | None
    announce_type: str
    announced_on: date
    record: PaperRecord

    @property
    def is_new(self) -> bool:
        """True for a first announcement in these categories (``new`` or ``cross``)."""
        return self.announce_type in ("new", "cross")


@dataclass(slots=True)
class AnnouncementFeed:
    """A parsed feed: its announcements, the entries that could not be read, the feed's date."""

    announcements: list[Announcement] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    announced_on: date | None = None


def parse_announcements(body: bytes) -> list[Announcement]:
    """The announcements in an rss.arxiv.org Atom feed (unreadable entries are left out)."""
    return parse_announcement_feed(body).announcements


def parse_announcement_feed(body: bytes) -> AnnouncementFeed:
    """Parse an rss.arxiv.org Atom feed, keeping the entries that could not be read as skipped."""
    root = parse_document(body, ("feed",), "an arXiv announcement Atom feed")
    feed = AnnouncementFeed()
    entries: list[ET.Element] = []
    published: date | None = None
    updated: date | None = None
    for child in root:
        name = local_name(child.tag)
        if name == "entry":
            entries.append(child)
        elif name == "published":
            published = parse_iso_date(child.text)
        elif name == "updated":
            updated = _listing_date_of_build(child.text)
    feed.announced_on = published or updated
    for entry in entries:
        fields = children_by_name(entry)
        entry_id = normalise_text(element_text(fields.get("id")))
        try:
            feed.announcements.append(_announcement(entry, fields, entry_id, feed.announced_on))
        except MalformedRecord as exc:
            feed.skipped.append((entry_id, str(exc)))
    return feed


def _listing_date_of_build(text: str | None) -> date | None:
    """The listing a feed built at ``text`` carries: its Eastern date, +1 day after 20:00."""
    built = parse_iso_datetime(text)
    if built is None:
        return None
    local = to_us_eastern(built)
    day = local.date()
    return day + timedelta(days=1) if local.hour >= ANNOUNCEMENT_HOUR_EASTERN else day


def _announcement(
    entry: ET.Element, fields: dict[str, ET.Element], entry_id: str, feed_date: date | None
) -> Announcement:
    summary = element_text(fields.get("summary")) or ""
    prefix = _PREFIX_RE.match(summary)
    raw_id = entry_id
    if raw_id.lower().startswith(_OAI_PREFIX):
        raw_id = raw_id[len(_OAI_PREFIX) :]
    if not raw_id and prefix:
        raw_id = prefix.group("id")
    if not raw_id:
        raise MalformedRecord("missing <id>")
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        raise MalformedRecord(str(exc)) from None
    announce_type = normalise_text(element_text(fields.get("announce_type"))).lower()
    if not announce_type and prefix:
        announce_type = prefix.group("type").lower()
    if not announce_type:
        raise MalformedRecord("missing <arxiv:announce_type>")
    title = normalise_text(element_text(fields.get("title")))
    if not title:
        raise MalformedRecord("missing or empty <title>")
    abstract = normalise_text(summary[prefix.end() :] if prefix else summary)
    if not abstract:
        raise MalformedRecord("missing or empty <summary>")
    announced_on = parse_iso_date(element_text(fields.get("published"))) or feed_date
    if announced_on is None:
        raise MalformedRecord("no announce date in the entry or the feed")
    authors: list[str] = []
    categories: list[str] = []
    for child in entry:
        name = local_name(child.tag)
        if name == "author":
            author = normalise_text(element_text(children_by_name(child).get("name")))
            if author:
                authors.append(author)
        elif name == "category":
            term = (child.get("term") or "").strip()
            if term and term not in categories:
                categories.append(term)
    if not authors:
        authors = split_author_string(element_text(fields.get("creator")))
    if not categories:
        raise MalformedRecord("no <category>")
    code_url, project_url = extract_links(abstract)
    record = PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        announced_on=announced_on,
        journal_ref=_first_text(fields, "journal_reference", "journal_ref"),
        doi=_first_text(fields, "DOI", "doi"),
        license=optional_text(element_text(fields.get("rights"))),
        code_url=code_url,
        project_url=project_url,
    )
    return Announcement(
        arxiv_id=arxiv_id,
        version=version,
        announce_type=announce_type,
        announced_on=announced_on,
        record=record,
    )


def _first_text(fields: dict[str, ET.Element], *names: str) -> str | None:
    """The normalised text of the first of ``names`` present (``None`` when none has text)."""
    for name in names:
        element = fields.get(name)
        if element is not None:
            return optional_text(element_text(element))
    return None
