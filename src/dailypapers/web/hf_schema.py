"""Papers as JSON in the shape of Hugging Face's papers API, so `huggingface_hub.HfApi` reads them.

`/api/papers/{id}` returns a paper object; `/api/daily_papers` and `/api/papers/search` return a
list of entries ``{"paper": {...}, "title", "summary", "publishedAt", "numComments", ...}``.
Fields HF has that we do not track (thumbnails, AI summaries, GitHub stars) are left out; our own
additions (categories, arXiv and PDF URLs, announce date) are extra keys HF clients ignore.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dailypapers.db.models import Paper


def hf_datetime(day: date) -> str:
    """A date as HF's timestamp format (``2025-03-18T00:00:00.000Z``)."""
    return f"{day.isoformat()}T00:00:00.000Z"


def paper_object(paper: Paper) -> dict[str, Any]:
    """The ``paper`` object of HF's API for one paper."""
    return {
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
        "numComments": 0,
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


def feed_entry(paper: Paper) -> dict[str, Any]:
    """One entry of a daily-papers or search listing."""
    return {
        "paper": paper_object(paper),
        "publishedAt": hf_datetime(paper.announced_on),
        "title": paper.title,
        "summary": paper.abstract,
        "numComments": 0,
        "isAuthorParticipating": False,
    }
