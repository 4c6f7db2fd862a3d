"""Pure parsing of a record's pieces: arXiv ids (``sources/arxiv/ids.py``), text normalisation,
code and project links, categories (``sources/arxiv/records.py``).
"""

from __future__ import annotations

import random

import pytest

from dailypapers.sources.arxiv.ids import InvalidArxivId, is_arxiv_id, parse_arxiv_id
from dailypapers.sources.arxiv.records import (
    _URL_RE,
    _urls_in,
    clean_categories,
    extract_links,
    find_urls,
    is_category,
    normalise_text,
)

# --- arXiv ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2503.11731", ("2503.11731", None)),
        ("2503.11731v2", ("2503.11731", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("1501.00001v12", ("1501.00001", 12)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("hep-th/9901001v3", ("hep-th/9901001", 3)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("cond-mat/0011123v1", ("cond-mat/0011123", 1)),
        ("  2503.11731v1 \n", ("2503.11731", 1)),
        ("arXiv:2503.11731", ("2503.11731", None)),
        ("arxiv:2503.11731v4", ("2503.11731", 4)),
        ("https://arxiv.org/abs/2503.11731", ("2503.11731", None)),
        ("http://arxiv.org/abs/2503.11731v2", ("2503.11731", 2)),
        ("https://arxiv.org/pdf/2503.11731v2", ("2503.11731", 2)),
        ("https://arxiv.org/pdf/2503.11731v2.pdf", ("2503.11731", 2)),
        ("https://www.arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
        ("https://export.arxiv.org/abs/2503.11731/", ("2503.11731", None)),
        ("arxiv.org/html/2503.11731v1", ("2503.11731", 1)),
        ("HTTPS://ARXIV.ORG/ABS/2503.11731", ("2503.11731", None)),
    ],
)
def test_parse_arxiv_id(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_arxiv_id(text) == expected
    assert is_arxiv_id(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "2503.117",  # too few digits
        "2503.117311",  # too many
        "25031.1731",
        "2503.11731v",  # version without number
        "2503.11731x2",
        "hep-th/990100",  # old style needs seven digits
        "HEP-TH/9901001",
        "https://example.org/abs/2503.11731",
        "https://arxiv.org/list/cs.CV/new",
        "arXiv:",
        "2503.11731\n2503.11732",
        "٢٥٠٣.١١٧٣١",  # Arabic-Indic digits are digits to \d, not to arXiv
    ],
)
def test_parse_arxiv_id_rejects_garbage(text: str) -> None:
    with pytest.raises(InvalidArxivId, match="not an arXiv id"):
        parse_arxiv_id(text)
    assert not is_arxiv_id(text)


# --- normalisation and links ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one",
        "  A fully differential calculation\nin perturbative QCD is\n  presented.\n",
        "tabs\tand\r\ncarriage returns" * 20,
        "long " * 100 + "  double  spaces  " * 10,
        "non-breaking\u00a0space and em\u2003space and line\u2028separator " * 10,
        "ascii control \x1c separator " * 20,
        "\n\n  " + "x" * 300 + "  \n",
        "naïve café résumé\n" * 30,
    ],
)
def test_normalise_text_is_split_join(text: str) -> None:
    assert normalise_text(text) == " ".join(text.split())


def test_normalise_text_none() -> None:
    assert normalise_text(None) == ""


def test_url_finder_matches_the_pattern_exactly() -> None:
    rng = random.Random(7)
    pieces = ["http", "https", "HTTPS", "hTtP", ":", "//", "://", "/", "a", ".", '"', " ", "s"]
    pieces += ["\n", "]", "x", "\u017f", "é", "<"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 14)))
        assert _urls_in(text) == _URL_RE.findall(text), text


@pytest.mark.parametrize(
    ("texts", "code", "project"),
    [
        (("Code: https://github.com/owner/repo.",), "https://github.com/owner/repo", None),
        (
            ("See https://github.com/owner/repo/tree/main/src",),
            "https://github.com/owner/repo",
            None,
        ),
        (("(https://www.github.com/Owner/Repo.git)",), "https://www.github.com/Owner/Repo", None),
        (("https://gitlab.com/group/project, and",), "https://gitlab.com/group/project", None),
        (("Project page: https://example.org/proj/.",), None, "https://example.org/proj/"),
        (("https://arxiv.org/abs/2401.00001 and https://doi.org/10.1/x",), None, None),
        (
            ("page https://site.io/x; code https://github.com/a/b",),
            "https://github.com/a/b",
            "https://site.io/x",
        ),
        (("no links here",), None, None),
        (("abstract", "Comment: code at https://github.com/a/b"), "https://github.com/a/b", None),
        (("https://github.com/only-owner",), None, "https://github.com/only-owner"),
        ((None, ""), None, None),
    ],
)
def test_extract_links(
    texts: tuple[str | None, ...], code: str | None, project: str | None
) -> None:
    assert extract_links(*texts) == (code, project)


def test_find_urls_trims_and_dedupes() -> None:
    text = 'see "https://a.org/x", (https://a.org/x) and https://b.org/y]. http://c.org'
    assert find_urls(text, "again https://b.org/y") == [
        "https://a.org/x",
        "https://b.org/y",
        "http://c.org",
    ]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("cs.CL", True),
        ("hep-th", True),
        ("cond-mat.stat-mech", True),
        ("q-bio.BM", True),
        ("math.GT", True),
        ("physics.comp-ph", True),
        ("I.2.7", False),
        ("68T45", False),
        ("(Primary),", False),
        ("acmart", False),
        ("na", False),
        ("cs.", False),
        ("", False),
    ],
)
def test_is_category(name: str, ok: bool) -> None:
    assert is_category(name) is ok


def test_clean_categories_keeps_order_and_drops_classes() -> None:
    assert clean_categories([" cs.CL", "cs.AI", "68T45 (Primary)", "I.2.7", "cs.CL", ""]) == [
        "cs.CL",
        "cs.AI",
    ]
