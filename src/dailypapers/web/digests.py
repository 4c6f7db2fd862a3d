"""Digest subscriptions on the web: subscribe (form on every page, JSON API), confirm, manage,
unsubscribe in one click, and "view in browser".

Subscribing answers the same whatever the address's state, so nobody learns who subscribed. The
links from mails carry signed tokens (see services/subscriptions.py): pages opened from them need
no sign-in. Opening a link changes nothing; a button (a POST) does. The one exception to the CSRF
rule is ``POST /digest/unsubscribe``: RFC 8058 one-click unsubscribing is a POST from the mail
provider without cookies, and the signed token in the URL is its authority (csrf.py exempts it).
Mails are background tasks: they go out after the response, so only once the request's
transaction committed the subscription their links name. The form answers an
invalid address or search with itself (400), not an error: the request commits, so the attempt
counts against the limits, as a submission's does.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import Subscription
from dailypapers.digest.compose import confirmation_mail, manage_mail
from dailypapers.digest.preview import digest_mail
from dailypapers.mail import Mail, MailError, MailSender
from dailypapers.services.accounts import normalise_email
from dailypapers.services.errors import Invalid
from dailypapers.services.ratelimit import check
from dailypapers.services.subscriptions import (
    ACTIVE,
    BOUNCING,
    Purpose,
    SubscribeOutcome,
    add_saved_search,
    check_search,
    check_token,
    confirm,
    make_token,
    remove_saved_search,
    saved_searches,
    subscribe,
    unsubscribe,
    update_preferences,
)
from dailypapers.web.auth import client_ip
from dailypapers.web.deps import RequestRoute, SessionDep, SettingsDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.params import RowId
from dailypapers.web.responses import mails_go_to_the_log, redirect, render

log = logging.getLogger(__name__)
router = APIRouter(route_class=RequestRoute)
pages = APIRouter(include_in_schema=False, route_class=RequestRoute)
TokenQuery = Annotated[str, Query(max_length=200)]
TokenField = Annotated[str, Form(max_length=200)]
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
UNSUBSCRIBE_PATH = "/digest/unsubscribe"
# a digest shown in the browser is the mail's HTML: inline styles (css-inline), no script at all
MAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DIGEST_LINKS_OFF = (
    "digest subscriptions are off until this instance's public address is set "
    "(DAILYPAPERS_BASE_URL), which the links in their mails need"
)


def _send(sender: MailSender, mail: Mail) -> None:
    try:
        sender.send(mail)
    except MailError as exc:
        log.error("could not send a digest subscription mail: %s", exc)


def _subscribe(
    request: Request,
    background: BackgroundTasks,
    session: Session,
    settings: Settings,
    email: str,
    *,
    frequency: str = "daily",
    search: tuple[str, str] | None = None,
) -> SubscribeOutcome:
    """Rate-limit, subscribe, and queue the mail the outcome asks for (after the response).

    Its links are built from ``DAILYPAPERS_BASE_URL``, else ``http://HOST:PORT``: the latter only
    while the server listens on a loopback address (the same rule as sign-in links)."""
    if settings.links_need_base_url:
        raise HTTPProblem(503, DIGEST_LINKS_OFF)
    check(session, "subscribe_ip", client_ip(request))
    address = normalise_email(email)
    check(session, "subscribe_email", address)  # for every address alike: the answer tells nothing
    outcome = subscribe(session, address, frequency=frequency, search=search)
    if outcome.mail == "none":
        return outcome
    secret: bytes = request.app.state.secret_key
    sub = outcome.subscription
    if outcome.mail == "confirm":
        mail = confirmation_mail(settings, secret, sub)
    else:
        mail = manage_mail(settings, secret, sub, outcome.search)
    background.add_task(_send, request.app.state.mail_sender, mail)
    return outcome


@pages.post("/subscribe")
def subscribe_form(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    q: Annotated[str, Form(max_length=500)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    try:
        search = check_search(q, category) if q.strip() else None
        outcome = _subscribe(request, background, session, settings, email, search=search)
    except Invalid as exc:
        context = {"email": email, "q": q, "category": category, "error": exc.message}
        return render(request, "digest_subscribe.html", context, status=400)
    address = outcome.subscription.email
    sent = {"email": address, "mail_to_log": mails_go_to_the_log(request)}
    return render(request, "digest_sent.html", sent, headers=NO_STORE)


class SubscriptionRequest(BaseModel):
    email: str = Field(max_length=320, description="The address to send digests to.")
    frequency: str = Field(default="daily", description="`daily` or `weekly`.")


@router.post("/api/subscriptions", status_code=202, tags=["digests"])
def subscribe_api(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[SubscriptionRequest, Body()],
) -> JSONResponse:
    """Subscribe an address to digests: a confirmation mail goes out (double opt-in).

    The answer is the same whether or not the address is already subscribed."""
    _subscribe(request, background, session, settings, body.email, frequency=body.frequency)
    message = "if this address can receive mail, a confirmation link is on its way"
    return JSONResponse({"status": "pending", "message": message}, status_code=202)


@pages.get("/digest/subscribe")
def subscribe_page(
    request: Request,
    q: Annotated[str, Query(max_length=500)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The subscribe form; with ``q`` it offers to add that search to the digest."""
    context = {"email": "", "q": q.strip(), "category": category.strip()}
    return render(request, "digest_subscribe.html", context)


def _subscription(
    request: Request, session: Session, token: str, purpose: Purpose, extra: str = ""
) -> Subscription:
    """The subscription a link names, or a clear 400 page (tampered, unknown or expired)."""
    try:
        return check_token(session, request.app.state.secret_key, token, purpose, extra=extra)
    except Invalid as exc:
        links = [("/digest/subscribe", "Subscribe again")]
        raise HTTPProblem(400, exc.message, links=links, headers=NO_STORE) from None


@pages.get("/digest/confirm")
def confirm_page(request: Request, session: SessionDep, token: TokenQuery = "") -> Response:
    """The page a confirmation link opens: a button, so a mail scanner opening it confirms nothing."""
    sub = _subscription(request, session, token, "confirm")
    context = {"token": token, "email": sub.email, "active": sub.status == ACTIVE}
    return render(request, "digest_confirm.html", context, headers=NO_STORE)


@pages.post("/digest/confirm")
def confirm_post(request: Request, session: SessionDep, token: TokenField) -> Response:
    sub = _subscription(request, session, token, "confirm")
    confirm(session, sub)
    return redirect(_manage_url(request, sub), flash="digest-confirmed")


def _manage_url(request: Request, sub: Subscription) -> str:
    return f"/digest/manage?token={make_token(request.app.state.secret_key, sub, 'manage')}"


@pages.get("/digest/manage")
def manage_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: TokenQuery = "",
    add_q: Annotated[str, Query(max_length=500)] = "",
    add_category: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    sub = _subscription(request, session, token, "manage")
    context = {
        "sub": sub,
        "token": token,
        "searches": saved_searches(session, sub),
        "suggested": settings.category_list,
        "add_q": add_q.strip(),
        "add_category": add_category.strip(),
        "bouncing": sub.status == BOUNCING,
        "unsubscribe_token": make_token(request.app.state.secret_key, sub, "unsubscribe"),
    }
    return render(request, "digest_manage.html", context, headers=NO_STORE)


@pages.post("/digest/manage")
def manage_post(
    request: Request,
    session: SessionDep,
    token: TokenField,
    frequency: Annotated[str, Form(max_length=10)] = "daily",
    trending: Annotated[bool, Form()] = False,
    categories: Annotated[list[str] | None, Form(max_length=400)] = None,
    more_categories: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    sub = _subscription(request, session, token, "manage")
    chosen = [*(categories or []), more_categories]
    update_preferences(session, sub, frequency=frequency, trending=trending, categories=chosen)
    if sub.status != ACTIVE and sub.status != BOUNCING:
        confirm(session, sub)  # the manage link proves the address, like a confirmation
    return redirect(_manage_url(request, sub), flash="digest-saved")


@pages.post("/digest/searches")
def add_search(
    request: Request,
    session: SessionDep,
    token: TokenField,
    q: Annotated[str, Form(max_length=500)],
    category: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    sub = _subscription(request, session, token, "manage")
    add_saved_search(session, sub, q, category)
    return redirect(_manage_url(request, sub), flash="digest-search-added")


@pages.post("/digest/searches/{search_id:int}/remove")
def remove_search(
    request: Request, session: SessionDep, token: TokenField, search_id: RowId
) -> Response:
    sub = _subscription(request, session, token, "manage")
    remove_saved_search(session, sub, search_id)
    return redirect(_manage_url(request, sub), flash="digest-search-removed")


@pages.get(UNSUBSCRIBE_PATH)
def unsubscribe_page(request: Request, session: SessionDep, token: TokenQuery = "") -> Response:
    sub = _subscription(request, session, token, "unsubscribe")
    context = {"token": token, "email": sub.email, "done": sub.status not in ("active", "pending")}
    return render(request, "digest_unsubscribe.html", context, headers=NO_STORE)


@pages.post(UNSUBSCRIBE_PATH)
def unsubscribe_post(request: Request, session: SessionDep, token: TokenQuery = "") -> Response:
    """One click (RFC 8058): the mail provider POSTs ``List-Unsubscribe=One-Click`` to the URL
    from the header; the page's own button POSTs to the same URL. No cookie, no CSRF token."""
    sub = _subscription(request, session, token, "unsubscribe")
    unsubscribe(session, sub)
    manage = _manage_url(request, sub)
    context = {"token": token, "email": sub.email, "done": True, "manage_url": manage}
    return render(request, "digest_unsubscribe.html", context, headers=NO_STORE)


@pages.get("/digest/view")
def view_in_browser(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: TokenQuery = "",
    period: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The digest a subscriber got for a period, as a web page."""
    sub = _subscription(request, session, token, "view", extra=period)
    mail = digest_mail(session, settings, request.app.state.secret_key, sub, period)
    if mail is None or mail.html is None:
        raise HTTPProblem(404, "this digest has no papers", headers=NO_STORE)
    return HTMLResponse(mail.html, headers={**NO_STORE, "Content-Security-Policy": MAIL_CSP})
