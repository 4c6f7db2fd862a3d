"""Papers as JSON in the shape of Hugging Face's papers API, so `huggingface_hub.HfApi` reads them.

`/api/papers/{id}` returns a paper object; `/api/daily_papers` and `/api/papers/search` return a
list of entries ``{"paper": {...}, "title", "summary", "publishedAt", "numComments", ...}``.
HF's extra fields come from what papers get here beyond arXiv (``PaperExtras``): ``thumbnail`` (entry)
and ``mediaUrls`` (page 1 of the PDF), ``ai_summary`` and ``ai_keywords`` (the *extracted* TL;DR
sentence and key phrases: words of the abstract, never generated), ``githubStars``; ``withdrawnAt``
when arXiv's comments announce a withdrawal. Each is left out while a paper does not have it (as
HF does), ``mediaUrls`` aside (a list, maybe empty). Our own additions (categories, arXiv and PDF
URLs, announce date) are extra keys HF clients ignore.
``numComments`` and the submitter (``submittedOnDailyBy`` / ``submittedBy``, shaped like HF's user
object) come from the caller, who loads them for a whole page at once.

:mod:`dailypapers.web.api_models` declares these shapes for ``/openapi.json``; a change here needs
the same change there (tests/test_api_contract.py validates every builder's output against them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dailypapers.db.models import Paper
from dailypapers.db.orgs import Organization
from dailypapers.services.card_extras import PaperExtras
from dailypapers.services.for_you import ForYouList
from dailypapers.sources.arxiv.withdrawn import is_withdrawn

NO_EXTRAS = PaperExtras()


def hf_datetime(day: date) -> str:
    """A date as HF's timestamp format (``2025-03-18T00:00:00.000Z``)."""
    return f"{day.isoformat()}T00:00:00.000Z"


def submitter_object(name: str) -> dict[str, Any]:
    """A user as HF's API shows a submitter (``huggingface_hub.User`` reads these keys)."""
    return {"fullname": name, "user": name, "type": "user"}


def org_object(org: Organization) -> dict[str, Any]:
    """An organization as HF's API shows it (``name`` is the slug, ``fullname`` the name)."""
    data: dict[str, Any] = {"_id": org.slug, "name": org.slug, "fullname": org.name}
    if org.logo_url:
        data["avatar"] = org.logo_url
    return data


def thumbnail_url(site: str, file: str) -> str:
    return f"{site}/thumbnails/{file}"


def paper_object(
    paper: Paper,
    *,
    num_comments: int = 0,
    submitted_by: str | None = None,
    extras: PaperExtras = NO_EXTRAS,
    site: str = "",
    organization: Organization | None = None,
) -> dict[str, Any]:
    """The ``paper`` object of HF's API for one paper (``organization``: submitted on behalf of)."""
    data: dict[str, Any] = {
        "id": paper.arxiv_id,
        "authors": [{"name": name, "hidden": False} for name in paper.authors],
        "publishedAt": hf_datetime(paper.published or paper.announced_on),
        "submittedOnDailyAt": hf_datetime(paper.announced_on),
        "title": paper.title,
        "summary": paper.abstract,
        "upvotes": paper.upvotes,
        "discussionId": paper.arxiv_id,
        "githubRepo": paper.code_url,
        "projectPage": paper.project_url,
        "numComments": num_comments,
        "categories": paper.category_list,
        "primaryCategory": paper.primary_category,
        "version": paper.version,
        "comment": paper.comment,
        "journalRef": paper.journal_ref,
        "doi": paper.doi,
        "arxivUrl": paper.abs_url,
        "pdfUrl": paper.pdf_url,
        "announcedOn": paper.announced_on.isoformat(),
    }
    thumbnail = extras.thumbnails.get(paper.id)
    data["mediaUrls"] = [thumbnail_url(site, thumbnail)] if thumbnail else []
    summary = extras.summaries.get(paper.id)
    if summary is not None:
        data["ai_summary"], data["ai_keywords"] = summary[1], summary[0]
    stars = extras.stars.get(paper.id)
    if stars is not None:
        data["githubStars"] = stars[0]
    if is_withdrawn(paper.comment):
        data["withdrawnAt"] = hf_datetime(paper.updated or paper.announced_on)
    if submitted_by:
        data["submittedOnDailyBy"] = submitter_object(submitted_by)
    if organization is not None:
        data["organization"] = org_object(organization)
    return data


def feed_entry(
    paper: Paper,
    *,
    num_comments: int = 0,
    submitted_by: str | None = None,
    extras: PaperExtras = NO_EXTRAS,
    site: str = "",
    organization: Organization | None = None,
) -> dict[str, Any]:
    """One entry of a daily-papers or search listing."""
    entry: dict[str, Any] = {
        "paper": paper_object(
            paper,
            num_comments=num_comments,
            submitted_by=submitted_by,
            extras=extras,
            site=site,
            organization=organization,
        ),
        "publishedAt": hf_datetime(paper.announced_on),
        "title": paper.title,
        "summary": paper.abstract,
        "numComments": num_comments,
        "isAuthorParticipating": False,
    }
    thumbnail = extras.thumbnails.get(paper.id)
    if thumbnail:
        entry["thumbnail"] = thumbnail_url(site, thumbnail)
    if submitted_by:
        entry["submittedBy"] = submitter_object(submitted_by)
    if organization is not None:
        entry["organization"] = org_object(organization)
    return entry


def reason_json(ranked: ForYouList, paper: Paper) -> dict[str, Any]:
    """Why ``paper`` is in a For-you list, as the API gives it: a followed author, or the user's
    nearest own papers, and the words that weighed most for it (``terms``: the user's model
    weights x the paper's tf-idf)."""
    near = ranked.reasons.get(paper.id, [])
    words = ranked.terms.get(paper.id, [])
    if paper.id in ranked.followed:
        text = f"You follow {ranked.followed[paper.id]}"
    elif near:
        text = "Near your paper" + ("s: " if len(near) > 1 else ": ")
        text += "; ".join(own.title for own in near)
    elif ranked.state == "ready":
        text = "Ranked by your model; none of your papers is close to it"
    elif ranked.state == "training":
        text = "In your categories or among the most upvoted (your model is being trained)"
    else:
        text = "In your categories or among the most upvoted (fewer than 3 signals so far)"
    if words:
        text += ". Words that weighed most: " + ", ".join(words)
    return {
        "text": text,
        "papers": [{"id": own.arxiv_id, "title": own.title} for own in near],
        "terms": words,
    }
