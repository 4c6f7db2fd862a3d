"""The export API's Atom feeds (``sources/arxiv/export_api.py``): lookups by id, searches, old
feeds, error feeds and bodies that are not a feed.
"""

from __future__ import annotations

from datetime import date

import pytest

from dailypapers.sources.arxiv.export_api import ExportApiError, parse_export_feed
from dailypapers.sources.arxiv.xml import MalformedResponse
from tests.arxiv_files import API, HAND, PAGE, one_sentence, read, recorded

# --- export API ---------------------------------------------------------------------------------


def test_export_single_id_with_version() -> None:
    page = parse_export_feed(recorded("id_2104.12255v1_s0_m100_6ae69987ffe1.json"))
    assert (page.total_results, page.start_index, page.items_per_page) == (1, 0, 100)
    (record,) = page.records
    assert (record.arxiv_id, record.version) == ("2104.12255", 1)
    assert record.title == "0"  # a real title, not a missing one
    assert record.authors == ["Quan Thoi Minh Nguyen"]
    assert record.categories == ["cs.CR"]
    assert record.published == date(2021, 4, 20)
    assert record.announced_on == date(2021, 4, 21)  # Tuesday 12:07 EDT
    assert record.updated is None


def test_export_old_style_id() -> None:
    page = parse_export_feed(recorded("id_astro-ph_0601001_s0_m100_3150dca9dc76.json"))
    (record,) = page.records
    assert (record.arxiv_id, record.version) == ("astro-ph/0601001", 1)
    assert record.journal_ref == "ActaAstron.56:1-50,2006"
    assert record.comment is not None and record.comment.startswith("62 pages")
    assert (
        record.project_url == "http://www.astronomy.ohio-state.edu/~gould/ogle_hot_jupiters.ps.gz"
    )
    assert record.authors == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert "&lt;" not in record.abstract and "V_max<17.5" in record.abstract


def test_export_missing_id_among_several_and_utf8_names() -> None:
    page = parse_export_feed(recorded("id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json"))
    assert [r.arxiv_id for r in page.records] == ["1707.08567"]
    assert page.skipped == []
    assert "Dirk Wübben" in page.records[0].authors


def test_export_unknown_id_gives_no_records() -> None:
    page = parse_export_feed(recorded("id_0000.0000_s0_m100_8b51d9633a68.json"))
    assert page.records == [] and page.skipped == [] and page.total_results == 0


def test_export_placeholder_entry_for_a_missing_id_is_not_found() -> None:
    body = read(API / "handwritten" / "id_2208.05394_placeholder-entry_handwritten.xml")
    page = parse_export_feed(body)
    assert page.records == [] and page.skipped == []


def test_export_error_feed_raises() -> None:
    with pytest.raises(ExportApiError) as caught:
        parse_export_feed(recorded("id_abc_s0_m100_b79c8dcf6bc3.json"))
    assert caught.value.message == "incorrect id format for abc"


def test_export_search_page() -> None:
    page = parse_export_feed(recorded("q_testing_s0_m10_bc5a6c384fe9.json"))
    assert (page.total_results, page.start_index, page.items_per_page) == (214881, 0, 10)
    assert len(page.records) == 10 and page.skipped == []
    first = page.records[0]
    assert (first.arxiv_id, first.categories) == ("2202.12139", ["cs.SE", "cs.LG"])
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.journal_ref is not None and first.journal_ref.startswith("Artificial Intelligence")
    assert "Aurora Ramírez" in page.records[1].authors


def test_export_legacy_2016_feed() -> None:
    page = parse_export_feed(read(API / "legacy-2016" / "id_list=1111.2011v2.xml"))
    (record,) = page.records
    assert (record.arxiv_id, record.version) == ("1111.2011", 2)
    assert record.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert (record.published, record.updated) == (date(2011, 11, 8), date(2012, 4, 2))
    assert record.doi == "10.1103/PhysRevB.85.115117"
    assert record.primary_category == "cond-mat.str-el"


def test_export_entry_details_and_a_bad_entry() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <opensearch:totalResults>2</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/not-an-id</id>
    <title>Broken</title>
    <summary>An entry whose id is not an arXiv id.</summary>
    <published>2025-06-16T10:00:00Z</published>
  </entry>
  <entry>
    <id>http://arxiv.org/abs/2506.12613v2</id>
    <title>Existence of   Adversarial
      Examples</title>
    <summary>  We show
that adversarial examples exist. Code: https://github.com/example/adv.git </summary>
    <published>2025-06-16T07:12:05Z</published>
    <updated>2025-06-18T19:40:31Z</updated>
    <category term="math.PR"/>
    <category term="I.2.6"/>
    <category term="68T05"/>
    <category term="cs.LG"/>
    <arxiv:primary_category term="cs.LG"/>
    <author><name>Amit  Daniely</name></author>
  </entry>
</feed>"""
    page = parse_export_feed(body)
    assert page.skipped == [
        ("http://arxiv.org/abs/not-an-id", "not an arXiv id: 'http://arxiv.org/abs/not-an-id'")
    ]
    (record,) = page.records
    assert record.title == "Existence of Adversarial Examples"
    assert record.categories == ["cs.LG", "math.PR"]
    assert record.authors == ["Amit Daniely"]
    assert record.version == 2 and record.updated == date(2025, 6, 18)
    assert record.code_url == "https://github.com/example/adv"


def test_malformed_export_bodies() -> None:
    good = recorded("id_astro-ph_0601001_s0_m100_3150dca9dc76.json")
    for body in (
        b"",
        good[: len(good) - 40],
        b"<html><head><title>503</title></head><body>Service Unavailable</body></html>",
        read(HAND / PAGE.format(1)),
    ):
        with pytest.raises(MalformedResponse) as caught:
            parse_export_feed(body)
        assert one_sentence(str(caught.value))
