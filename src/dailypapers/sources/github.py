"""GitHub's REST API, for one thing: a repository's star count.

:func:`repo_name` reads ``owner/repo`` from a link a paper gives. :class:`GithubClient` asks
``GET /repos/{owner}/{repo}`` with the ETag of the last answer (``If-None-Match``: an unchanged
repository answers 304, which GitHub does not count against the rate limit), follows a renamed
repository's redirect (its new ``full_name`` comes back), and sorts every answer into one
:class:`RepoAnswer` kind, reading ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` (and a
secondary limit's ``Retry-After``) so the caller can stop and resume after the reset. Nothing
here raises for a bad answer: a malformed body or a server error is an ``error`` answer with one
sentence.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

import httpx

REPO_URL = re.compile(
    r"^https?://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})",
    re.IGNORECASE,
)
NOT_REPOS = {"orgs", "sponsors", "topics", "features", "about", "settings", "marketplace"}

Kind = Literal["ok", "unchanged", "gone", "limited", "error"]


def repo_name(url: str | None) -> str | None:
    """``owner/repo`` (lower case: GitHub's names are case-insensitive) from a GitHub link, or
    None for anything else (GitLab, a user page, an organisation)."""
    if not url:
        return None
    found = REPO_URL.match(url.strip())
    if found is None:
        return None
    owner, repo = found.group(1), found.group(2).removesuffix(".git")
    if owner.lower() in NOT_REPOS or repo in ("", ".", ".."):
        return None
    return f"{owner}/{repo}".lower()


@dataclass(frozen=True, slots=True)
class RepoAnswer:
    kind: Kind
    full_name: str | None = None  # GitHub's name now (differs after a rename)
    stars: int | None = None
    etag: str | None = None
    remaining: int | None = None  # requests left in this rate-limit window
    reset_at: float | None = None  # epoch seconds the window resets (or a Retry-After ends)
    message: str = ""


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


class GithubClient:
    def __init__(
        self,
        api_url: str,
        *,
        token: str = "",
        user_agent: str = "dailypapers",
        timeout_s: float = 20.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": user_agent,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.api_url = api_url.rstrip("/")
        self._http = httpx.Client(
            headers=headers,
            timeout=timeout_s,
            transport=transport,
            follow_redirects=True,  # a renamed or transferred repository answers 301
            max_redirects=3,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GithubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def repo(self, name: str, etag: str | None = None) -> RepoAnswer:
        """Ask for ``owner/repo``; never raises for what GitHub (or the network) answers."""
        headers = {"If-None-Match": etag} if etag else {}
        try:
            response = self._http.get(f"{self.api_url}/repos/{name}", headers=headers)
        except httpx.HTTPError as exc:
            return RepoAnswer("error", message=f"no answer from GitHub ({type(exc).__name__})")
        return read_answer(response)


def read_answer(response: httpx.Response, now: float | None = None) -> RepoAnswer:
    """Sort one answer of ``GET /repos/{owner}/{repo}`` into a :class:`RepoAnswer`."""
    now = time.time() if now is None else now
    remaining = _int(response.headers.get("X-RateLimit-Remaining"))
    reset = _int(response.headers.get("X-RateLimit-Reset"))
    reset_at = float(reset) if reset is not None else None
    status = response.status_code

    def answer(kind: Kind, message: str = "", **found: object) -> RepoAnswer:
        return RepoAnswer(kind, remaining=remaining, reset_at=reset_at, message=message, **found)  # type: ignore[arg-type]

    if status == 304:
        return answer("unchanged", etag=response.headers.get("ETag"))
    if status in (403, 429):
        wait = _int(response.headers.get("Retry-After"))
        if wait is not None:
            return RepoAnswer(
                "limited", remaining=remaining, reset_at=now + wait, message="secondary rate limit"
            )
        if remaining == 0 or status == 429:
            until = reset_at if reset_at is not None else now + 3600
            return RepoAnswer("limited", remaining=0, reset_at=until, message="rate limit used up")
        return answer("error", f"GitHub refused the request (HTTP {status})")
    if status in (404, 410, 451):
        return answer("gone", f"the repository is gone (HTTP {status})")
    if status != 200:
        return answer("error", f"GitHub answered HTTP {status}")
    try:
        data = response.json()
    except ValueError:
        return answer("error", "GitHub's answer is not JSON")
    stars = data.get("stargazers_count") if isinstance(data, dict) else None
    full_name = data.get("full_name") if isinstance(data, dict) else None
    if not isinstance(stars, int) or isinstance(stars, bool) or stars < 0:
        return answer("error", "GitHub's answer has no star count")
    if not isinstance(full_name, str) or repo_name(f"https://github.com/{full_name}") is None:
        return answer("error", "GitHub's answer has no repository name")
    return answer("ok", full_name=full_name, stars=stars, etag=response.headers.get("ETag"))
