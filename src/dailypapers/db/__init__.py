"""Storage: engine and sessions, ORM models, migrations."""
