"""Ranking: how papers are ordered beyond "newest first"."""
