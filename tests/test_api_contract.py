"""The API's contract: the JSON builders, the models in web/api_models.py and /openapi.json agree.

The listing routes write the builders' dicts with orjson and never pass them through the models,
so these tests are what keeps the documented shape and the sent one the same.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine

from dailypapers.db.engine import make_session_factory
from dailypapers.db.models import Paper
from dailypapers.db.orgs import Organization
from dailypapers.services.accounts import add_user, create_api_token
from dailypapers.services.card_extras import PaperExtras
from dailypapers.services.submissions import submit
from dailypapers.web.api_models import (
    ApiError,
    FeedEntry,
    HfPaper,
    PendingSubmission,
    VoteAnswer,
)
from dailypapers.web.hf_schema import feed_entry, paper_object
from tests.helpers import add_papers, record

ENTRIES = TypeAdapter(list[FeedEntry])
FULL = {
    "version": 3,
    "published": date(2025, 6, 2),
    "code_url": "https://github.com/ada/engine",
    "project_url": "https://ada.example.org/engine",
    "comment": "12 pages, 3 figures; $x^2$",
    "journal_ref": "J. Engines 1 (2025)",
    "doi": "10.1000/engine",
}
BARE = dict.fromkeys(FULL)  # no version, first-version date, code, project page, comment, ...
EXTRAS = PaperExtras(  # everything papers get here beyond arXiv's metadata
    thumbnails={1: "2506/2506.00001v3.webp"},
    summaries={1: (["analytical engines", "LLM"], "We compute $\\sum_i x_i$.")},
    stars={1: (42, "ada/engine")},
)
WITHDRAWN = "This paper has been withdrawn by the authors"
OPTIONAL_PAPER_KEYS = {
    "submittedOnDailyBy",
    "organization",
    "ai_summary",
    "ai_keywords",
    "githubStars",
    "withdrawnAt",
}


def _paper(**fields: Any) -> Paper:
    values: dict[str, Any] = {
        "id": 1,
        "arxiv_id": "2506.00001",
        "title": "Analytical engines, “again” — ü",
        "abstract": "We compute $\\sum_i x_i$.",
        "authors": ["Ada Lovelace", "Charles Babbage"],
        "categories": "cs.LG stat.ML",
        "primary_category": "cs.LG",
        "announced_on": date(2025, 6, 17),
        "upvotes": 4,
    }
    return Paper(**(values | fields))


def _dump(value: Any, adapter: TypeAdapter[Any] = ENTRIES) -> Any:
    """Validated data back as JSON-ready dicts: aliases, and only the keys that were sent."""
    return adapter.dump_python(value, by_alias=True, exclude_unset=True)


@pytest.mark.parametrize(
    "fields", [FULL, BARE, FULL | {"comment": WITHDRAWN}], ids=["full", "bare", "withdrawn"]
)
@pytest.mark.parametrize("submitter", ["Ada", None], ids=["submitted", "listed"])
@pytest.mark.parametrize("extras", [EXTRAS, PaperExtras()], ids=["extras", "arxiv-only"])
@pytest.mark.parametrize("logo", ["https://sakana.ai/l.png", None, "no-org"])
def test_builders_give_exactly_the_models_shape(
    fields: dict[str, Any], submitter: str | None, extras: PaperExtras, logo: str | None
) -> None:
    paper = _paper(**fields)
    site = "http://papers.example.org"
    org = None if logo == "no-org" else Organization(slug="s-ai", name="S AI", logo_url=logo)
    entries = [
        feed_entry(
            paper,
            num_comments=2,
            submitted_by=submitter,
            extras=extras,
            site=site,
            organization=org,
        )
    ]
    assert ("organization" in entries[0]) == ("organization" in entries[0]["paper"])
    assert ("organization" in entries[0]) == (org is not None)
    assert ("thumbnail" in entries[0]) == bool(extras.thumbnails)
    assert ("ai_summary" in entries[0]["paper"]) == bool(extras.summaries)
    assert ("withdrawnAt" in entries[0]["paper"]) == (fields.get("comment") == WITHDRAWN)
    assert ("submittedBy" in entries[0]) == ("submittedOnDailyBy" in entries[0]["paper"])
    assert ("submittedBy" in entries[0]) == (submitter is not None)

    validated = ENTRIES.validate_python(entries)  # strict, no unknown keys, every key required
    assert _dump(validated) == entries
    # byte for byte, key order included: what FastAPI would send through the model
    assert ENTRIES.dump_json(validated, by_alias=True, exclude_unset=True) == orjson.dumps(entries)

    single = paper_object(
        paper, num_comments=2, submitted_by=submitter, extras=extras, site=site, organization=org
    )
    assert _dump(HfPaper.model_validate(single), TypeAdapter(HfPaper)) == single


def _entry() -> dict[str, Any]:
    paper = _paper(**FULL | {"comment": WITHDRAWN})
    org = Organization(slug="sakana", name="Sakana AI", logo_url="https://sakana.ai/logo.png")
    entry = feed_entry(
        paper, num_comments=1, submitted_by="Ada", extras=EXTRAS, site="http://x", organization=org
    )
    # as api._for_you_entries adds it to rankings for the caller (sort=for_you, recommendations)
    entry["reason"] = {"text": "Near your paper: X", "papers": [{"id": "2506.00001", "title": "X"}]}
    return entry


def _rename(data: dict[str, Any], old: str, new: str) -> None:
    data[new] = data.pop(old)


@pytest.mark.parametrize(
    "drift",
    [
        lambda e: e["paper"].update(thumbnail="x.png"),  # a new key the models do not document
        lambda e: e["paper"].pop("arxivUrl"),  # a key dropped
        lambda e: _rename(e["paper"], "arxivUrl", "arxiv_url"),  # renamed
        lambda e: e["paper"].update(upvotes="4"),  # a type changed
        lambda e: e["paper"]["authors"][0].update(affiliation="Cambridge"),
        lambda e: e.update(publishedAt="2025-06-17"),  # another date format
        lambda e: e.update(title=None),  # null where there is always a value
        lambda e: e.update(submittedBy=None),  # null instead of leaving the key out
        lambda e: e.update(organization=None),
        lambda e: e["organization"].update(avatar=None),
        lambda e: e["paper"]["organization"].pop("fullname"),
        lambda e: e["paper"].update(submittedOnDailyBy={"user": "Ada", "type": "user"}),
        lambda e: e["paper"].update(ai_summary=None),  # null instead of leaving it out
        lambda e: e["paper"].update(ai_keywords="engines"),  # a string, not a list
        lambda e: e["paper"].update(githubStars=-1),
        lambda e: e["paper"].update(withdrawnAt="2025-06-17"),
        lambda e: _rename(e["paper"], "mediaUrls", "media_urls"),
        lambda e: e.update(thumbnail=None),
    ],
)
def test_any_drift_from_the_models_fails(drift: Any) -> None:
    entry = _entry()
    drift(entry)
    with pytest.raises(ValidationError):
        ENTRIES.validate_python([entry])


def _token(engine: Engine) -> str:
    with make_session_factory(engine)() as session:
        user = add_user(session, "ada@example.org", display_name="Ada")
        submit(session, user, "2506.00001", day=date(2025, 6, 17))
        _token, raw = create_api_token(session, user, "contract test")
        session.commit()
    return raw


def test_every_answer_of_the_api_fits_its_model(client: TestClient, engine: Engine) -> None:
    extra = {k: v for k, v in FULL.items() if k not in ("published", "version")}
    add_papers(
        engine,
        record("2506.00001", "2025-06-17", **extra, version=2),
        record("2506.00002", "2025-06-17", published=date(2025, 6, 1)),
        record("2506.00003", "2025-06-17", title="Transformers, bare"),
    )
    auth = {"Authorization": f"Bearer {_token(engine)}"}

    listings = [
        client.get("/api/daily_papers", params={"date": "2025-06-17"}),
        client.get("/api/papers/search", params={"q": "transformers"}),
        client.get("/api/papers/2506.00002/similar"),
    ]
    for answer in listings:
        assert answer.status_code == 200 and answer.json(), answer.text
        assert answer.content == orjson.dumps(_dump(ENTRIES.validate_json(answer.content)))
    by_id = {e["paper"]["id"]: e for e in listings[0].json()}
    assert by_id["2506.00001"]["submittedBy"]["user"] == "Ada"
    assert (
        "submittedBy" not in by_id["2506.00002"]
        and by_id["2506.00002"]["paper"]["githubRepo"] is None
    )

    one = TypeAdapter(HfPaper)
    for arxiv_id in ("2506.00001", "2506.00003"):
        answer = client.get(f"/api/papers/{arxiv_id}")
        assert answer.content == orjson.dumps(_dump(one.validate_json(answer.content), one))
    assert client.post("/api/papers/index", json={"arxivId": "2506.00002"}, headers=auth).json()

    votes = TypeAdapter(VoteAnswer)
    for method, upvoted in (("POST", True), ("DELETE", False)):
        answer = client.request(method, "/api/papers/2506.00002/upvote", headers=auth)
        assert votes.validate_json(answer.content) == VoteAnswer(
            id="2506.00002", upvotes=int(upvoted), upvoted=upvoted
        )

    pending = client.post("/api/papers/index", json={"arxivId": "2507.00009"}, headers=auth)
    assert pending.status_code == 202
    assert PendingSubmission.model_validate_json(pending.content).status == "pending"

    errors = [
        client.get("/api/daily_papers", params={"date": "June"}),  # 400
        client.get("/api/papers/2506.99999"),  # 404
        client.post("/api/papers/2506.00002/upvote"),  # 401
        client.get("/feeds/daily.atom", params={"week": "nope"}),  # 400, as JSON
    ]
    assert [e.status_code for e in errors] == [400, 404, 401, 400]
    for answer in errors:
        assert ApiError.model_validate_json(answer.content).error


def _ref(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


def _json_schema(spec: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    content = spec["paths"][path][method]["responses"][status]["content"]
    assert list(content) == ["application/json"], (path, status)
    return dict(content["application/json"]["schema"])


def test_openapi_documents_the_real_fields(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    models = spec["components"]["schemas"]
    for path in ("/api/daily_papers", "/api/papers/search", "/api/papers/{arxiv_id}/similar"):
        listing = _json_schema(spec, path, "get", "200")
        assert listing["type"] == "array" and _ref(listing["items"]) == "FeedEntry"
    assert _ref(_json_schema(spec, "/api/papers/{arxiv_id}", "get", "200")) == "HfPaper"

    # the documented fields are the builders' keys, ours included, each with a description
    built = _entry()
    entry, paper = models["FeedEntry"], models["HfPaper"]
    assert list(entry["properties"]) == list(built)
    assert list(paper["properties"]) == list(built["paper"])
    assert {"categories", "primaryCategory", "arxivUrl", "pdfUrl", "announcedOn"} <= set(
        paper["properties"]
    )
    assert set(paper["required"]) == set(built["paper"]) - OPTIONAL_PAPER_KEYS
    optional = {"submittedBy", "thumbnail", "organization", "reason"}
    assert set(entry["required"]) == set(built) - optional
    for model in (
        "FeedEntry",
        "HfPaper",
        "HfAuthor",
        "HfUser",
        "HfOrganization",
        "VoteAnswer",
        "PendingSubmission",
        "ApiError",
    ):
        assert all(field.get("description") for field in models[model]["properties"].values()), (
            model
        )
    assert {"type": "null"} in paper["properties"]["githubRepo"]["anyOf"]  # sent as null
    for key in OPTIONAL_PAPER_KEYS:
        assert "anyOf" not in paper["properties"][key], key  # left out, never null
    assert "anyOf" not in entry["properties"]["thumbnail"]
    assert list(models["VoteAnswer"]["properties"]) == ["id", "upvotes", "upvoted"]
    assert list(models["PendingSubmission"]["properties"]) == ["arxivId", "status"]
    assert list(models["ApiError"]["properties"]) == ["error"]

    for method in ("post", "delete"):
        upvote = _json_schema(spec, "/api/papers/{arxiv_id}/upvote", method, "200")
        assert _ref(upvote) == "VoteAnswer"
    assert _ref(_json_schema(spec, "/api/papers/index", "post", "202")) == "PendingSubmission"
    assert _ref(_json_schema(spec, "/api/papers/index", "post", "200")) == "HfPaper"

    # every error is {"error": ...}; FastAPI's 422 is not documented (bad input answers 400)
    for path, operations in spec["paths"].items():
        if not path.startswith(("/api/papers", "/api/daily_papers")):
            continue
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (path, method)
            assert {"4XX", "400"} <= operation["responses"].keys(), (path, method)
            for status in operation["responses"]:
                if status.startswith("4"):
                    assert _ref(_json_schema(spec, path, method, status)) == "ApiError"
    assert _ref(_json_schema(spec, "/api/papers/{arxiv_id}", "get", "404")) == "ApiError"
    assert (
        "Retry-After" in spec["paths"]["/api/papers/index"]["post"]["responses"]["429"]["headers"]
    )


@pytest.mark.parametrize(
    "path", ["/feeds/daily.atom", "/feeds/search.atom", "/collections/{collection_id}.atom"]
)
def test_openapi_declares_atom_feeds(client: TestClient, path: str) -> None:
    responses = client.get("/openapi.json").json()["paths"][path]["get"]["responses"]
    assert list(responses["200"]["content"]) == ["application/atom+xml"]
    assert list(responses["4XX"]["content"]) == ["application/json"]  # errors stay JSON
    assert "422" not in responses


def test_atom_answers_keep_their_content_type(client: TestClient, engine: Engine) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17"))
    answer = client.get("/feeds/daily.atom")
    assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert answer.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<feed")
