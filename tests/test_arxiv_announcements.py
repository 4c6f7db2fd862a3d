"""The announcement Atom feeds (``sources/arxiv/announcements.py``): exact announce days,
authors, bad entries, weekends and bodies that are not a feed.
"""

from __future__ import annotations

from datetime import date

import pytest

from dailypapers.sources.arxiv.announcements import parse_announcement_feed, parse_announcements
from dailypapers.sources.arxiv.xml import MalformedResponse
from tests.arxiv_files import RSS, one_sentence, paperhive, read

# --- announcement feeds ----------------------------------------------------------------------------


def test_announcement_feed_fixture() -> None:
    feed = parse_announcement_feed(read(RSS))
    assert feed.announced_on == date(2025, 6, 17) and feed.skipped == []
    kinds = [(a.arxiv_id, a.version, a.announce_type) for a in feed.announcements]
    assert kinds == [
        ("2506.12613", 1, "new"),
        ("2506.12541", 1, "new"),
        ("2506.13458", 1, "cross"),
        ("2505.12421", 2, "replace"),
        ("2208.02814", 4, "replace-cross"),
    ]
    assert [a.is_new for a in feed.announcements] == [True, True, True, False, False]
    first = feed.announcements[0]
    assert first.announced_on == first.record.announced_on == date(2025, 6, 17)
    assert first.record.abstract.startswith("We show that adversarial examples exist")
    assert "Announce Type" not in first.record.abstract
    assert first.record.authors == ["Amit Daniely"]
    assert first.record.license == "http://creativecommons.org/licenses/by/4.0/"
    assert first.record.published is None  # the feed does not say when v1 was submitted
    bsa = feed.announcements[1].record
    assert bsa.code_url == "https://github.com/britacatalin/bsa"
    assert bsa.authors == [
        "Catalin E. Brita",
        "Hieu Nguyen",
        "Lohithsai Yadala Chanchu",
        "Domonkos Nagy",
        "Maksim Zhdanov",
    ]
    cross = feed.announcements[2].record
    assert cross.categories == ["cs.CV", "cs.CL"]
    assert parse_announcements(read(RSS)) == feed.announcements


def _feed(entries: str, head: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<title>cs.LG updates on arXiv.org</title>{head}{entries}</feed>"
    ).encode()


ENTRY = (
    "<entry><id>oai:arXiv.org:{id}</id><title>A title</title>"
    "<summary>arXiv:{id} Announce Type: {kind} \nAbstract: The abstract.</summary>"
    '<category term="cs.LG"/>{extra}'
    "<arxiv:announce_type>{kind}</arxiv:announce_type>"
    "<dc:creator>{creator}</dc:creator></entry>"
)


def test_announce_date_falls_back_to_the_feed_build_time() -> None:
    entry = ENTRY.format(id="2506.00001v1", kind="new", extra="", creator="A. One")
    # Built at 21:30 EDT on Monday, after the 20:00 announcement: Tuesday's listing.
    late = parse_announcements(_feed(entry, "<updated>2025-06-17T01:30:00+00:00</updated>"))
    assert late[0].announced_on == date(2025, 6, 17)
    early = parse_announcements(_feed(entry, "<updated>2025-06-17T04:00:31+00:00</updated>"))
    assert early[0].announced_on == date(2025, 6, 17)
    published = parse_announcements(_feed(entry, "<published>2025-06-18</published>"))
    assert published[0].announced_on == date(2025, 6, 18)
    feed = parse_announcement_feed(_feed(entry))
    assert feed.announcements == []
    assert feed.skipped == [
        ("oai:arXiv.org:2506.00001v1", "no announce date in the entry or the feed")
    ]


def test_announcement_entries_authors_and_bad_entries() -> None:
    stamp = "<published>2025-06-17T00:00:00-04:00</published>"
    entries = (
        ENTRY.format(
            id="2506.00001v2",
            kind="replace",
            extra=stamp,
            creator="Ada Lovelace (Analytical Engines Ltd, London), Alan Turing and Grace Hopper",
        )
        + ENTRY.format(id="", kind="new", extra=stamp, creator="Nobody").replace(
            "arXiv: Announce", "Announce"
        )
        + ENTRY.format(
            id="2506.00003v1",
            kind="cross",
            extra=stamp + "<author><name>Named Author</name></author>",
            creator="Ignored Creator",
        )
    )
    feed = parse_announcement_feed(_feed(entries))
    assert [a.arxiv_id for a in feed.announcements] == ["2506.00001", "2506.00003"]
    assert feed.announcements[0].record.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert feed.announcements[0].record.abstract == "The abstract."
    assert feed.announcements[1].record.authors == ["Named Author"]
    assert feed.skipped == [("oai:arXiv.org:", "missing <id>")]


def test_weekend_feed_without_entries() -> None:
    assert parse_announcements(_feed("", "<updated>2025-06-21T04:00:00+00:00</updated>")) == []


def test_malformed_announcement_bodies() -> None:
    rss2 = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    for body in (b"", rss2, read(RSS)[:3000], str(paperhive()[0]["response"]).encode()):
        with pytest.raises(MalformedResponse) as caught:
            parse_announcements(body)
        assert one_sentence(str(caught.value))
