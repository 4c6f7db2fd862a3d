"""OAI-PMH responses (``sources/arxiv/oai.py``): the hand-written four-page harvest, real
recordings, bodies that are not a records response, OAI sets and category filters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dailypapers.sources.arxiv.oai import (
    OaiError,
    parse_list_records,
    record_matches,
    set_for_category,
    sets_for_categories,
)
from dailypapers.sources.arxiv.xml import MalformedResponse
from tests.arxiv_files import HAND, OAI, PAGE, RSS, by_id, one_sentence, paperhive, read

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
