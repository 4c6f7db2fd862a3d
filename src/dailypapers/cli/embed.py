"""``dailypapers embed``: vectors for search by meaning, in the foreground with a progress bar."""

from __future__ import annotations

from typing import Annotated

import typer

from dailypapers.cli.common import (
    DataDir,
    check_model,
    count_progress,
    err,
    fail,
    load_settings,
    open_database,
    out,
)
from dailypapers.runtime import Runtime


def embed(
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=4096, help="Texts per model call.")
    ] = 64,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Embed at most this many papers.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Embed papers for search by meaning (newest first; resumable: a re-run continues)."""
    from dailypapers.embeddings import EmbeddingModelError
    from dailypapers.embeddings.store import count_pending
    from dailypapers.services.embedding import run_embedding

    settings = load_settings(data_dir)
    check_model(settings)
    engine = open_database(settings)
    pending = count_pending(engine, settings.embedding_model)
    total = min(pending, limit) if limit else pending
    out.print(f"{total:,} papers to embed with {settings.embedding_model}", highlight=False)
    try:
        with count_progress("embedding", total) as advance:
            run = run_embedding(
                engine, settings, Runtime(), batch_size=batch_size, limit=limit, progress=advance
            )
    except EmbeddingModelError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        err.print("interrupted: what was embedded is kept; run it again to continue")
        raise typer.Exit(130) from None
    out.print(run.line(), highlight=False)
    if run.busy:
        raise typer.Exit(1)
