"""Use cases shared by the web app and the CLI. Services take an engine or session and plain values."""
