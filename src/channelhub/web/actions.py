"""The dashboard's actions (POST forms, each behind the token and the session's CSRF token: see
`channelhub.web.dashboard.Dashboard.action`). Each calls one service and answers with the sentence the next page
shows as its flash message, and where to go (a form's `back` field, a path on this site, takes precedence).

- `POST /channels/{name}/resume`: `services.channels.resume_one_channel` (the cause was fixed: run again);
- `POST /outbox/retry`: `services.outbox.retry_dead` for the form's `id` values, or every dead write when the
  form says `all=1`;
- `POST /quarantine/replay`: `services.orders.replay` for the form's `id` values, or all (which also maps the
  orders held for a line without a SKU again) when the form says `all=1`.

An error a service raises for a reason the operator can act on (ChannelhubError: a channel not running, one the
config lacks) becomes the flash message; anything else is a bug and answers 500.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from channelhub.errors import ChannelhubError
from channelhub.redact import scrub
from channelhub.services.channels import resume_one_channel
from channelhub.services.orders import ReplayResult, replay
from channelhub.services.outbox import retry_dead
from channelhub.web.dashboard import Dashboard, Form, first

MAX_IDS = 500


def _ids(form: Form) -> list[int] | None:
    """The form's `id` values as integers (None when one is not a whole number, or there are too many)."""
    values = [v.strip() for v in form.get("id", []) if v.strip()]
    if len(values) > MAX_IDS or not all(v.isdigit() and len(v) < 19 for v in values):
        return None
    return [int(v) for v in values]


def resume(dash: Dashboard, request: Request, form: Form) -> tuple[str, str]:
    name = request.path_params["name"]
    try:
        was = resume_one_channel(dash.hub, name)
    except ChannelhubError as exc:
        return f"cannot resume {name}: {scrub(exc.message)}", "/channels"
    if not was:
        return f"{name} was not stopped: nothing to resume", "/channels"
    return f"{name} resumed (it was stopped: {was})", "/channels"


def retry(dash: Dashboard, request: Request, form: Form) -> tuple[str, str]:
    everything = first(form, "all") == "1"
    ids = _ids(form)
    if ids is None or (not ids and not everything):
        return "nothing retried: give outbox ids or choose Retry all dead", "/outbox?status=dead"
    revived = retry_dead(dash.hub, None if everything else ids)
    message = f"{len(revived)} dead write(s) queued again" + (f": {', '.join(map(str, revived))}" if revived else "")
    missing = [] if everything else sorted(set(ids) - set(revived))
    if missing:
        message += f"; not dead (or no such write), left as they were: {', '.join(map(str, missing))}"
    return message, "/outbox?status=dead"


def describe_replay(result: ReplayResult) -> str:
    """One sentence for the flash: how many records were replayed and what became of them, per channel."""
    parts = []
    replayed = sum(r.records for r in result.reports.values())
    applied = sum(r.applied for r in result.reports.values())
    still = sum(r.quarantined for r in result.reports.values())
    if result.reports:
        parts.append(f"replayed {replayed}: applied {applied}, still quarantined {still}")
        parts += [
            f"{channel}: {r.orders.created} new order(s), {r.orders.held} held"
            for channel, r in sorted(result.reports.items())
        ]
    for channel, r in sorted(result.remapped.items()):
        parts.append(
            f"{channel}: {r.records} order(s) held for a line without a SKU mapped again: "
            f"{r.orders.confirmed} confirmed, {r.orders.held} still held"
        )
    parts += [f"{channel}: cannot replay: {scrub(why)}" for channel, why in sorted(result.not_running.items())]
    if result.missing:
        parts.append(f"not in quarantine: {', '.join(map(str, result.missing))}")
    return "; ".join(parts) or "nothing in quarantine to replay"


def replay_action(dash: Dashboard, request: Request, form: Form) -> tuple[str, str]:
    everything = first(form, "all") == "1"
    ids = _ids(form)
    if ids is None or (not ids and not everything):
        return "nothing replayed: give record ids or choose Replay all", "/quarantine"
    return describe_replay(replay(dash.hub, None if everything else ids)), "/quarantine"


def action_routes(dash: Dashboard) -> list[BaseRoute]:
    return [
        Route("/channels/{name}/resume", dash.action(resume), methods=["POST"]),
        Route("/outbox/retry", dash.action(retry), methods=["POST"]),
        Route("/quarantine/replay", dash.action(replay_action), methods=["POST"]),
    ]
