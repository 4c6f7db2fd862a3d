"""``dailypapers users add|curator|token|revoke|list``: accounts, the curator role, API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from dailypapers.cli.common import DataDir, command_transaction, err, fail, load_settings, out
from dailypapers.cli.help import App
from dailypapers.services.accounts import AccountSummary

app = App(help="Manage accounts and API tokens.", no_args_is_help=True)


@app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    admin: Annotated[
        bool, typer.Option("--admin", help="Make an admin (hides comments); without it: not.")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    curator: Annotated[
        bool,
        typer.Option(
            "--curator",
            help="Make a curator (features papers in the curated daily feed); without it, an "
            "existing account keeps its role.",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create an account (or update its admin flag and name); they sign in by email link."""
    from dailypapers.services.accounts import add_user

    with command_transaction(load_settings(data_dir)) as session:
        user = add_user(
            session, email, admin=admin, display_name=name, curator=True if curator else None
        )
        line = (
            f"{user.email}: {_role(user.is_admin, user.is_curator)}, shown as {user.display_name!r}"
        )
    out.print(line, highlight=False)


@app.command("curator")
def users_curator(
    email: Annotated[str, typer.Argument(help="Email of an existing account.")],
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the curator role back instead.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Grant an existing account the curator role (it features papers on the curated daily
    feed, DAILYPAPERS_DAILY_FEED=curated), or take it back with --remove."""
    from dailypapers.services.curation import set_curator

    with command_transaction(load_settings(data_dir)) as session:
        user = set_curator(session, email, not remove)
        line = f"{user.email}: {_role(user.is_admin, user.is_curator)}"
    out.print(line, highlight=False)


def _role(admin: bool, curator: bool) -> str:
    return "admin" if admin else ("curator" if curator else "user")


@app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(help="Email of an existing account.")],
    name: Annotated[str, typer.Option("--name", help="A label to recognise it by.")] = "cli",
    data_dir: DataDir = None,
) -> None:
    """Create an API token (Authorization: Bearer ...); it is printed once, store it now."""
    from dailypapers.services.accounts import create_api_token, get_user_by_email

    with command_transaction(load_settings(data_dir)) as session:
        user = get_user_by_email(session, email)
        if user is None:
            raise fail(f"no account for {email!r}; create it with `dailypapers users add`")
        token, raw = create_api_token(session, user, name)
        label = f"token {token.id} ({token.name}) for {user.email}:"
    err.print(label, highlight=False)
    out.print(raw, highlight=False, markup=False)


@app.command("revoke")
def users_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id, as `users list` shows it.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    from dailypapers.services.accounts import revoke_token_id

    with command_transaction(load_settings(data_dir)) as session:
        token = revoke_token_id(session, token_id)
        line = f"token {token.id} ({token.name}) revoked"
    out.print(line, highlight=False)


@app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List accounts with their role, last sign-in and active API tokens."""
    from dailypapers.services.accounts import account_summaries

    with command_transaction(load_settings(data_dir)) as session:
        accounts = account_summaries(session)
    for account in accounts:
        out.print(_account_line(account), highlight=False, markup=False)
    if not accounts:
        out.print("no accounts yet; add one with `dailypapers users add EMAIL`", highlight=False)


def _account_line(account: AccountSummary) -> str:
    seen = (
        f"last sign-in {account.last_login_at:%Y-%m-%d %H:%M} UTC"
        if account.last_login_at
        else "never signed in"
    )
    role = _role(account.is_admin, account.is_curator)
    line = f"{account.email}  {account.display_name!r}  {role}  {seen}"
    if account.tokens:
        line += "  tokens: " + ", ".join(f"{tid} ({name})" for tid, name in account.tokens)
    return line
