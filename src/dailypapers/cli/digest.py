"""``dailypapers digest send|preview|unsubscribe``: email digests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dailypapers.cli.common import (
    DataDir,
    command_transaction,
    date_option,
    err,
    fail,
    load_settings,
    open_database,
    out,
)
from dailypapers.cli.help import App
from dailypapers.services.subscriptions import Frequency

app = App(
    help="Email digests: send a period's digests, preview one, unsubscribe an address.",
    no_args_is_help=True,
)

FrequencyOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        metavar="daily|weekly",
        help="daily (one announcement day) or weekly (its ISO week); default: daily for send, the subscription's own choice for preview.",
    ),
]
DigestDate = Annotated[
    str | None,
    typer.Option(
        "--date",
        metavar="YYYY-MM-DD",
        help="A day in the period; default: the newest announcement day.",
    ),
]


def _frequency(value: str | None) -> Frequency | None:
    if value is None:
        return None
    if value == "daily":
        return "daily"
    if value == "weekly":
        return "weekly"
    raise fail(f"--period: {value[:20]!r} is neither daily nor weekly")


@app.command("send")
def digest_send(
    period: FrequencyOption = None,
    day: DigestDate = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Choose and render every digest, count them; send nothing."),
    ] = False,
    resend_interrupted: Annotated[
        bool,
        typer.Option(
            "--resend-interrupted",
            help="Also send the digests an earlier run left uncertain (killed, or no answer from the server after the message went out: they may have arrived; look for their Message-ID in the mail server's log first; never while another run is going).",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Send the period's digests to confirmed subscribers, never one twice (safe to re-run).

    Exit code 1 when the mail server could not be reached or some mails are deferred, failed or
    uncertain (no answer after the message went out: not sent again).
    """
    from dailypapers.digest.send import send_digests

    frequency = _frequency(period) or "daily"
    chosen = date_option(day, "--date") if day else None
    settings = load_settings(data_dir)
    engine = open_database(settings)
    try:
        report = send_digests(
            engine,
            settings,
            frequency=frequency,
            day=chosen,
            dry_run=dry_run,
            resend_interrupted=resend_interrupted,
        )
    finally:
        engine.dispose()
    for problem in report.errors[:20]:
        err.print(f"note: {problem}", highlight=False, markup=False)
    out.print(report.line(), highlight=False, markup=False)
    if report.stopped or report.deferred or report.failed or report.uncertain:
        raise typer.Exit(1)


@app.command("preview")
def digest_preview(
    email: Annotated[str, typer.Argument(help="A subscriber's email address.")],
    period: FrequencyOption = None,
    day: DigestDate = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write to FILE instead of printing: the mail as sent (.eml), or its HTML for a .html file.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Render the digest a subscriber would get (sends nothing, records nothing)."""
    from dailypapers.digest.preview import NothingToPreview, preview_for
    from dailypapers.mail import build_message, message_bytes

    frequency = _frequency(period)
    chosen = date_option(day, "--date") if day else None
    settings = load_settings(data_dir)
    with command_transaction(settings) as session:
        try:
            mail = preview_for(session, settings, email, frequency, chosen)
        except NothingToPreview as exc:
            raise fail(str(exc), code=1) from None
    message = build_message(mail, settings.mail_from)
    if output is None:  # readable: the headers, the text part, then the HTML part
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        for part in (headers, "", mail.text, "--- HTML part ---", mail.html or ""):
            out.print(part, highlight=False, markup=False, soft_wrap=True)
        return
    html_only = output.suffix.lower() in (".html", ".htm")
    try:
        if html_only:
            output.write_text(mail.html or "", encoding="utf-8")
        else:
            output.write_bytes(message_bytes(mail, settings.mail_from))
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    err.print(f"wrote {output}", highlight=False)


@app.command("unsubscribe")
def digest_unsubscribe(
    email: Annotated[str, typer.Argument(help="The address to stop mailing.")],
    data_dir: DataDir = None,
) -> None:
    """Unsubscribe an address (e.g. after an unsubscribe mail to the sender's mailbox)."""
    from dailypapers.services.subscriptions import unsubscribe_email

    with command_transaction(load_settings(data_dir)) as session:
        address = unsubscribe_email(session, email).email
    out.print(f"{address}: unsubscribed", highlight=False, markup=False)
