"""Login, logout, password change, and the admin pages for users and API tokens (HTML pages;
the same services answer JSON in :mod:`facilities.accounts.api`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm, Role
from facilities.accounts.guards import permission_guard, require_actor
from facilities.accounts.schemas import (
    DEFAULT_TOKEN_DAYS,
    LoginForm,
    PasswordChange,
    TokenCreate,
    TokenForm,
    UserCreate,
    UserUpdate,
)
from facilities.accounts.scopes import ALL_SCOPES, READ_SCOPES, ScopeDomain
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.web.auth import SESSION_COOKIE, staff_guard
from facilities.web.forms import parse_form, submit
from facilities.web.params import IdParam
from facilities.web.responses import client_ip, redirect, render, safe_next


def session_cookie(request: Request[Any, Any, Any], value: str, max_age: int | None) -> Cookie:
    """The session cookie. It lives as long as the browser session (``max_age`` None): the
    server expires idle sessions itself, sliding on use, so a fixed lifetime here would log an
    active user out mid-shift."""
    settings = request.app.state.settings
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )


async def _user_options(actor: Any) -> list[tuple[int, str]]:
    users = await accounts.list_users(actor)
    return [(u.id, f"{u.username} ({u.display_name})") for u in users if u.is_active]


class AuthController(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(
        self, request: Request[Any, Any, Any], next: Annotated[str, QueryParameter()] = ""
    ) -> Any:
        if request.user is not None:
            return redirect(safe_next(next))
        return render(request, "accounts/login.html", form={"next": next}, errors={})

    @post("/login")
    async def login(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        settings = request.app.state.settings
        data, errors, values = await parse_form(request, LoginForm)
        values.pop("password", None)
        if data is None:
            return render(
                request, "accounts/login.html", status_code=400, form=values, errors=errors
            )
        try:
            user = await accounts.authenticate(
                data.username,
                data.password,
                client_ip(request),
                now,
                settings.login_max_attempts,
                settings.login_window_seconds,
            )
        except accounts.LoginThrottled as throttled:
            message = _("Too many failed attempts. Wait a few minutes and try again.")
            page = render(
                request,
                "accounts/login.html",
                status_code=429,
                form=values,
                errors={"password": message},
            )
            page.headers["Retry-After"] = str(throttled.retry_after)
            return page
        except ValidationFailed as exc:
            return render(
                request, "accounts/login.html", status_code=400, form=values, errors=exc.errors
            )
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            await accounts.end_session(old)
        token = await accounts.start_session(
            user,
            client_ip(request),
            request.headers.get("user-agent", ""),
            now,
            settings.session_hours,
        )
        response = redirect(
            safe_next(data.next), _("Welcome, %(name)s.") % {"name": user.display_name}
        )
        response.cookies.append(session_cookie(request, token, None))
        return response

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await accounts.end_session(token)
        response = redirect("/login", _("You are logged out."))
        response.cookies.append(session_cookie(request, "", 0))
        # nothing of this person stays in the browser (the field app's offline data above all)
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response

    @get("/account/password", guards=[staff_guard])
    async def password_form(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "accounts/password.html", errors={})

    @post("/account/password", guards=[staff_guard])
    async def change_password(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require_actor(request)
        token = request.cookies.get(SESSION_COOKIE)
        form = await submit(
            request,
            PasswordChange,
            lambda data: accounts.change_password(
                actor, data, accounts.digest(token) if token else None, now
            ),
        )
        if form.ok:
            return redirect("/staff", _("Your password was changed."))
        return render(
            request, "accounts/password.html", status_code=form.status_code, errors=form.errors
        )


MANAGE_USERS = [permission_guard(Perm.USERS_MANAGE)]
MANAGE_TOKENS = [permission_guard(Perm.TOKENS_MANAGE)]


def _conflict_values(user: Any) -> dict[str, str]:
    """The saved values of the fields on the user form, as the form sends them."""
    saved = accounts.snapshot(user)
    return {
        "display_name": saved["display_name"],
        "email": saved["email"],
        "role": str(saved["role"]),
        "language": saved["language"],
        "team": saved["team"],
        "is_active": "true" if saved["is_active"] else "",
    }


def _with_scopes(data: TokenForm, chosen: list[str]) -> TokenCreate:
    """The form's fields plus its ticked scope boxes; a value no box offers is refused."""
    if not set(chosen) <= set(ALL_SCOPES):
        raise ValidationFailed({"scopes": _("Choose one of the listed options.")})
    return TokenCreate(**msgspec.structs.asdict(data), scopes=list(chosen))


class UserAdminController(Controller):
    """Admin pages. Each route is guarded by its permission before the body is read, so a
    refused user gets a 403 whatever they send (the services check again)."""

    path = "/admin"
    guards = [staff_guard]
    include_in_schema = False

    @get("/users", guards=MANAGE_USERS)
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        users = await accounts.list_users(require_actor(request))
        return render(request, "accounts/users.html", users=users)

    @get("/users/new", guards=MANAGE_USERS)
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        return render(
            request,
            "accounts/user_form.html",
            user=None,
            form={"role": Role.VIEWER, "language": "zh_CN"},
            errors={},
            conflict=False,
        )

    @post("/users", guards=MANAGE_USERS)
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require_actor(request)
        form = await submit(
            request, UserCreate, lambda data: accounts.create_user(actor, data, now)
        )
        form.values.pop("password", None)
        if form.ok and form.result is not None:
            user = form.result
            return redirect("/admin/users", _("User %(name)s created.") % {"name": user.username})
        return render(
            request,
            "accounts/user_form.html",
            status_code=form.status_code,
            user=None,
            form=form.values,
            errors=form.errors,
            conflict=False,
        )

    @get("/users/{user_id:int}/edit", guards=MANAGE_USERS)
    async def edit(self, request: Request[Any, Any, Any], user_id: IdParam) -> Template:
        user = await accounts.get_user(user_id)
        form = accounts.snapshot(user) | {"version": user.version}
        return render(
            request, "accounts/user_form.html", user=user, form=form, errors={}, conflict=False
        )

    @post("/users/{user_id:int}", guards=MANAGE_USERS)
    async def update(
        self, request: Request[Any, Any, Any], user_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        form = await submit(
            request, UserUpdate, lambda data: accounts.update_user(actor, user_id, data, now)
        )
        if form.ok:
            return redirect("/admin/users", _("Changes saved."))
        user = await accounts.get_user(user_id)
        values = form.values
        current = None
        if form.conflict:
            # Keep what was typed, show what is saved now beside it, and carry the current
            # version so that saving the form again, after comparing, goes through.
            current = _conflict_values(user)
            values = {**values, "version": str(user.version)}
        return render(
            request,
            "accounts/user_form.html",
            status_code=form.status_code,
            user=user,
            form=values,
            errors=form.errors,
            conflict=form.conflict,
            current=current,
        )

    @get("/tokens", guards=MANAGE_TOKENS)
    async def tokens(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "accounts/tokens.html",
            tokens=await accounts.list_api_tokens(actor, now),
            user_options=await _user_options(actor),
            scope_domains=list(ScopeDomain),
            new_token=None,
            errors={},
            # read-only everywhere to start with: writing is ticked on purpose
            form={"expires_in_days": DEFAULT_TOKEN_DAYS, "scopes": list(READ_SCOPES)},
        )

    @post("/tokens", guards=MANAGE_TOKENS)
    async def create_token(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        chosen = [s for s in (await request.form()).getall("scopes", []) if isinstance(s, str)]
        form = await submit(
            request,
            TokenForm,
            lambda data: accounts.create_api_token(actor, _with_scopes(data, chosen), now),
        )
        new_token = form.result
        response = render(
            request,
            "accounts/tokens.html",
            status_code=201 if new_token else form.status_code,
            tokens=await accounts.list_api_tokens(actor, now),
            user_options=await _user_options(actor),
            scope_domains=list(ScopeDomain),
            new_token=new_token,
            errors=form.errors,
            form={**form.values, "scopes": [] if new_token else chosen},
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @post("/tokens/{token_id:int}/revoke", guards=MANAGE_TOKENS)
    async def revoke_token(
        self, request: Request[Any, Any, Any], token_id: IdParam, now: dt.datetime
    ) -> Redirect:
        await accounts.revoke_api_token(require_actor(request), token_id, now)
        return redirect("/admin/tokens", _("Token revoked."))
