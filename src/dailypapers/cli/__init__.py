"""The command line, the front door: ``dailypapers demo``, ``serve``, ``import``, ``users``, ...

One module per command group (``server``: init, demo, serve, worker; ``imports``; ``arxiv``: ingest,
backfill, fetch, submissions; ``embed``; ``enrich``: thumbnails, keyphrases, stars, map; ``users``; ``orgs``; ``digest``;
``migrate_db``), sharing ``common`` (settings,
the database, progress bars, one-line errors). Commands call services; they never query the
database themselves. Every command reads the settings (environment ``DAILYPAPERS_*`` and ``.env``);
``--data-dir``, ``--host`` and ``--port`` override them. User errors print one sentence and exit
with code 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from dailypapers.cli import (
    arxiv,
    digest,
    embed,
    enrich,
    imports,
    migrate_db,
    orgs,
    server,
    users,
)
from dailypapers.cli.help import App

app = App(
    help="dailypapers: a self-hosted Daily Papers for arXiv (feeds, search, HF-compatible API).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(imports.app, name="import")
app.add_typer(users.app, name="users")
app.add_typer(orgs.app, name="orgs")
app.add_typer(arxiv.submissions_app, name="submissions")
app.add_typer(digest.app, name="digest")
COMMANDS: list[Callable[..., None]] = [
    server.init,
    server.demo,
    server.serve,
    arxiv.ingest,
    arxiv.backfill,
    arxiv.fetch,
    embed.embed,
    enrich.thumbnails,
    enrich.keyphrases,
    enrich.stars,
    server.worker,
]
for command in COMMANDS:
    app.command()(command)
app.command(name="map")(enrich.map_command)
app.command(name="migrate-db")(migrate_db.migrate_db)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "huey", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
