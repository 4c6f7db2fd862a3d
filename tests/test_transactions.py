"""Who commits (docs/ARCHITECTURE.md, "Transactions: who commits"): whoever opened the session.

A function handed a Session never commits or rolls back; the request, the command or the job that
opened it does. Two guards: no function in the package that takes a Session calls ``commit`` or
``rollback`` on it (read from the source), and driving every service write function through one
session commits nothing (``Session.commit`` and ``rollback`` watched), so closing it leaves the
database as it was.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import dailypapers
import dailypapers.services
from dailypapers.db.models import Collection, Comment, LoginToken, RateEvent, Subscription, User
from dailypapers.db.orgs import Organization
from dailypapers.services import (
    accounts,
    claims,
    collections,
    comments,
    curation,
    follows,
    for_you,
    github_stars,
    library,
    map_data,
    model_state,
    organizations,
    paper_map,
    ratelimit,
    recommend,
    retrain,
    sample_activity,
    signals,
    submissions,
    subscriptions,
    summaries,
    terms,
    thumbnails,
    votes,
)
from dailypapers.services.errors import Conflict, Invalid, NotAllowed, NotFound
from dailypapers.services.papers import get_paper
from tests.helpers import OTHER, PAPER, add_community_papers, count

PACKAGE = Path(dailypapers.__file__).parent

# Functions that are handed a Session by the one who owns it and commit on purpose: a digest run
# opens its session and commits each claim and each mark (digest/send.py says why).
OWNERS = {
    ("digest/send.py", "DigestRun._claim"),
    ("digest/send.py", "DigestRun._deliver"),
    ("digest/send.py", "DigestRun._temporary"),
    ("digest/send.py", "DigestRun._permanent"),
}
SESSION_TYPES = {"Session", "SessionDep"}


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield f"{node.name}.{item.name}", item


def _session_params(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    params = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    return {
        p.arg
        for p in params
        if p.annotation is not None and ast.unparse(p.annotation) in SESSION_TYPES
    }


def test_no_function_handed_a_session_commits_or_rolls_back() -> None:
    checked, offenders = 0, []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        for name, function in _functions(ast.parse(path.read_text(), str(path))):
            sessions = _session_params(function)
            if not sessions or (where, name) in OWNERS:
                continue
            checked += 1
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("commit", "rollback")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in sessions
                ):
                    offenders.append(f"{where}:{node.lineno} {name} calls {node.func.attr}()")
    assert checked > 80  # the services, the routes, digest selection: the walk found them
    assert offenders == [], "the session's owner commits, not a function it is handed to"


def test_the_owners_listed_still_exist() -> None:
    for where, name in OWNERS:
        names = {found for found, _ in _functions(ast.parse((PACKAGE / where).read_text()))}
        assert name in names, f"{where}: {name} is gone; drop it from OWNERS"


# --- every service write, driven through one session -------------------------------------------

# Service functions taking a Session that only read (anything else must be driven below).
READS: set[Callable[..., Any]] = {
    accounts.user_for_session,
    accounts.list_api_tokens,
    accounts.list_users,
    accounts.account_summaries,
    accounts.get_user_by_email,
    collections.user_collections,
    collections.get_collection,
    collections.items,
    comments.comments_for,
    comments.comment_counts,
    submissions.pending,
    submissions.submitters,
    submissions.period_submitters,
    subscriptions.check_token,
    subscriptions.subscription_for,
    subscriptions.saved_searches,
    votes.paper_id_for,
    votes.voted_ids,
    github_stars.paused_until,
    github_stars.stars_for,
    summaries.summaries_for,
    thumbnails.thumbnail_files,
    thumbnails.pending,
    paper_map.current_layout,
    map_data.map_data,
    map_data.upvoted_indices,
    sample_activity.has_sample_activity,
    sample_activity.count_sample_activity,
    sample_activity.why_not,
    signals.feedback_for,
    library.library_counts,
    library.library_entries,
    library.pending_library_ids,
    signals.training_signals,
    signals.list_signals,
    retrain.train_user,
    recommend.user_categories,
    recommend.recommend,
    recommend.recent_window,
    recommend.starter_papers,
    organizations.get_organization,
    organizations.require_organization,
    organizations.is_member,
    organizations.user_organizations,
    organizations.organization_for_submission,
    organizations.list_organizations,
    organizations.organization_paper_ids,
    organizations.organization_page,
    organizations.paper_organizations,
    claims.pending_claims,
    claims.claimed_authors,
    claims.profile,
    claims.author_claimants,
    follows.followed_authors,
    follows.is_following,
    follows.followed_papers,
    for_you.for_you,
    terms.load_terms,  # the tf-idf index of For you, read by the ranking
    terms.stored_vocabulary,
    terms.term_rows,
}
READ_MODULES = {"authors", "card_extras", "feeds", "papers"}  # feeds and pages: no writes


def _session_functions() -> set[Callable[..., Any]]:
    """Every public function of dailypapers.services whose first parameter is a Session."""
    found: set[Callable[..., Any]] = set()
    for info in pkgutil.iter_modules(dailypapers.services.__path__):
        if info.name in READ_MODULES:
            continue
        module = importlib.import_module(f"dailypapers.services.{info.name}")
        for name, value in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(value):
                continue
            if value.__module__ != module.__name__:
                continue
            params = list(inspect.signature(value).parameters.values())
            if params and params[0].annotation in ("Session", Session):
                found.add(value)
    return found


@pytest.fixture
def ends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Session.commit / Session.rollback call from now on (none of them happens)."""
    calls: list[str] = []

    def watched(name: str) -> Callable[[Session], None]:
        def call(self: Session) -> None:
            calls.append(f"{name} from {sys._getframe(1).f_code.co_qualname}")

        return call

    monkeypatch.setattr(Session, "commit", watched("commit"))
    monkeypatch.setattr(Session, "rollback", watched("rollback"))
    return calls


class Called:
    """The code objects of every Python function called while it is on (sys.setprofile)."""

    def __init__(self) -> None:
        self.codes: set[CodeType] = set()

    def _profile(self, frame: FrameType, event: str, _arg: object) -> None:
        if event == "call":
            self.codes.add(frame.f_code)

    def __enter__(self) -> Called:
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *_exc: object) -> None:
        sys.setprofile(None)


def _drive_every_write(s: Session) -> None:
    added = sample_activity.add_sample_activity(s, {PAPER, OTHER, "2506.00003"})
    assert not isinstance(added, str) and added.readers
    sample_activity.remove_sample_activity(s)
    ada = accounts.add_user(s, "ada@example.org", display_name="Ada")
    root = accounts.add_user(s, "root@example.org", admin=True)
    accounts.update_profile(s, ada, "Ada Lovelace")
    with pytest.raises(Invalid):
        accounts.update_profile(s, ada, " ")

    raw = accounts.request_login(s, "new@example.org", next_url="/papers/trending")
    accounts.consume_login(s, raw)
    with pytest.raises(Invalid):  # used: refused without a rollback of the caller's work
        accounts.consume_login(s, raw)
    cookie = accounts.create_session(s, ada)
    accounts.end_session(s, cookie)
    token, raw_token = accounts.create_api_token(s, ada, "script")
    assert accounts.user_for_api_token(s, raw_token) is ada  # records when it was used
    accounts.revoke_api_token(s, ada, token.id)
    with pytest.raises(NotAllowed):
        accounts.revoke_api_token(s, root, token.id)
    other, _ = accounts.create_api_token(s, ada, "other")
    accounts.revoke_token_id(s, other.id)

    ratelimit.check(s, "vote_user", str(ada.id))
    assert votes.vote(s, ada, PAPER) == 1
    assert votes.unvote(s, ada, PAPER) == 0
    assert votes.toggle(s, ada, OTHER) == (True, 1)
    with pytest.raises(NotFound):
        votes.vote(s, ada, "2506.99999")

    reading = collections.create_collection(s, ada, "Reading", description="soon")
    collections.update_collection(s, ada, reading.id, name="Read", public=True)
    collections.add_item(s, ada, reading.id, PAPER, "section 3")
    with pytest.raises(Invalid):
        collections.add_item(s, ada, reading.id, OTHER, "x" * 3000)
    collections.remove_item(s, ada, reading.id, PAPER)
    collections.delete_collection(s, ada, reading.id)

    said = comments.add_comment(s, ada, PAPER, "a **bold** claim, $x^2$")
    comments.edit_comment(s, ada, said.id, "a careful claim")
    comments.hide_comment(s, root, said.id)
    comments.delete_comment(s, ada, said.id)
    with pytest.raises(Invalid):
        comments.add_comment(s, ada, PAPER, "   ")

    outcome = subscriptions.subscribe(s, "sub@example.org", search=("speech", "cs.CL"))
    sub = outcome.subscription
    subscriptions.confirm(s, sub)
    subscriptions.subscribe(s, "sub@example.org")  # active: only a manage mail, no change
    subscriptions.update_preferences(
        s, sub, frequency="weekly", trending=False, categories=["cs.LG"]
    )
    saved = subscriptions.add_saved_search(s, sub, "robots")
    subscriptions.remove_saved_search(s, sub, saved.id)
    subscriptions.unsubscribe(s, sub)
    subscriptions.subscribe(s, "sub@example.org")  # unsubscribed: pending again
    subscriptions.unsubscribe_email(s, "sub@example.org")

    assert signals.set_feedback(s, ada, PAPER, "less") == "less"
    assert signals.set_feedback(s, ada, PAPER, "more") == "more"
    assert signals.set_feedback(s, ada, PAPER, "clear") is None
    with pytest.raises(Invalid):
        signals.set_feedback(s, ada, PAPER, "maybe")
    votes.vote(s, ada, OTHER)
    signals.remove_signal(s, ada, "upvote", OTHER)
    signals.remove_signal(s, ada, "less", OTHER)
    model_state.signals_changed(s, ada.id)
    report = library.import_library(s, ada, f"{PAPER}\n2501.00001\n".encode())
    assert report.added["matched"] == 1 and report.added["pending"] == 1
    with pytest.raises(Invalid):
        library.import_library(s, ada, b"[{", "broken.json")
    assert library.clear_library(s, ada) == 2
    assert github_stars.add_linked_repos(s) == 0  # the community papers link no repository

    submissions.submit(s, ada, f"https://arxiv.org/abs/{PAPER}v2")
    submissions.submit(s, ada, "2507.00042")  # pending until fetched
    with pytest.raises(Invalid):
        submissions.submit(s, ada, "not a paper")

    lab = organizations.add_organization(s, "lab", "The Lab", site_url="https://lab.example")
    with pytest.raises(Conflict):  # taken: refused without a rollback of the caller's work
        organizations.add_organization(s, "lab", "Again")
    organizations.set_member(s, lab, ada, "owner")
    organizations.set_member(s, lab, root)
    organizations.remove_member(s, lab, root)
    on_behalf = organizations.organization_for_submission(s, ada, "lab")
    submissions.submit(s, ada, "2506.00003", organization_id=on_behalf)
    paper = get_paper(s, PAPER)
    assert paper is not None
    first = claims.claim_author(s, ada, paper, 0)
    with pytest.raises(Conflict):
        claims.claim_author(s, root, paper, 0)
    claims.decide(s, first.id, approve=True)
    claims.decide(s, claims.claim_author(s, root, paper, 1).id, approve=False)

    curation.set_curator(s, "ada@example.org", True)
    curation.feature(s, ada, OTHER)
    with pytest.raises(NotFound):
        curation.feature(s, root, "2506.99999")
    follows.follow_author(s, ada, str(paper.authors[0]))
    with pytest.raises(NotFound):
        follows.follow_author(s, ada, "Nobody Here")
    assert follows.unfollow_author(s, ada, str(paper.authors[0]))
    s.flush()


def test_service_writes_never_commit(engine: Engine, ends: list[str]) -> None:
    add_community_papers(engine)
    writes = _session_functions() - READS
    with Session(engine) as session, Called() as called:
        _drive_every_write(session)
    missed = sorted(f.__qualname__ for f in writes if f.__code__ not in called.codes)
    assert missed == [], "drive these service writes here (or list them in READS)"
    assert ends == []
    # Nothing was committed along the way, so closing the session left no trace.
    for model in (User, LoginToken, RateEvent, Collection, Comment, Subscription, Organization):
        assert count(engine, model) == 0, model.__name__


def test_the_read_list_names_only_service_functions() -> None:
    assert READS <= _session_functions()
