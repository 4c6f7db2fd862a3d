"""The JSON API's answers as Pydantic models: the contract ``/openapi.json`` documents.

They describe exactly the dicts :mod:`dailypapers.web.hf_schema` builds (Hugging Face's papers-API
shapes plus our extra keys), the vote and pending-submission answers and the error body. Field
names are snake_case here; the JSON and the schema use their camelCase aliases (``to_camel``).
The models are strict and forbid unknown keys, so a test that validates the builders' output
against them fails as soon as the two drift apart.

The listing routes do not go through these models at run time: their JSON is written by orjson
straight from the builders' dicts (see ``api.json_bytes``), and the models only document them.
Keys that are sometimes absent (a submitter) are left out, never sent as ``null``: their default
None only stands for "absent" (an explicit null does not validate, and the schema shows neither
a default nor null), hence ``exclude_unset`` wherever a model is serialized.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict
from pydantic.fields import ComputedFieldInfo, FieldInfo
from pydantic.json_schema import SkipJsonSchema

HfTimestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$",
        json_schema_extra={"format": "date-time"},
        examples=["2025-06-17T00:00:00.000Z"],
    ),
]
IsoDate = Annotated[
    str,
    Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"}),
]
ArxivId = Annotated[str, Field(examples=["2506.21551"])]


def _wire_name(name: str, _field: FieldInfo | ComputedFieldInfo) -> str:
    return to_camel(name)


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("leave the key out rather than send null")
    return value


def _no_default(schema: JsonDict) -> None:
    schema.pop("default", None)


class ApiModel(BaseModel):
    """camelCase keys on the wire, exact types, no unknown keys."""

    model_config = ConfigDict(
        alias_generator=to_camel, field_title_generator=_wire_name, strict=True, extra="forbid"
    )


class HfAuthor(ApiModel):
    """One author, as HF lists them (we have names only, never HF accounts)."""

    name: str = Field(description="The author's name as arXiv gives it.")
    hidden: bool = Field(description="Always false here (HF hides some authors).")


class HfUser(ApiModel):
    """A user as HF's API shows a submitter (``huggingface_hub.User`` reads these keys)."""

    fullname: str = Field(description="Display name.")
    user: str = Field(description="User name (here the same display name).")
    type: Literal["user"] = Field(description='Always "user".')


_ABSENT = (BeforeValidator(_not_null), Field(json_schema_extra=_no_default))
# Keys sent with a value or left out, never null (None is only the "absent" default)
AbsentText = Annotated[str | SkipJsonSchema[None], *_ABSENT]
AbsentTexts = Annotated[list[str] | SkipJsonSchema[None], *_ABSENT]
AbsentCount = Annotated[int | SkipJsonSchema[None], *_ABSENT]
AbsentTimestamp = Annotated[HfTimestamp | SkipJsonSchema[None], *_ABSENT]

# A submitter: an object, or the key is left out; never null (None is only the "absent" default)
Submitter = Annotated[
    HfUser | SkipJsonSchema[None],
    BeforeValidator(_not_null),
    Field(json_schema_extra=_no_default),
]


class HfOrganization(ApiModel):
    """The organization a paper was submitted on behalf of (HF's ``organization`` object)."""

    id: str = Field(alias="_id", description="Its slug (HF sends an opaque id).")
    name: str = Field(description="Its slug, the URL name (/organizations/{name}).")
    fullname: str = Field(description="Its display name.")
    avatar: AbsentText = Field(default=None, description="Logo URL; absent when none.")


AbsentOrganization = Annotated[
    HfOrganization | SkipJsonSchema[None],
    BeforeValidator(_not_null),
    Field(json_schema_extra=_no_default),
]


class HfPaper(ApiModel):
    """A paper: HF's ``paper`` object, then our additions from ``categories`` on."""

    id: ArxivId = Field(description="The arXiv id, without version.")
    authors: list[HfAuthor] = Field(description="Authors in arXiv's order.")
    published_at: HfTimestamp = Field(
        description="First version's date on arXiv (the announce day when unknown)."
    )
    submitted_on_daily_at: HfTimestamp = Field(description="The day the paper is listed on.")
    title: str = Field(description="The title, as arXiv gives it (LaTeX kept).")
    summary: str = Field(description="The abstract, as arXiv gives it (LaTeX kept).")
    upvotes: int = Field(ge=0, description="Upvotes on this instance.")
    discussion_id: str = Field(description="The arXiv id (comments are per paper).")
    github_repo: str | None = Field(description="Code repository named in the abstract or comment.")
    project_page: str | None = Field(description="First other link in the abstract or comment.")
    num_comments: int = Field(ge=0, description="Comments on this instance.")
    categories: list[str] = Field(description="arXiv categories, primary first (ours).")
    primary_category: str = Field(description="arXiv's primary category (ours).")
    version: int | None = Field(description="Newest arXiv version we have (ours).")
    comment: str | None = Field(description="arXiv's comments field (ours).")
    journal_ref: str | None = Field(description="arXiv's journal reference (ours).")
    doi: str | None = Field(description="DOI, when arXiv has one (ours).")
    arxiv_url: str = Field(description="The arXiv abstract page (ours).")
    pdf_url: str = Field(description="The PDF on arXiv (ours).")
    announced_on: IsoDate = Field(description="Announce day, YYYY-MM-DD (ours).")
    media_urls: list[str] = Field(
        description="Images of the paper: page 1 of its PDF once the thumbnail is made, else empty."
    )
    ai_summary: AbsentText = Field(
        default=None,
        alias="ai_summary",
        description="TL;DR *extracted* from the abstract: its sentence that best states the "
        "contribution, chosen, not generated (HF's name); absent until computed.",
    )
    ai_keywords: AbsentTexts = Field(
        default=None,
        alias="ai_keywords",
        description="Key phrases extracted from the title and abstract (HF's name); absent until computed.",
    )
    github_stars: AbsentCount = Field(
        default=None, ge=0, description="Stars of the GitHub repository; absent when unknown."
    )
    withdrawn_at: AbsentTimestamp = Field(
        default=None,
        description="Set when arXiv's comments announce a withdrawal: that version's date.",
    )
    submitted_on_daily_by: Submitter = Field(
        default=None, description="Who put the paper in the feed; absent for arXiv's own listing."
    )
    organization: AbsentOrganization = Field(
        default=None, description="Submitted on behalf of this organization; absent when none."
    )


class ReasonPaper(ApiModel):
    """One of the caller's own papers (upvoted, saved, imported...) near a recommended one."""

    id: ArxivId = Field(description="The arXiv id, without version.")
    title: str = Field(description="Its title.")


class Reason(ApiModel):
    """Why a paper is recommended (``sort=for_you`` and ``/api/recommendations`` only)."""

    text: str = Field(description="One sentence, as the page shows it.")
    papers: list[ReasonPaper] = Field(description="The caller's papers nearest to it (0-2).")
    terms: list[str] = Field(
        description="The words (1-2-grams of titles and abstracts) that weighed most for it in "
        "the caller's model: its weights times the paper's tf-idf (0-3; empty without tf-idf)."
    )


NotNullReason = Annotated[
    Reason | SkipJsonSchema[None], BeforeValidator(_not_null), Field(json_schema_extra=_no_default)
]


class FeedEntry(ApiModel):
    """One entry of ``/api/daily_papers``, ``/api/papers/search`` and ``/similar``."""

    paper: HfPaper = Field(description="The paper itself.")
    published_at: HfTimestamp = Field(description="The day the entry is listed on.")
    title: str = Field(description="The paper's title.")
    summary: str = Field(description="The paper's abstract.")
    num_comments: int = Field(ge=0, description="Comments on this instance.")
    is_author_participating: bool = Field(description="Always false here.")
    thumbnail: AbsentText = Field(
        default=None, description="Page 1 of the PDF as a small WebP; absent until made."
    )
    submitted_by: Submitter = Field(
        default=None, description="Who submitted the paper; absent for arXiv's own listing."
    )
    organization: AbsentOrganization = Field(
        default=None, description="Submitted on behalf of this organization; absent when none."
    )
    reason: NotNullReason = Field(
        default=None, description="Why it is recommended; only in rankings for the caller."
    )


class CategoryCount(ApiModel):
    name: str = Field(description="An arXiv category.")
    count: int = Field(
        ge=1, description="Results in it (a paper counts in each of its categories)."
    )


class YearCount(ApiModel):
    year: int = Field(description="An announce year.")
    count: int = Field(ge=1, description="Results announced in it.")


class SearchFacets(ApiModel):
    categories: list[CategoryCount] = Field(description="Most results first.")
    years: list[YearCount] = Field(description="Newest year first.")


class FacetedSearch(ApiModel):
    """``/api/papers/search?facets=1``: the page of entries and counts of every result (not
    only this page) by category and by year. Only with ``facets=1``: by default the answer is the
    plain list HF clients read."""

    papers: list[FeedEntry] = Field(description="This page of results, as without facets.")
    facets: SearchFacets = Field(description="Counts over all results.")


class VoteAnswer(ApiModel):
    """The answer to an upvote or its removal."""

    id: ArxivId = Field(description="The arXiv id, without version.")
    upvotes: int = Field(ge=0, description="The paper's upvotes now.")
    upvoted: bool = Field(description="Whether the caller's upvote is now counted.")


class PendingSubmission(ApiModel):
    """202 answer to a submission of a paper this instance does not have yet."""

    arxiv_id: ArxivId = Field(description="The submitted arXiv id, without version.")
    status: Literal["pending", "missing", "ready"] = Field(
        description="`pending` while it is fetched from arXiv; `missing` if arXiv does not know it."
    )


class ApiError(ApiModel):
    """Every 4xx answer of the API and the feeds."""

    error: str = Field(description="One sentence saying what was wrong.")
