"""The operator dashboard: server-rendered pages (Jinja2, autoescape on), plain HTML forms, no JavaScript.

`dashboard_routes(hub)` is what `create_app` adds: the login, the pages (`channelhub.web.pages`), the actions
(`channelhub.web.actions`) and /static (the stylesheet: the login page needs it, so it is served to anyone; it
holds nothing but CSS).

Access (`channelhub.web.session`): every page and action needs the token, as a live session cookie from
POST /login or as `Authorization: Bearer <token>`. A page asked for without either redirects to
/login?next=<page>; an action (POST) without either is refused 401 and does nothing; a session's POST without
its CSRF token is refused 403 and does nothing. With no `[http] token` configured the login page says the
dashboard is off, and nothing else is served. Pages are sent with `Cache-Control: no-store` and a
Content-Security-Policy that allows no script at all, styles from /static only, and no framing.

Handlers do their database work in a worker thread (`run_in_threadpool`): the services block.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from channelhub.logs import get_logger
from channelhub.render import describe_write, fmt_age, fmt_time
from channelhub.runtime import Hub
from channelhub.web.session import COOKIE, Caller, Sessions, caller, clear_session_cookie, set_session_cookie

log = get_logger("channelhub.web.dashboard")

HERE = Path(__file__).parent
MAX_FORM_BYTES = 64 * 1024  # the largest form is a list of ids; anything bigger is not ours
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NAV = (("/", "Overview"), ("/orders", "Orders"), ("/stock", "Stock"), ("/channels", "Channels"),
       ("/outbox", "Outbox"), ("/quarantine", "Quarantine"))  # fmt: skip

Form = dict[str, list[str]]
PageHandler = Callable[["Dashboard", Request, Caller], Response]
ActionHandler = Callable[["Dashboard", Request, Form], tuple[str, str]]  # -> (flash message, where to go next)


def local_path(value: str | None, default: str = "/") -> str:
    """`value` when it is a path on this site ("/orders?x=1"), else `default`: a redirect never leaves the
    dashboard ("//evil.example", "https://...", "/\\evil" are refused)."""
    if not value or not value.startswith("/") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return default  # browsers drop tabs and newlines from a URL: "/\t/evil.example" is "//evil.example"
    if value.startswith(("//", "/\\")):
        return default
    return value


def template_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True,
        lstrip_blocks=True,
    )  # fmt: skip
    env.filters["time"] = fmt_time
    env.filters["age"] = fmt_age
    env.filters["url"] = lambda value: quote(str(value), safe="")
    env.globals["describe_write"] = describe_write
    env.globals["nav"] = NAV
    return env


class Dashboard:
    """What every page and action shares: the hub, the sessions, the templates."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        secret = hub.config.http.token
        self.token = secret.get_secret_value() if secret is not None else None
        self.sessions = Sessions(self.token)
        self.env = template_env()

    def render(
        self, request: Request, who: Caller | None, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """The page `template` with the layout's context: the CSRF token of the session (for every form), the
        flash messages kept for it (shown once), the current path for the nav."""
        sid = who.sid if who is not None else None
        html = self.env.get_template(template).render(
            csrf=self.sessions.csrf_token(sid) if sid else "",
            flashes=self.sessions.take_flashes(sid),
            path=request.url.path,
            logged_in=who is not None,
            here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)

    def page(self, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint that serves `handler` to a caller with the token and sends everyone else to /login."""

        async def endpoint(request: Request) -> Response:
            who = caller(request, self.sessions, self.token)
            if who is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            return await run_in_threadpool(handler, self, request, who)

        return endpoint

    def action(self, handler: ActionHandler) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint for a POST form: the token (401 without it), the session's CSRF token (403 without it:
        bearer callers are exempt, see `channelhub.web.session`), then `handler` in a worker thread, then a
        redirect (303: POST-redirect-GET) to where it says, with its message kept as the session's flash and
        sent in the X-Channelhub-Result header for API callers."""

        async def endpoint(request: Request) -> Response:
            who = caller(request, self.sessions, self.token)
            if who is None:
                return PlainTextResponse("log in first: POST /login, or send Authorization: Bearer", 401)
            form = await read_form(request)
            if form is None:
                return PlainTextResponse("the form is too large", 413)
            if not who.bearer and not (who.sid and self.sessions.csrf_ok(who.sid, first(form, "csrf"))):
                return PlainTextResponse("the form's CSRF token is missing or wrong: reload the page", 403)
            message, target = await run_in_threadpool(handler, self, request, form)
            self.sessions.flash(who.sid, message)
            go = local_path(first(form, "back"), target)
            return RedirectResponse(go, status_code=303, headers={"X-Channelhub-Result": _header_safe(message)})

        return endpoint


def _header_safe(message: str) -> str:
    return message.encode("ascii", "replace").decode("ascii").replace("\r", " ").replace("\n", " ")[:500]


async def read_form(request: Request) -> Form | None:
    """The urlencoded body as {field: [values]} (None when it passes MAX_FORM_BYTES). Parsed with the standard
    library: the dashboard's forms carry no files, so python-multipart is not needed."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=1000)


def first(form: Mapping[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


# --- login and logout -------------------------------------------------------------------------------------


def _login_routes(dash: Dashboard) -> list[BaseRoute]:
    async def login_page(request: Request) -> Response:
        who = caller(request, dash.sessions, dash.token)
        target = local_path(request.query_params.get("next"))
        if who is not None:
            return RedirectResponse(target, status_code=303)
        return dash.render(request, None, "login.html", enabled=dash.sessions.enabled, next=target, error="")

    async def login(request: Request) -> Response:
        form = await read_form(request) or {}
        target = local_path(first(form, "next"))
        if not dash.sessions.enabled:
            return dash.render(request, None, "login.html", status_code=403, enabled=False, next=target, error="")
        if not dash.sessions.token_is(first(form, "token").strip()):
            # Who tried, never what they typed: a near miss of the token is itself a secret.
            log.warning("dashboard login refused", client=request.client.host if request.client else "")
            error = "That is not the token. It is [http] token (or the file named by token_file) in the config."
            return dash.render(request, None, "login.html", status_code=401, enabled=True, next=target, error=error)
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(response, request, dash.sessions.open())
        return response

    async def logout(request: Request) -> Response:
        # No CSRF check: the worst a forged logout does is ask a person to log in again.
        dash.sessions.close(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        clear_session_cookie(response, request)
        return response

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


def dashboard_routes(hub: Hub) -> list[BaseRoute]:
    """Every route of the dashboard, for `create_app`."""
    from channelhub.web.actions import action_routes
    from channelhub.web.pages import page_routes

    dash = Dashboard(hub)
    return [
        *_login_routes(dash),
        *page_routes(dash),
        *action_routes(dash),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
