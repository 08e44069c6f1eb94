"""The status page: alerts firing and pending, rule health, silences, and a page per alert.

Server-rendered HTML with its charts as inline SVG: no script, no external asset; pages
refresh themselves, except the forms, so typing is never lost. Templates autoescape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
from jinja2 import Environment, PackageLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from alertd.clock import Clock
from alertd.model import AlertState, Status
from alertd.notify.inhibit import InhibitRule
from alertd.notify.silences import Silence, from_record
from alertd.rules.ruleset import RuleSet
from alertd.rules.units import humanize_duration
from alertd.server import status_view as view
from alertd.server.silence_forms import (
    FormError,
    SilenceForm,
    check_token,
    create_silence,
    expire_silence,
    local_path,
    read_form,
)
from alertd.server.svg_chart import chart
from alertd.store.base import Store

HISTORY_POINTS = 120
REFRESH_SECONDS = 30
# Rows of alerts on `/`: beyond this a storm is a count, not a page nobody can read (and
# that would take seconds to render); every alert keeps its own page.
MAX_ALERT_ROWS = 500


def page_environment() -> Environment:
    """The templates every page of the status site renders with, and their filters."""
    env = Environment(
        loader=PackageLoader("alertd.server", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = lambda span: humanize_duration(span.total_seconds())
    env.filters["utc"] = lambda at: (
        "" if at is None else at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    )
    return env


def status_routes(
    *,
    store: Store,
    states: Callable[[], Mapping[str, AlertState]],
    ruleset: Callable[[], RuleSet],
    clock: Clock,
    api_token: str | None,
    inhibit_rules: Callable[[], Sequence[InhibitRule]] = tuple,
    rule_errors: Callable[[], Mapping[str, str]] = dict,
    source_lags: Callable[[], Mapping[str, dt.timedelta]] = dict,
    refresh_seconds: int = REFRESH_SECONDS,
    max_alert_rows: int = MAX_ALERT_ROWS,
) -> list[Route]:
    """The status page's routes, reading the daemon's parts each time a page is asked for.

    `states` and `ruleset` return the evaluator's current ones; `rule_errors` the rules
    whose last query failed, with why; `source_lags` how late each dataset's rows land;
    `api_token` the bearer token the API accepts, which
    the forms ask for (None: changes are off).
    """
    env = page_environment()
    changes_on = bool(api_token)

    def render(name: str, context: dict[str, Any]) -> str:
        context.setdefault("refresh", None)
        return env.get_template(name).render(changes_on=changes_on, **context)

    async def page(name: str, status: int = 200, **context: Any) -> Response:
        return HTMLResponse(render(name, context), status_code=status)

    async def in_thread(build: Callable[[], str]) -> Response:
        # A storm's page takes a while to build; in a thread, the daemon's ticks go on.
        return HTMLResponse(await anyio.to_thread.run_sync(build))

    async def silences_now(now: dt.datetime) -> list[Silence]:
        return [from_record(r) for r in await store.silences() if r.ends_at > now]

    async def index(request: Request) -> Response:
        now = clock.now()
        current = dict(states())
        rules = ruleset()
        errors = dict(rule_errors())
        inhibits = tuple(inhibit_rules())
        silences = await silences_now(now)

        def build() -> str:
            active = view.shown_first(current.values())
            shown = active[:max_alert_rows]
            muting = view.Muting(current.values(), silences, inhibits, now, asked=shown)
            return render(
                "index.html",
                {
                    "refresh": refresh_seconds,
                    "now": now,
                    "ago": view.since_text(now),
                    "alerts": view.alert_rows(shown, {r.name: r for r in rules.rules}, muting),
                    "firing": sum(1 for s in active if s.status is Status.FIRING),
                    "pending": sum(1 for s in active if s.status is Status.PENDING),
                    "hidden": len(active) - len(shown),
                    "rules": view.rule_rows(rules, current, errors),
                    "silences": view.silence_rows(silences, now),
                    "lags": sorted(source_lags().items()),
                },
            )

        return await in_thread(build)

    async def alert(request: Request) -> Response:
        fingerprint = request.path_params["fingerprint"]
        now = clock.now()
        current = dict(states())
        state = current.get(fingerprint)
        history = await store.history(fingerprint, HISTORY_POINTS)
        since = history[0].at if history else None
        transitions = view.for_alert(await store.transitions(since=since), fingerprint)
        if state is None and not history and not transitions:
            return await page(
                "message.html",
                404,
                title="No such alert",
                message=(
                    f"alertd knows no alert {fingerprint}: it may have resolved before its "
                    "history was pruned."
                ),
            )
        # A resolved alert is known by its transitions; history alone names no rule.
        known = state or (transitions[-1] if transitions else None)
        rule_name, labels = (known.rule, known.labels) if known else ("", ())
        rule = next((r for r in ruleset().rules if r.name == rule_name), None)
        unit = rule.unit if rule else None
        inhibits = tuple(inhibit_rules())
        silences = await silences_now(now)

        def show(value: float | None) -> str:
            return view.show_value(value, unit)

        def build() -> str:
            asked = [state] if state else []
            muting = view.Muting(current.values(), silences, inhibits, now, asked=asked)
            return render(
                "alert.html",
                {
                    "refresh": refresh_seconds,
                    "now": now,
                    "ago": view.since_text(now),
                    "fingerprint": fingerprint,
                    "rule": rule,
                    "rule_name": rule_name or fingerprint,
                    "labels": labels,
                    "state": state,
                    "value": show(state.value) if state else None,
                    "threshold": view.thresholds_text(rule, state.severity if state else None),
                    "muted": muting.reason(state) if state else None,
                    "matchers": view.matchers_for(rule_name, labels) if known else "",
                    "chart": chart(history, view.bounds(rule), transitions, show),
                    "transitions": list(reversed(transitions)),
                    "show": show,
                },
            )

        return await in_thread(build)

    async def new_silence_form(request: Request) -> Response:
        form = SilenceForm(
            matchers=request.query_params.get("matchers", ""),
            next=local_path(request.query_params.get("next")),
        )
        return await page("silence_new.html", form=form, error=None)

    async def post_silence(request: Request) -> Response:
        try:
            fields = read_form(await request.body())
        except FormError as exc:
            return await page("message.html", exc.status, title="Not done", message=exc.message)
        form = SilenceForm.of(fields)
        try:
            check_token(fields, api_token)
            await create_silence(store, form, clock.now())
        except FormError as exc:
            return await page("silence_new.html", exc.status, form=form, error=exc.message)
        return RedirectResponse(form.next, status_code=303)

    async def expire_form(request: Request) -> Response:
        silence_id = request.path_params["silence_id"]
        found = [s for s in await store.silences() if s.id == silence_id]
        if not found:
            return await page(
                "message.html",
                404,
                title="No such silence",
                message=(f"alertd has no silence {silence_id}."),
            )
        row = view.silence_rows([from_record(found[0])], clock.now())
        return await page("silence_expire.html", silence=found[0], active=bool(row), error=None)

    async def post_expire(request: Request) -> Response:
        silence_id = request.path_params["silence_id"]
        try:
            fields = read_form(await request.body())
            check_token(fields, api_token)
            await expire_silence(store, silence_id, clock.now())
        except FormError as exc:
            return await page("message.html", exc.status, title="Not done", message=exc.message)
        return RedirectResponse("/#silences", status_code=303)

    return [
        Route("/", index, methods=["GET"]),
        Route("/alerts/{fingerprint}", alert, methods=["GET"]),
        Route("/silences/new", new_silence_form, methods=["GET"]),
        Route("/silences", post_silence, methods=["POST"]),
        Route("/silences/{silence_id}/expire", expire_form, methods=["GET"]),
        Route("/silences/{silence_id}/expire", post_expire, methods=["POST"]),
    ]
