"""Comments: Markdown with math, sanitised; who may edit, delete and hide; counts."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, User
from dailypapers.services.accounts import add_user
from dailypapers.services.comments import (
    MAX_BODY,
    add_comment,
    comment_counts,
    comments_for,
    delete_comment,
    edit_comment,
    hide_comment,
    render_comment,
)
from dailypapers.services.errors import Invalid, NotAllowed, NotFound
from tests.helpers import add_papers, record

NOW = datetime(2025, 6, 17, 9, 0)


def test_script_raw_html_and_javascript_links_are_neutralised() -> None:
    html = render_comment(
        "Nice! <script>alert(1)</script> <b onclick=x>raw</b> <img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) [data](data:text/html,x) <javascript:alert(1)> "
        "[rel](/logout) [ok](https://example.org/a?b=1) <mailto:ada@example.org>"
    )
    assert "<script" not in html and "<b" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, never run
    assert (
        'href="javascript' not in html and 'href="data' not in html and 'href="/logout"' not in html
    )
    assert '<a href="https://example.org/a?b=1" rel="nofollow ugc noopener">ok</a>' in html
    assert 'href="mailto:ada@example.org" rel="nofollow ugc noopener"' in html


def test_math_renders_as_mathml_outside_code() -> None:
    html = render_comment("We get $x^2$ and $$\\sum_i a_i$$ but `$y$` and \\$5 stay, $ 3 $ too.")
    assert '<math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math>' in html
    assert '<math display="block">' in html
    assert "<code>$y$</code>" in html and "$5" in html and "$ 3 $" in html


def test_math_cannot_smuggle_markup() -> None:
    html = render_comment(r"$\text{<img src=x onerror=alert(1)>}$ and $\href{javascript:x}{y}$")
    assert "<img" not in html and "href=" not in html


def test_markdown_subset() -> None:
    html = render_comment(
        "# Not a heading\n\n**bold** *it*\n\n> quote\n\n1. a\n2. b\n\n```\ncode\n```"
    )
    assert "<h1" not in html and "# Not a heading" in html
    for tag in (
        "<strong>bold</strong>",
        "<em>it</em>",
        "<blockquote>",
        "<ol>",
        "<li>a</li>",
        "<pre><code>",
    ):
        assert tag in html


@pytest.fixture
def people(engine: Engine) -> tuple[int, int, int]:
    add_papers(engine, record("2506.00001", "2025-06-17"), record("2506.00002", "2025-06-17"))
    with Session(engine) as session, session.begin():
        return (
            add_user(session, "ada@example.org", display_name="Ada Lovelace").id,
            add_user(session, "bob@example.org").id,
            add_user(session, "root@example.org", admin=True).id,
        )


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    assert user is not None
    return user


def test_add_and_read_with_permissions(engine: Engine, people: tuple[int, int, int]) -> None:
    with Session(engine) as session:
        ada, bob, root = (_user(session, i) for i in people)
        comment = add_comment(
            session, ada, "2506.00001", "  Hello $x^2$ <script>x</script> ", now=NOW
        )
        assert comment.body == "Hello $x^2$ <script>x</script>" and "<math" in comment.body_html
        paper_id = comment.paper_id
        [as_bob] = comments_for(session, paper_id, bob)
        assert (as_bob.author_name, as_bob.author_initials) == ("Ada Lovelace", "AL")
        assert (as_bob.can_edit, as_bob.can_delete, as_bob.can_hide) == (False, False, False)
        [as_ada] = comments_for(session, paper_id, ada)
        assert (as_ada.can_edit, as_ada.can_delete, as_ada.can_hide) == (True, True, False)
        [as_root] = comments_for(session, paper_id, root)
        assert (as_root.can_edit, as_root.can_delete, as_root.can_hide) == (False, True, True)
        assert len(comments_for(session, paper_id, None)) == 1


def test_bad_bodies_and_unknown_papers(engine: Engine, people: tuple[int, int, int]) -> None:
    with Session(engine) as session:
        ada = _user(session, people[0])
        for bad in ("", "   \n ", "x" * (MAX_BODY + 1)):
            with pytest.raises(Invalid):
                add_comment(session, ada, "2506.00001", bad)
        with pytest.raises(NotFound):
            add_comment(session, ada, "2506.99999", "hi")
        add_comment(session, ada, "2506.00001", "x" * MAX_BODY)


def test_only_the_author_edits(engine: Engine, people: tuple[int, int, int]) -> None:
    with Session(engine) as session:
        ada, bob, root = (_user(session, i) for i in people)
        comment = add_comment(session, ada, "2506.00001", "first", now=NOW)
        for other in (bob, root):
            with pytest.raises(NotAllowed):
                edit_comment(session, other, comment.id, "hijacked")
        edited = edit_comment(session, ada, comment.id, "**second**", now=NOW)
        assert edited.body_html == "<p><strong>second</strong></p>\n" and edited.edited_at == NOW
        with pytest.raises(Invalid):
            edit_comment(session, ada, comment.id, " ")
        with pytest.raises(NotFound):
            edit_comment(session, ada, 12345, "x")


def test_author_or_admin_deletes(engine: Engine, people: tuple[int, int, int]) -> None:
    with Session(engine) as session:
        ada, bob, root = (_user(session, i) for i in people)
        mine = add_comment(session, ada, "2506.00001", "mine", now=NOW)
        other = add_comment(session, ada, "2506.00001", "another", now=NOW)
        with pytest.raises(NotAllowed):
            delete_comment(session, bob, mine.id)
        delete_comment(session, ada, mine.id)
        delete_comment(session, root, other.id)
        assert comments_for(session, mine.paper_id, root) == []
        with pytest.raises(NotFound):
            delete_comment(session, ada, mine.id)
        with pytest.raises(NotFound):
            edit_comment(session, ada, mine.id, "back from the dead")


def test_admins_hide_and_only_admins_see_hidden(
    engine: Engine, people: tuple[int, int, int]
) -> None:
    with Session(engine) as session:
        ada, bob, root = (_user(session, i) for i in people)
        comment = add_comment(session, bob, "2506.00001", "spam", now=NOW)
        add_comment(session, ada, "2506.00001", "fine", now=NOW)
        for not_admin in (ada, bob):
            with pytest.raises(NotAllowed):
                hide_comment(session, not_admin, comment.id)
        hide_comment(session, root, comment.id, now=NOW)
        paper_id = comment.paper_id
        assert [v.comment.body for v in comments_for(session, paper_id, bob)] == ["fine"]
        assert [v.comment.body for v in comments_for(session, paper_id, None)] == ["fine"]
        seen = comments_for(session, paper_id, root)
        assert [(v.comment.body, v.comment.hidden_at) for v in seen] == [
            ("spam", NOW),
            ("fine", None),
        ]
        assert comment_counts(session, [paper_id]) == {paper_id: 1}
        hide_comment(session, root, comment.id, hidden=False)
        assert comment_counts(session, [paper_id]) == {paper_id: 2}


def test_counts_per_paper(engine: Engine, people: tuple[int, int, int]) -> None:
    with Session(engine) as session:
        ada = _user(session, people[0])
        ids = list(session.scalars(select(Paper.id).order_by(Paper.arxiv_id)))
        for text in ("a", "b", "c"):
            add_comment(session, ada, "2506.00001", text)
        gone = add_comment(session, ada, "2506.00001", "d")
        delete_comment(session, ada, gone.id)
        assert comment_counts(session, ids) == {ids[0]: 3}
        assert comment_counts(session, []) == {}
