"""The digest mail's parts (``dailypapers.digest.compose``), built from hand-made sections: no
run, no SMTP. HTML and text parts with hostile titles, the signed links (checked with the same
``check_token`` the web routes use), the RFC 8058 headers as a mail client parses them, and the
confirmation and manage-link mails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.models import Subscription
from dailypapers.digest.compose import (
    ABSTRACT_CHARS,
    DigestRenderer,
    confirmation_mail,
    digest_links,
    manage_mail,
)
from dailypapers.digest.select import DigestPaper, Section, digest_period, period_key
from dailypapers.mail import Mail, build_message
from dailypapers.services.errors import Invalid
from dailypapers.services.subscriptions import check_token, confirm, subscribe

SECRET = b"compose-secret"
BASE = "https://papers.example.org"
FRIDAY = date(2025, 6, 20)
DAY = digest_period("daily", FRIDAY)
KEY = period_key(DAY)

HOSTILE = DigestPaper(
    arxiv_id="2506.10001",
    title='<script>alert("t")</script> & $x<y$ "quoted" Über',
    authors=("Ada <b>Lovelace</b>", "Alan Turing", "Grace Hopper", "Emmy Noether", "Kurt Gödel"),
    abstract=f"We bound {'the error of sampling ' * 9}by $\\sum_{{i<n}} a_i$ and {'more ' * 40}",
    upvotes=1,
    code_url='https://github.com/example/a?x=1&y="2"',
)
PLAIN = DigestPaper("2506.10002", "Robots that fold laundry", ("Ada",), "Short.", 7, None)


@pytest.fixture
def mail_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "base_url": BASE,
            "mail_from": "Daily Papers <digest@papers.example.org>",
            "site_name": "Lab <Papers> & Co",
        }
    )


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def subscriber(session: Session, email: str = "reader+digest@example.org") -> Subscription:
    sub = subscribe(session, email).subscription
    return confirm(session, sub)


def sections() -> list[Section]:
    return [
        Section("category:cs.CL", "category", "New in <cs.CL>", (HOSTILE, PLAIN)),
        Section("search::laundry", "search", "Search: laundry", (PLAIN,)),
    ]


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_of(html: str) -> _Html:
    parser = _Html()
    parser.feed(html)
    parser.close()
    return parser


def token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def part_links(text: str, path: str) -> list[str]:
    return re.findall(re.escape(BASE + path) + r"\?\S+", text)


def digest(settings: Settings, sub: Subscription) -> Mail:
    return DigestRenderer(settings, SECRET, DAY, "daily").mail(sub, sections(), KEY)


# --- the HTML part -------------------------------------------------------------------------------


def test_hostile_titles_authors_and_names_stay_text_in_the_html(
    mail_settings: Settings, session: Session
) -> None:
    html = digest(mail_settings, subscriber(session)).html or ""
    found = html_of(html)
    assert "script" not in found.tags and "b" not in found.tags
    text = " ".join(" ".join(found.text).split())
    assert '<script>alert("t")</script> & x<y "quoted" Über' in text  # as typed, math as text
    assert "New in <cs.CL>" in text and "Ada <b>Lovelace</b>" in text
    assert "Lab <Papers> & Co" in text  # the site's own name is escaped too
    assert 'https://github.com/example/a?x=1&y="2"' in found.hrefs  # no way out of the attribute
    assert "<math" not in html and "$" not in text  # mails carry no MathML: math reads as text


def test_html_part_is_ascii_with_its_css_inlined(mail_settings: Settings, session: Session) -> None:
    html = digest(mail_settings, subscriber(session)).html or ""
    assert html.isascii()  # non-ASCII as character references (the part goes as 7bit)
    assert "Über" in unescape(html) and "Über" not in html
    assert "<style" not in html and 'style="' in html
    found = html_of(html)
    assert found.tags.count("ol") == 2 and found.tags.count("h2") == 2  # readable without CSS
    assert f"{BASE}/papers/2506.10001" in found.hrefs
    assert "https://arxiv.org/pdf/2506.10002" in found.hrefs


# --- the text part -------------------------------------------------------------------------------


def test_text_part_is_plain_text_with_readable_math_and_clipped_abstracts(
    mail_settings: Settings, session: Session
) -> None:
    text = digest(mail_settings, subscriber(session)).text
    assert '1. <script>alert("t")</script> & x<y "quoted" Über' in text  # not HTML-escaped
    assert "&amp;" not in text and "&lt;" not in text and "<math" not in text
    lines = text.splitlines()
    assert "NEW IN <CS.CL>" in lines and "SEARCH: LAUNDRY" in lines
    abstract = next(line.strip() for line in lines if line.strip().startswith("We bound"))
    assert abstract.endswith(" …") and len(abstract) <= ABSTRACT_CHARS + 2
    assert "$" not in abstract  # never cut inside a formula, and math reads as text
    assert "   Ada <b>Lovelace</b>, Alan Turing, Grace Hopper and 2 more" in lines
    assert "   Ada" in lines  # short author lists in full
    assert f"   1 upvote · {BASE}/papers/2506.10001" in lines
    code = next(line for line in lines if "arXiv https://arxiv.org/abs/2506.10001" in line)
    assert 'Code https://github.com/example/a?x=1&y="2"' in code
    assert "Code" not in next(line for line in lines if "abs/2506.10002" in line)


# --- links and headers ---------------------------------------------------------------------------


def test_links_are_built_from_base_url_with_tokens_for_their_purpose(
    mail_settings: Settings, session: Session
) -> None:
    sub = subscriber(session)
    mail = digest(mail_settings, sub)
    found = {
        path: part_links(mail.text, path)
        for path in ("/digest/manage", "/digest/unsubscribe", "/digest/view")
    }
    assert all(len(urls) == 1 for urls in found.values()), found
    [manage], [leave], [view] = found.values()
    assert check_token(session, SECRET, token(manage), "manage").id == sub.id
    assert check_token(session, SECRET, token(leave), "unsubscribe").id == sub.id
    assert parse_qs(urlsplit(view).query)["period"] == [KEY]
    assert check_token(session, SECRET, token(view), "view", extra=KEY).id == sub.id
    for url, wrong in ((manage, "unsubscribe"), (leave, "manage"), (view, "manage")):
        with pytest.raises(Invalid):
            check_token(session, SECRET, token(url), wrong)  # type: ignore[arg-type]
    with pytest.raises(Invalid):  # a view link shows its own period only
        check_token(session, SECRET, token(view), "view", extra="day:2025-06-19")
    hrefs = html_of(mail.html or "").hrefs
    assert {manage, leave, view} <= set(hrefs)  # the HTML part carries the same links
    assert all(h.startswith((BASE, "https://arxiv.org/", "https://github.com/")) for h in hrefs)


def test_links_fall_back_to_the_local_address(settings: Settings, session: Session) -> None:
    local = settings.model_copy(update={"base_url": "", "host": "127.0.0.2", "port": 8123})
    links = digest_links(local, SECRET, subscriber(session), KEY)
    assert links.manage.startswith("http://127.0.0.2:8123/digest/manage?token=")
    assert links.view.startswith("http://127.0.0.2:8123/digest/view?period=day%3A2025-06-20&")


def test_rfc8058_headers_are_present_and_well_formed(
    mail_settings: Settings, session: Session
) -> None:
    sub = subscriber(session)
    mail = digest(mail_settings, sub)
    message = build_message(mail, mail_settings.mail_from)
    assert isinstance(message, EmailMessage)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message["List-Unsubscribe"])
    https, mailto = re.fullmatch(r"<([^<>\s]+)>, <([^<>\s]+)>", header).groups()  # type: ignore[union-attr]
    assert https == part_links(mail.text, "/digest/unsubscribe")[0]
    assert https.startswith(f"{BASE}/digest/unsubscribe?token=")
    address, _, query = mailto.removeprefix("mailto:").partition("?")
    assert address == "digest@papers.example.org"
    assert unquote(query) == "subject=unsubscribe reader+digest@example.org"
    message_id = message["Message-ID"]
    assert re.fullmatch(
        rf"<digest\.day\.2025-06-20\.{sub.id}\.[\w-]+@papers\.example\.org>", message_id
    )
    assert all(not value.defects for value in message.values() if hasattr(value, "defects"))
    assert message["Subject"] == "Lab <Papers> & Co: Friday 20 June 2025 · 2 papers"


def test_message_id_is_the_same_for_a_subscriber_and_period_only(
    mail_settings: Settings, session: Session
) -> None:
    one, two = subscriber(session, "one@example.org"), subscriber(session, "two@example.org")
    first = digest(mail_settings, one).message_id
    assert digest(mail_settings, one).message_id == first  # a re-send is recognisable
    assert digest(mail_settings, two).message_id != first
    week = digest_period("weekly", FRIDAY)
    weekly = DigestRenderer(mail_settings, SECRET, week, "weekly").mail(one, sections(), "w")
    assert weekly.message_id != first


def test_one_subscribers_links_never_reach_anothers_mail(
    mail_settings: Settings, session: Session
) -> None:
    """Sections are rendered once per run and shared: only the links differ between mails."""
    one, two = subscriber(session, "one@example.org"), subscriber(session, "two@example.org")
    renderer = DigestRenderer(mail_settings, SECRET, DAY, "daily")
    first, second = renderer.mail(one, sections(), KEY), renderer.mail(two, sections(), KEY)
    mine = re.findall(r"token=([\w.-]+)", first.text)
    assert len(mine) == 3
    for secret in mine:
        assert secret not in (second.html or "") and secret not in second.text
        assert secret not in str(second.headers)
    assert second.to == "two@example.org"
    assert "two%40example.org" in second.headers["List-Unsubscribe"]
    assert re.sub(r"token=[\w.-]+", "T", first.html or "") == re.sub(
        r"token=[\w.-]+", "T", second.html or ""
    )


def test_weekly_digest_names_its_week_and_counts_each_paper_once(
    mail_settings: Settings, session: Session
) -> None:
    week = digest_period("weekly", FRIDAY)
    mail = DigestRenderer(mail_settings, SECRET, week, "weekly").mail(
        subscriber(session), sections(), period_key(week)
    )
    assert mail.subject == "Lab <Papers> & Co: week of 16 June 2025 (2025-W25) · 2 papers"
    assert "The week's papers" in mail.text or "The week's papers" in unescape(mail.html or "")
    assert "weekly digest" in unescape(mail.html or "")
    one = DigestRenderer(mail_settings, SECRET, week, "weekly").mail(
        subscriber(session, "x@example.org"), sections()[1:], period_key(week)
    )
    assert one.subject.endswith("· 1 paper")


# --- the mails around a subscription -----------------------------------------------------------


def test_confirmation_mail_links_a_confirm_token_that_expires(
    mail_settings: Settings, session: Session
) -> None:
    sub = subscribe(session, "new@example.org").subscription
    mail = confirmation_mail(mail_settings, SECRET, sub)
    assert (mail.to, mail.subject) == ("new@example.org", "Confirm your Lab <Papers> & Co digest")
    [link] = part_links(mail.text, "/digest/confirm")
    assert link in html_of(mail.html or "").hrefs
    assert "Lab <Papers> & Co" in "".join(html_of(mail.html or "").text)  # escaped in the HTML
    assert check_token(session, SECRET, token(link), "confirm").id == sub.id
    later = utcnow() + timedelta(days=3, minutes=1)
    with pytest.raises(Invalid, match="expired"):
        check_token(session, SECRET, token(link), "confirm", now=later)
    with pytest.raises(Invalid):
        check_token(session, SECRET, token(link), "manage")


@pytest.mark.parametrize(
    ("search", "extra", "offer"),
    [
        (None, "", None),
        (("speech", ""), "&add_q=speech", 'to add the search "speech"'),
        (
            ('a&b <x> "y"', "cs.CL"),
            "&add_q=a%26b%20%3Cx%3E%20%22y%22&add_category=cs.CL",
            'to add the search "a&b <x> "y""',
        ),
    ],
)
def test_manage_mail_links_a_manage_token_and_offers_the_search(
    mail_settings: Settings,
    session: Session,
    search: tuple[str, str] | None,
    extra: str,
    offer: str | None,
) -> None:
    sub = subscriber(session)
    mail = manage_mail(mail_settings, SECRET, sub, search)
    assert mail.subject == "Your Lab <Papers> & Co digest"
    [link] = part_links(mail.text, "/digest/manage")
    assert link.endswith(extra) and check_token(session, SECRET, token(link), "manage") == sub
    parsed = html_of(mail.html or "")
    assert parsed.hrefs == [link] and parsed.tags.count("x") == 0
    shown = "".join(parsed.text)
    assert (offer in shown and offer in mail.text) if offer else "to add" not in shown
