"""The web front: HTML pages, the HF-compatible JSON API and Atom feeds, built by create_app()."""
