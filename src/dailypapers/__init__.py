"""dailypapers: a self-hosted Daily Papers — arXiv feeds, search and an HF-compatible API."""

__version__ = "0.1.0"
