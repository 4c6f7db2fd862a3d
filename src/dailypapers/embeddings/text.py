"""What gets embedded: the one place that turns a paper into the text its vector stands for."""

from __future__ import annotations

import hashlib

# Characters of a query that are embedded: MiniLM sees at most ~256 tokens anyway, and a 10 kB
# query should cost no more than a short one.
QUERY_MAX_CHARS = 1000


def paper_text(title: str, abstract: str) -> str:
    """Title and abstract, the text a paper's vector is computed from."""
    title = " ".join(title.split())
    abstract = " ".join(abstract.split())
    return f"{title}. {abstract}" if abstract else title


def text_digest(text: str) -> bytes:
    """A short fingerprint of embedded text: a paper is re-embedded only when this changes."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def query_text(query: str) -> str:
    """A search query as it is embedded: whitespace collapsed, cut to ``QUERY_MAX_CHARS``."""
    return " ".join(query.split())[:QUERY_MAX_CHARS]
