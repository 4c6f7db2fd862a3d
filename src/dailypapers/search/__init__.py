"""Search: the keyword index (SQLite FTS5, BM25) and, later, vectors and hybrid fusion."""
