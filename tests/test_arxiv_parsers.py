"""The pure arXiv response parsers: OAI-PMH, export-API Atom, announcement Atom, announce dates.

Fixtures live in tests/data/arxiv (see its README for which request each file answers).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from dailypapers.sources.arxiv.announcements import (
    parse_announcement_feed,
    parse_announcements,
)
from dailypapers.sources.arxiv.export_api import ExportApiError, parse_export_feed
from dailypapers.sources.arxiv.oai import (
    OaiError,
    parse_list_records,
    record_matches,
    set_for_category,
    sets_for_categories,
)
from dailypapers.sources.arxiv.records import PaperRecord
from dailypapers.sources.arxiv.schedule import (
    estimate_announce_date,
    estimate_announce_date_at,
    to_us_eastern,
)
from dailypapers.sources.arxiv.xml import (
    MalformedResponse,
    children_by_name,
    element_text,
    local_name,
    split_author_string,
)

DATA = Path(__file__).parent / "data" / "arxiv"
OAI = DATA / "oai-pmh"
HAND = OAI / "handwritten"
API = DATA / "arxiv-api"
RSS = DATA / "rss" / "handwritten" / "atom_cs.LG+cs.CL_2025-06-17_handwritten.xml"
PAGE = "ListRecords_arXiv_set-cs_from-2025-06-17_page{}_handwritten.xml"


def read(path: Path) -> bytes:
    return path.read_bytes()


def recorded(name: str) -> bytes:
    """The body of a recorded export-API exchange, as the bytes arXiv sent.

    The recorder stored the body decoded as ISO-8859-1 (the HTTP default for text/* without a
    charset), so encoding it back to ISO-8859-1 gives arXiv's UTF-8 bytes again.
    """
    exchange = json.loads((API / "recorded-2026" / name).read_text(encoding="utf-8"))
    body: str = exchange["body"]
    return body.encode("latin-1")


def paperhive() -> list[dict[str, object]]:
    path = OAI / "paperhive-2018" / "oaipmh-listrecords---should-list-identifiers-from-arxiv.json"
    exchanges: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return exchanges


def by_id(records: list[PaperRecord]) -> dict[str, PaperRecord]:
    return {record.arxiv_id: record for record in records}


def one_sentence(message: str) -> bool:
    return "\n" not in message and 0 < len(message) < 300


# --- schedule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "listed"),
    [
        ("2025-06-16", "2025-06-17"),  # Monday -> Tuesday
        ("2025-06-17", "2025-06-18"),  # Tuesday -> Wednesday
        ("2025-06-18", "2025-06-19"),  # Wednesday -> Thursday
        ("2025-06-19", "2025-06-20"),  # Thursday -> Friday
        ("2025-06-20", "2025-06-23"),  # Friday -> Monday (announced Sunday evening)
        ("2025-06-21", "2025-06-24"),  # Saturday -> Tuesday (waits for Monday's deadline)
        ("2025-06-22", "2025-06-24"),  # Sunday -> Tuesday
        ("2024-12-31", "2025-01-01"),  # holidays are ignored
    ],
)
def test_estimate_announce_date_by_weekday(submitted: str, listed: str) -> None:
    assert estimate_announce_date(date.fromisoformat(submitted)) == date.fromisoformat(listed)


def test_estimated_dates_are_always_weekdays_after_submission() -> None:
    day = date(2025, 1, 1)
    for offset in range(60):
        submitted = day + timedelta(days=offset)
        listed = estimate_announce_date(submitted)
        assert listed.weekday() < 5
        assert 1 <= (listed - submitted).days <= 3


@pytest.mark.parametrize(
    ("moment", "listed"),
    [
        # June: US Eastern is UTC-4, the 14:00 deadline is 18:00 UTC.
        (datetime(2025, 6, 16, 17, 59, tzinfo=UTC), date(2025, 6, 17)),
        (datetime(2025, 6, 16, 18, 0, tzinfo=UTC), date(2025, 6, 18)),
        # January: UTC-5, the deadline is 19:00 UTC.
        (datetime(2025, 1, 13, 18, 59, tzinfo=UTC), date(2025, 1, 14)),
        (datetime(2025, 1, 13, 19, 0, tzinfo=UTC), date(2025, 1, 15)),
        # Friday after the deadline waits for Monday's: listed Tuesday.
        (datetime(2025, 6, 20, 19, 0, tzinfo=UTC), date(2025, 6, 24)),
        # Early Tuesday UTC is still Monday evening in New York, after the deadline.
        (datetime(2025, 6, 17, 2, 0, tzinfo=UTC), date(2025, 6, 18)),
        # Offsets other than UTC are converted; a naive time is taken as UTC.
        (datetime(2025, 6, 16, 13, 59, tzinfo=timezone(timedelta(hours=-4))), date(2025, 6, 17)),
        (datetime(2025, 6, 16, 18, 0), date(2025, 6, 18)),
    ],
)
def test_estimate_announce_date_at_uses_the_eastern_deadline(
    moment: datetime, listed: date
) -> None:
    assert estimate_announce_date_at(moment) == listed


@pytest.mark.parametrize(
    ("utc", "eastern"),
    [
        (datetime(2025, 3, 9, 6, 59), datetime(2025, 3, 9, 1, 59)),  # EST until 02:00 local
        (datetime(2025, 3, 9, 7, 0), datetime(2025, 3, 9, 3, 0)),  # then EDT
        (datetime(2025, 11, 2, 5, 59), datetime(2025, 11, 2, 1, 59)),  # EDT until 02:00 local
        (datetime(2025, 11, 2, 6, 0), datetime(2025, 11, 2, 1, 0)),  # then EST
        (datetime(2006, 4, 2, 6, 59), datetime(2006, 4, 2, 1, 59)),  # pre-2007: first Sunday April
        (datetime(2006, 4, 2, 7, 0), datetime(2006, 4, 2, 3, 0)),
        (datetime(2006, 10, 29, 6, 0), datetime(2006, 10, 29, 1, 0)),  # last Sunday October
        (datetime(2006, 3, 12, 12, 0), datetime(2006, 3, 12, 7, 0)),  # not yet DST in 2006
    ],
)
def test_to_us_eastern_follows_daylight_saving_rules(utc: datetime, eastern: datetime) -> None:
    assert to_us_eastern(utc.replace(tzinfo=UTC)) == eastern


# --- OAI-PMH: the hand-written four-page harvest -----------------------------------------------


def test_four_page_harvest_pages_and_tokens() -> None:
    pages = [parse_list_records(read(HAND / PAGE.format(n))) for n in range(1, 5)]
    assert [p.resumption_token for p in pages] == ["8311205|4", "8311205|7", "8311205|10", None]
    assert [p.cursor for p in pages] == [0, 3, 6, 9]
    assert [p.complete_list_size for p in pages] == [12, 12, 12, 12]
    assert [p.is_last for p in pages] == [False, False, False, True]
    assert [p.max_datestamp for p in pages] == [
        date(2025, 6, 17),
        date(2025, 6, 17),
        date(2025, 6, 18),
        date(2025, 6, 19),
    ]
    assert pages[0].response_date == datetime(2025, 6, 20, 10, 0, 3, tzinfo=UTC)
    assert [len(p.records) for p in pages] == [3, 2, 3, 3]
    assert pages[1].deleted == ["2506.11068"]
    assert all(p.skipped == [] for p in pages)
    listed = sum(len(p.records) + len(p.deleted) for p in pages)
    assert listed == pages[0].complete_list_size


def test_four_page_harvest_filtered_to_configured_categories() -> None:
    pages = [parse_list_records(read(HAND / PAGE.format(n))) for n in range(1, 5)]
    kept = [r.arxiv_id for p in pages for r in p.records if record_matches(r, ["cs.LG", "cs.CL"])]
    assert kept == [
        "2506.12613",
        "2506.13596",
        "2506.12039",
        "2506.12823",
        "2506.12556",
        "2506.14040",
        "2506.14046",
        "2506.14793",
        "2506.15566",
        "2506.12613",  # again, as its newer version
    ]
    dropped = [
        r.arxiv_id for p in pages for r in p.records if not record_matches(r, ["cs.LG", "cs.CL"])
    ]
    assert dropped == ["2506.14583"]  # cs.CV cs.AI


def test_arxiv_format_record_fields() -> None:
    page = parse_list_records(read(HAND / PAGE.format(1)))
    record = by_id(page.records)["2506.12613"]
    assert record.title == (
        "Existence of Adversarial Examples for Random Convolutional Networks via Isoperimetric "
        r"Inequalities on $\mathbb{so}(d)$"
    )
    assert record.abstract.startswith("We show that adversarial examples exist")
    assert "\n" not in record.abstract and "  " not in record.abstract
    assert r"$\mathbb{so}(d)$" in record.abstract
    assert record.authors == ["Amit Daniely"]
    assert record.categories == ["cs.LG", "math.PR", "stat.ML"]
    assert record.primary_category == "cs.LG"
    assert record.published == date(2025, 6, 16)
    assert record.announced_on == date(2025, 6, 17)  # the real listing date of this paper
    assert record.updated is None
    assert record.version is None  # the arXiv format carries no version number
    assert record.comment == "Accepted to COLT 2025"
    assert record.license == "http://creativecommons.org/licenses/by/4.0/"
    assert record.journal_ref is None and record.doi is None


def test_newer_version_later_in_the_harvest_carries_its_update() -> None:
    first = by_id(parse_list_records(read(HAND / PAGE.format(1))).records)["2506.12613"]
    later = by_id(parse_list_records(read(HAND / PAGE.format(4))).records)["2506.12613"]
    assert later.published == first.published == date(2025, 6, 16)
    assert later.announced_on == first.announced_on
    assert first.updated is None and later.updated == date(2025, 6, 18)
    assert later.comment is not None and "v2" in later.comment


def test_acm_class_is_not_a_category() -> None:
    page = parse_list_records(read(HAND / PAGE.format(2)))
    assert by_id(page.records)["2506.12556"].categories == ["cs.LG", "cs.AI", "cs.CY"]


def test_arxiv_raw_versions_dates_and_author_strings() -> None:
    page = parse_list_records(
        read(HAND / "ListRecords_arXivRaw_set-cs_from-2025-06-19_handwritten.xml")
    )
    assert page.skipped == [] and page.resumption_token is None
    records = by_id(page.records)
    revised = records["2506.12613"]
    assert revised.version == 2
    assert revised.published == date(2025, 6, 16)
    assert revised.updated == date(2025, 6, 18)
    assert revised.announced_on == date(2025, 6, 17)  # v1 at 07:12 GMT Monday
    single = records["2506.15506"]
    assert single.version == 1 and single.updated is None
    assert single.announced_on == date(2025, 6, 19)  # the real listing date
    assert single.authors == [
        "Salijona Dyrmishi",
        "Mohamed Djilani",
        "Thibault Simonetto",
        "Salah Ghamizi",
        "Maxime Cordy",
    ]
    old = records["0704.0002"]
    assert old.authors == ["Ileana Streinu", "Louis Theran"]
    assert old.categories == ["math.CO", "cs.CG"]
    assert (old.version, old.published, old.updated) == (2, date(2007, 3, 31), date(2008, 12, 13))
    # Submitted Saturday 02:26 GMT = Friday 22:26 EDT, after the deadline: listed Tuesday.
    assert old.announced_on == date(2007, 4, 3)
    assert old.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"


def test_bad_records_are_skipped_and_the_rest_kept() -> None:
    page = parse_list_records(read(HAND / "ListRecords_arXiv_bad-records_handwritten.xml"))
    assert [r.arxiv_id for r in page.records] == ["2506.14040", "2506.14046"]
    assert page.skipped == [
        ("2506.99991", "missing or empty <title>"),
        ("oai:arXiv.org:not-an-id", "missing <id>"),
    ]


def test_no_records_match_is_an_empty_page() -> None:
    page = parse_list_records(read(HAND / "ListRecords_noRecordsMatch_handwritten.xml"))
    assert page.records == [] and page.deleted == [] and page.skipped == []
    assert page.is_last and page.max_datestamp is None
    assert page.response_date == datetime(2025, 6, 21, 9, 15, 2, tzinfo=UTC)


def test_bad_resumption_token_raises_oai_error() -> None:
    with pytest.raises(OaiError) as caught:
        parse_list_records(read(HAND / "ListRecords_badResumptionToken_handwritten.xml"))
    assert caught.value.code == "badResumptionToken"
    assert (
        caught.value.message == "The value of the resumptionToken argument is invalid or expired."
    )
    assert "badResumptionToken" in str(caught.value)


@pytest.mark.parametrize("code", ["badArgument", "cannotDisseminateFormat", "badVerb"])
def test_other_oai_errors_raise(code: str) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2025-06-21T09:00:00Z</responseDate>"
        "<request>https://oaipmh.arxiv.org/oai</request>"
        f'<error code="{code}">Something about the request is wrong.</error></OAI-PMH>'
    ).encode()
    with pytest.raises(OaiError) as caught:
        parse_list_records(body)
    assert caught.value.code == code


# --- OAI-PMH: real recordings ------------------------------------------------------------------


def test_hepcrawl_list_records() -> None:
    hep_th = parse_list_records(read(OAI / "hepcrawl-2017" / "arxiv-physics-hep-th.xml"))
    assert [r.arxiv_id for r in hep_th.records] == ["1412.8323", "1507.07790", "1607.01710"]
    assert hep_th.resumption_token is None and hep_th.complete_list_size is None
    assert hep_th.max_datestamp == date(2017, 12, 14)
    records = by_id(hep_th.records)
    first = records["1412.8323"]
    assert first.title == (
        "Toolbox for reconstructing quantum theory from rules on information acquisition"
    )
    assert first.categories[0] == "quant-ph" and "physics.hist-ph" in first.categories
    assert (first.published, first.updated) == (date(2014, 12, 29), date(2017, 12, 13))
    assert first.authors == ["Philipp A Hoehn"]
    second = records["1507.07790"]
    assert second.journal_ref == "J. Phys. A: Math. Theor. 51 (2018) 035201"
    assert second.doi == "10.1088/1751-8121/aa9c53"
    third = records["1607.01710"]
    assert third.authors[-2:] == ["A. de Souza Dutra", "C. A. S. Almeida"]
    assert third.comment is None

    hep_ex = parse_list_records(read(OAI / "hepcrawl-2017" / "arxiv-physics-hep-ex.xml"))
    assert len(hep_ex.records) == 3 and hep_ex.skipped == []


def test_get_record_response_parses_too() -> None:
    page = parse_list_records(read(OAI / "hepcrawl-2017" / "arxiv-single.xml"))
    (record,) = page.records
    assert record.arxiv_id == "1401.2122"
    assert record.categories[0] == "math.AP"
    assert record.doi == "10.1007/s11005-017-1013-4"


def test_hand_edited_stress_sample() -> None:
    page = parse_list_records(read(OAI / "hepcrawl-2017" / "sample_arxiv_record_EDITED.xml"))
    assert page.skipped == []
    records = by_id(page.records)
    assert len(records) == 12
    # The first record's <arXiv> lost its namespace declaration: still read by local name.
    assert records["1601.03238"].authors[0] == "Planck Collaboration"
    # Punctuation-only "authors" (<keyname>:</keyname>) are dropped; affiliations are ignored.
    assert ":" not in records["1603.05976"].authors
    assert records["1808.04927"].authors[0] == "N. Abgrall"
    assert records["1603.00997"].comment is not None and '"The 8th' in records["1603.00997"].comment


def test_paperhive_exchange_503_then_records() -> None:
    unavailable, ok = paperhive()
    assert unavailable["status"] == 503
    with pytest.raises(MalformedResponse) as caught:
        parse_list_records(str(unavailable["response"]).encode())
    assert "HTML" in str(caught.value) and "Retry after 10 seconds" in str(caught.value)
    assert one_sentence(str(caught.value))
    page = parse_list_records(str(ok["response"]).encode())
    records = by_id(page.records)
    assert list(records) == ["1412.8544", "hep-th/9504118"]
    assert records["hep-th/9504118"].abstract.count('"strength"') == 1  # &quot; decoded
    assert records["1412.8544"].authors == ["Sander Uijlen", "Bas Westerbaan"]
    assert records["1412.8544"].journal_ref == "EPTCS 172, 2014, pp. 154-164"


# --- OAI-PMH: bodies that are not a records response ---------------------------------------------


def test_malformed_oai_bodies() -> None:
    good = read(HAND / PAGE.format(1))
    cases = {
        "empty": b"",
        "blank": b"  \n",
        "truncated": good[: len(good) // 2],
        "html": b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
        "atom": read(RSS),
        "not xml": b"Service Unavailable",
        "entities": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><OAI-PMH>&a;</OAI-PMH>',
        "identifiers": b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListIdentifiers/></OAI-PMH>',
    }
    for name, body in cases.items():
        with pytest.raises(MalformedResponse) as caught:
            parse_list_records(body)
        assert one_sentence(str(caught.value)), name
    xhtml = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0'
        b' Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Down for maintenance</p></body></html>'
    )
    with pytest.raises(MalformedResponse, match="HTML page: Down for maintenance"):
        parse_list_records(xhtml)
    with pytest.raises(MalformedResponse, match="truncated"):
        parse_list_records(cases["truncated"])
    with pytest.raises(MalformedResponse, match="empty"):
        parse_list_records(cases["empty"])
    with pytest.raises(MalformedResponse, match="root element is <feed>"):
        parse_list_records(cases["atom"])
    with pytest.raises(MalformedResponse, match="ListIdentifiers"):
        parse_list_records(cases["identifiers"])


def test_record_without_metadata_is_skipped() -> None:
    body = (
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        b"<record><header><identifier>oai:arXiv.org:2506.12613</identifier>"
        b"<datestamp>2025-06-17</datestamp></header></record>"
        b"<record><metadata/></record>"
        b'<resumptionToken completeListSize="2" cursor="0"></resumptionToken>'
        b"</ListRecords></OAI-PMH>"
    )
    page = parse_list_records(body)
    assert page.records == []
    assert page.skipped == [
        ("2506.12613", "record has no <metadata>"),
        ("", "record without a <header>"),
    ]
    assert page.resumption_token is None  # an empty token ends the list
    assert page.complete_list_size == 2


def test_record_field_edge_cases() -> None:
    """Empty ``<id>`` falls back to the header; repeated fields: the first wins, but a repeated
    author part the last; nested markup keeps its text; a metadata namespace is not required."""
    body = (
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        b"<record><header><identifier> oai:arXiv.org:2506.00001 </identifier>"
        b"<datestamp>2025-06-18</datestamp></header><metadata><arXiv><id> </id>"
        b"<created>2025-06-16</created><authors>"
        b"<author><keyname>Old</keyname><keyname>Curie</keyname>"
        b"<forenames> Marie \n S. </forenames><suffix/></author>"
        b"<author><keyname>-</keyname></author>"
        b"<author><forenames>A. <i>de</i></forenames><keyname>la Cruz</keyname><suffix>Jr</suffix>"
        b"<affiliation>MIT</affiliation></author><note>not an author</note></authors>"
        b"<title>First  <b>title</b></title><title>Second title</title>"
        b"<categories>\tcs.LG\n  stat.ML </categories><abstract>An  abstract.</abstract>"
        b"<doi></doi></arXiv></metadata></record>"
        b"<record><header><identifier>unreadable</identifier><datestamp>2025-06-19</datestamp>"
        b"</header><metadata><arXiv><id/><created>2025-06-16</created></arXiv></metadata></record>"
        b"</ListRecords></OAI-PMH>"
    )
    page = parse_list_records(body)
    assert page.skipped == [("unreadable", "missing <id>")]
    assert page.max_datestamp == date(2025, 6, 19)
    [record] = page.records
    assert record.arxiv_id == "2506.00001"
    assert record.authors == ["Marie S. Curie", "A. de la Cruz Jr"]
    assert record.title == "First title"
    assert record.categories == ["cs.LG", "stat.ML"]
    assert record.abstract == "An abstract."
    assert record.doi is None and record.comment is None and record.journal_ref is None


# --- OAI sets and category filters ------------------------------------------------------------


def test_sets_for_categories() -> None:
    configured = ["cs.LG", "cs.CL", "stat.ML", "hep-th", "math.CO", "astro-ph.GA", "cs.LG"]
    assert sets_for_categories(configured) == [
        "cs",
        "stat",
        "physics:hep-th",
        "math",
        "physics:astro-ph",
    ]
    assert sets_for_categories(["eess.SP", "econ.EM", "q-bio.NC", "q-fin.ST", " ", ""]) == [
        "eess",
        "econ",
        "q-bio",
        "q-fin",
    ]
    assert set_for_category("cond-mat.str-el") == "physics:cond-mat"
    assert set_for_category("physics.optics") == "physics:physics"
    assert set_for_category("quant-ph") == "physics:quant-ph"
    assert set_for_category("nlin.CD") == "physics:nlin"
    assert set_for_category("math-ph") == "physics:math-ph"
    assert set_for_category("cs") == "cs"
    assert set_for_category("chao-dyn") == "physics:nlin"
    with pytest.raises(ValueError, match="not an arXiv category"):
        set_for_category("biology.XX")


def test_record_matches() -> None:
    page = parse_list_records(read(HAND / PAGE.format(1)))
    records = by_id(page.records)
    speech = records["2506.13596"]  # cs.CL cs.SD eess.AS
    assert record_matches(speech, ["cs.CL"])
    assert record_matches(speech, ["eess.AS"])
    assert record_matches(speech, ["cs"])
    assert record_matches(speech, ["eess"])
    assert not record_matches(speech, ["cs.LG", "stat.ML"])
    assert not record_matches(speech, ["c"])  # a prefix must be a whole archive
    assert not record_matches(speech, [])
    hep = parse_list_records(read(OAI / "hepcrawl-2017" / "arxiv-physics-hep-th.xml"))
    toolbox = by_id(hep.records)["1412.8323"]
    assert record_matches(toolbox, ["hep-th"])
    assert record_matches(toolbox, ["physics"])  # physics.hist-ph
    assert not record_matches(toolbox, ["hep-ph", "math.CO"])


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


# --- shared helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Ileana Streinu and Louis Theran", ["Ileana Streinu", "Louis Theran"]),
        ("A. One, B. Two, and C. Three", ["A. One", "B. Two", "C. Three"]),
        ("V. M. Biryukov (Serpukhov, IHEP)", ["V. M. Biryukov"]),
        (
            "A. S. Mishchenko (1 and 2) and N. Nagaosa (1 and 3) ((1) CREST, Japan\n"
            "  Science and Technology Agency, (2) Russian Research Centre)",
            ["A. S. Mishchenko", "N. Nagaosa"],
        ),
        (
            r"Rastislav \v{S}r\'amek, Bro\v{n}a Brejov\'a",
            [r"Rastislav \v{S}r\'amek", r"Bro\v{n}a Brejov\'a"],
        ),
        ("", []),
    ],
)
def test_split_author_string(text: str, names: list[str]) -> None:
    assert split_author_string(text) == names


def test_children_by_name_first_wins_and_skips_comments() -> None:
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    parser.feed(b'<r xmlns:a="urn:a"><!-- c --><?pi x?><a:x>1</a:x><y>2</y><x>3</x></r>')
    root = parser.close()
    assert [local_name(child.tag) for child in root] == ["", "", "x", "y", "x"]
    found = children_by_name(root)
    assert list(found) == ["x", "y"]
    assert [element_text(child) for child in found.values()] == ["1", "2"]
