"""Sign-in by emailed link, sign-out, and the settings page (display name, API tokens).

A sign-in link opens a page with a button: only the POST uses the link, so a mail scanner that
follows links does not spend it. The mail is sent after the response (a background task), so only
once the request's transaction committed the link, and the answer is the same whether or not the
address has an account. An invalid address is answered with the form (400), not raised: the
request commits, so the attempt counts against the client's limit of sign-in requests.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import Response
from markupsafe import escape

from dailypapers.config import Settings, is_loopback
from dailypapers.mail import Mail, MailError, MailSender
from dailypapers.services.accounts import (
    consume_login,
    create_api_token,
    create_session,
    end_session,
    list_api_tokens,
    login_link,
    normalise_email,
    request_login,
    revoke_api_token,
    update_profile,
)
from dailypapers.services.errors import Invalid
from dailypapers.services.ratelimit import check
from dailypapers.web.auth import (
    SESSION_COOKIE,
    CurrentUser,
    RequireUser,
    clear_session_cookie,
    client_ip,
    https_cookies,
    set_session_cookie,
)
from dailypapers.web.csrf import set_csrf_cookie
from dailypapers.web.deps import RequestRoute, SessionDep, SettingsDep
from dailypapers.web.errors import LOGIN_HEADINGS, HTTPProblem
from dailypapers.web.params import RowId
from dailypapers.web.responses import local_path, mails_go_to_the_log, redirect, render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False, route_class=RequestRoute)
Email = Annotated[str, Form(max_length=320)]
NextField = Annotated[str, Form(max_length=500)]
Token = Annotated[str, Form(max_length=200)]
NO_STORE = {"Cache-Control": "no-store"}


def login_mail(settings: Settings, to: str, link: str) -> Mail:
    """The sign-in mail: the link, how long it lasts, what to do if you did not ask."""
    site = settings.site_name
    text = (
        f"Sign in to {site} with this link (it works once, for 15 minutes):\n\n{link}\n\n"
        "If you did not ask to sign in, ignore this mail.\n"
    )
    html = (
        f"<p>Sign in to {escape(site)} with this link (it works once, for 15 minutes):</p>"
        f'<p><a href="{escape(link)}">Sign in to {escape(site)}</a></p>'
        "<p>If you did not ask to sign in, ignore this mail.</p>"
    )
    return Mail(to=to, subject=f"Sign in to {site}", text=text, html=html)


def _send(sender: MailSender, mail: Mail) -> None:
    try:
        sender.send(mail)
    except MailError as exc:
        log.error("could not send the sign-in mail: %s", exc)


MAIL_LINKS_OFF = (
    "sign-in by email is off until this instance's public address is set "
    "(DAILYPAPERS_BASE_URL); sign-in links are never built from the request's Host header"
)


def _base_url(request: Request, settings: Settings) -> str:
    """Where sign-in links point: the configured public URL, or this machine when it is local.

    The request's Host header is the client's to choose, so a link is built from it only when
    the server listens on a loopback address and the Host names one (``localhost``, 127.0.0.1,
    ::1): checked as an address, so ``127.attacker.example`` is not one. Anything else would let
    a forged Host receive someone's sign-in token.
    """
    if settings.base_url:
        return settings.base_url
    if settings.links_need_base_url or not is_loopback(request.url.hostname or ""):
        raise HTTPProblem(503, MAIL_LINKS_OFF)
    return str(request.base_url).rstrip("/")


@router.get("/login")
def login_form(
    request: Request,
    user: CurrentUser,
    next: str = "",
    reason: Annotated[str, Query(alias="for", max_length=20)] = "",
) -> Response:
    heading = LOGIN_HEADINGS.get(reason, "Sign in")
    context = {"next": local_path(next) or "", "email": "", "heading": heading}
    return render(request, "login.html", context)


@router.post("/login")
def login_request(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    email: Email,
    next: NextField = "",
) -> Response:
    next_url = local_path(next)
    base_url = _base_url(request, settings)
    check(session, "login_ip", client_ip(request))
    try:
        address = normalise_email(email)
    except Invalid as exc:
        context = {"next": next_url or "", "email": email, "error": exc.message}
        return render(request, "login.html", context, status=400)
    check(session, "login_email", address)
    token = request_login(session, address, next_url=next_url)
    mail = login_mail(settings, address, login_link(base_url, token))
    background.add_task(_send, request.app.state.mail_sender, mail)
    sent = {"email": address, "mail_to_log": mails_go_to_the_log(request)}
    return render(request, "login_sent.html", sent, headers=NO_STORE)


@router.get("/login/confirm")
def login_confirm_page(
    request: Request, token: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """The page a sign-in link opens: a button, so merely opening the link signs nobody in."""
    headers = {**NO_STORE, "Referrer-Policy": "no-referrer"}
    return render(request, "login_confirm.html", {"token": token}, headers=headers)


@router.post("/login/confirm")
def login_confirm(
    request: Request, session: SessionDep, settings: SettingsDep, token: Token
) -> Response:
    try:
        user, next_url = consume_login(session, token)
    except Invalid as exc:
        raise HTTPProblem(
            400, exc.message, links=[("/login", "Ask for a new sign-in link")]
        ) from None
    raw = create_session(session, user)
    response = redirect(local_path(next_url) or "/", flash="signed-in")
    secure = https_cookies(request, settings)
    set_session_cookie(response, raw, secure=secure)
    set_csrf_cookie(response, request.app.state.secret_key, raw, secure=secure)  # rotated
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        end_session(session, raw)
    response = redirect("/", flash="signed-out")
    secure = https_cookies(request, settings)
    clear_session_cookie(response, secure=secure)
    set_csrf_cookie(response, request.app.state.secret_key, "", secure=secure)
    return response


def _settings_page(
    request: Request, session: SessionDep, user: RequireUser, **extra: object
) -> Response:
    context = {"tokens": list_api_tokens(session, user), "new_token": None, **extra}
    return render(request, "settings.html", context, headers=NO_STORE)


@router.get("/settings")
def settings_page(request: Request, session: SessionDep, user: RequireUser) -> Response:
    return _settings_page(request, session, user)


@router.post("/settings")
def save_settings(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    display_name: Annotated[str, Form(max_length=200)],
) -> Response:
    update_profile(session, user, display_name)
    return redirect("/settings", flash="profile-saved")


@router.post("/settings/tokens")
def new_api_token(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    name: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    """Create a token and show it this once (only its hash is kept)."""
    check(session, "write_ip", client_ip(request))
    _, raw = create_api_token(session, user, name.strip() or "API token")
    return _settings_page(request, session, user, new_token=raw)


@router.post("/settings/tokens/{token_id:int}/revoke")
def revoke_token(
    request: Request, session: SessionDep, user: RequireUser, token_id: RowId
) -> Response:
    revoke_api_token(session, user, token_id)
    return redirect("/settings", flash="token-revoked")
