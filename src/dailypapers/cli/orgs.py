"""``dailypapers orgs add|member|list``: organizations papers are submitted on behalf of."""

from __future__ import annotations

from typing import Annotated

import typer

from dailypapers.cli.common import DataDir, command_transaction, fail, load_settings, out
from dailypapers.cli.help import App

app = App(help="Manage organizations and their members.", no_args_is_help=True)


@app.command("add")
def orgs_add(
    slug: Annotated[
        str, typer.Argument(help="URL name: lowercase a-z, 0-9 and '-', 2-40 characters.")
    ],
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. 'Sakana AI'.")],
    url: Annotated[str | None, typer.Option("--url", help="Its web site (http/https).")] = None,
    logo: Annotated[str | None, typer.Option("--logo", help="A logo image URL.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an organization; its page is /organizations/SLUG."""
    from dailypapers.services.organizations import add_organization

    with command_transaction(load_settings(data_dir)) as session:
        org = add_organization(session, slug, name, site_url=url, logo_url=logo)
        line = f"organization {org.slug} ({org.name}) created"
    out.print(line, highlight=False, markup=False)


@app.command("member")
def orgs_member(
    slug: Annotated[str, typer.Argument(help="The organization's slug.")],
    email: Annotated[str, typer.Argument(help="Email of an existing account.")],
    owner: Annotated[bool, typer.Option("--owner", help="Role owner (default: member).")] = False,
    remove: Annotated[bool, typer.Option("--remove", help="Remove them instead.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Add a member (who may then submit papers on its behalf), or --remove one."""
    from dailypapers.services.accounts import get_user_by_email
    from dailypapers.services.organizations import (
        remove_member,
        require_organization,
        set_member,
    )

    with command_transaction(load_settings(data_dir)) as session:
        org = require_organization(session, slug)
        user = get_user_by_email(session, email)
        if user is None:
            raise fail(f"no account for {email!r}; create it with `dailypapers users add`")
        if remove:
            remove_member(session, org, user)
            line = f"{user.email} removed from {org.slug}"
        else:
            role = "owner" if owner else "member"
            set_member(session, org, user, role)
            line = f"{user.email} is now {role} of {org.slug}"
    out.print(line, highlight=False, markup=False)


@app.command("list")
def orgs_list(data_dir: DataDir = None) -> None:
    """List organizations with their member and paper counts."""
    from dailypapers.services.organizations import list_organizations

    with command_transaction(load_settings(data_dir)) as session:
        orgs = list_organizations(session)
    for org in orgs:
        line = f"{org.slug}  {org.name}  ({org.members} members, {org.papers} papers)"
        out.print(line, highlight=False, markup=False)
    if not orgs:
        out.print("no organizations yet; add one with `dailypapers orgs add SLUG --name NAME`")
