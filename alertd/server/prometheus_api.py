"""Prometheus-shaped `/api/v1/rules` and `/api/v1/alerts`: each rule's health, last
evaluation, its duration, last error and the SQL it sent; pending and firing alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from alertd.model import AlertState, Status
from alertd.notify.matchers import with_identity
from alertd.notify.snapshots import snapshot, threshold_text
from alertd.rules.ruleset import Rule
from alertd.server.parts import ServerParts


class PromAlert(BaseModel):
    labels: dict[str, str]
    annotations: dict[str, str]
    state: Literal["pending", "firing"]
    activeAt: dt.datetime | None
    value: str


class PromRule(BaseModel):
    name: str
    query: str
    duration: float
    keepFiringFor: float
    labels: dict[str, str]
    annotations: dict[str, str]
    alerts: list[PromAlert]
    health: Literal["ok", "err", "unknown"]
    lastError: str
    type: Literal["alerting"] = "alerting"
    lastEvaluation: dt.datetime | None
    evaluationTime: float
    # What alertd adds: the SQL statements its last evaluation sent for this rule.
    sql: list[str]
    file: str


class PromGroup(BaseModel):
    name: str
    file: str
    interval: float
    rules: list[PromRule]
    lastEvaluation: dt.datetime | None
    evaluationTime: float


class RuleGroups(BaseModel):
    groups: list[PromGroup]


class RulesResponse(BaseModel):
    status: Literal["success"] = "success"
    data: RuleGroups


class AlertList(BaseModel):
    alerts: list[PromAlert]


class AlertsResponse(BaseModel):
    status: Literal["success"] = "success"
    data: AlertList


def router(parts: ServerParts) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["prometheus"])

    @api.get("/rules")
    async def get_rules() -> RulesResponse:
        """Every rule group and rule with its health and last evaluation."""
        evaluator = parts.evaluator
        by_rule: dict[str, list[AlertState]] = {}
        for state in evaluator.states.values():
            if state.status is not Status.INACTIVE:
                by_rule.setdefault(state.rule, []).append(state)
        groups = []
        for group in evaluator.ruleset.groups:
            last = evaluator.evaluations.get(group.name)
            sent = last.queries if last else ()
            rules = [
                PromRule(
                    name=rule.name,
                    query=rule.value_text,
                    duration=rule.for_.total_seconds(),
                    keepFiringFor=rule.keep_firing_for.total_seconds(),
                    labels=dict(rule.labels),
                    annotations=dict(rule.annotations),
                    alerts=[_alert(s, rule) for s in by_rule.get(rule.name, [])],
                    health=_health(rule.name, evaluator.unhealthy, last is not None),
                    lastError=evaluator.unhealthy.get(rule.name, ""),
                    lastEvaluation=last.at if last else None,
                    evaluationTime=last.duration_seconds if last else 0.0,
                    sql=[sql for sql, names in sent if rule.name in names],
                    file=rule.location.file,
                )
                for rule in group.rules
            ]
            groups.append(
                PromGroup(
                    name=group.name,
                    file=group.location.file,
                    interval=group.interval.total_seconds(),
                    rules=rules,
                    lastEvaluation=last.at if last else None,
                    evaluationTime=last.duration_seconds if last else 0.0,
                )
            )
        return RulesResponse(data=RuleGroups(groups=groups))

    @api.get("/alerts")
    async def get_alerts() -> AlertsResponse:
        """Every pending and firing alert, alertd's own included."""
        rules = parts.notifier.rules
        alerts = [
            _alert(state, rules.get(state.rule))
            for state in sorted(parts.evaluator.states.values(), key=lambda s: (s.rule, s.labels))
            if state.status is not Status.INACTIVE
        ]
        return AlertsResponse(data=AlertList(alerts=alerts))

    return api


Health = Literal["ok", "err", "unknown"]


def _health(name: str, unhealthy: dict[str, str], evaluated: bool) -> Health:
    if name in unhealthy:
        return "err"
    return "ok" if evaluated else "unknown"


def _alert(state: AlertState, rule: Rule | None) -> PromAlert:
    firing = state.status is Status.FIRING
    annotations: dict[str, Any] = {}
    if firing:
        annotations = dict(snapshot(state, rule, threshold_text(rule, state)).annotations)
    elif rule is not None:
        annotations = dict(rule.annotations)
    return PromAlert(
        labels=dict(with_identity(state.rule, state.labels, state.severity)),
        annotations=annotations,
        state="firing" if firing else "pending",
        activeAt=state.active_since,
        value="" if state.value is None else format(state.value, "g"),
    )
