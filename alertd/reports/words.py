"""How a report's figures read, shared by the terminal, Slack and Teams renderings."""

from __future__ import annotations

from alertd.reports.figures import Compared, Kind, Report


def title(report: Report) -> str:
    name = "Daily performance report" if report.kind is Kind.DAILY else "Weekly trend analysis"
    start = report.start.strftime("%Y-%m-%d %H:%M")
    end = report.end.strftime("%Y-%m-%d %H:%M")
    return f"{name}, {start} to {end} UTC"


def ms(value: float | None) -> str:
    return "no data" if value is None else f"{value:.0f} ms"


def percent(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.1f} %"


def count(value: float | None) -> str:
    return "no data" if value is None else f"{round(value):,}"


def seconds(value: float | None) -> str:
    """A duration in the largest unit that keeps it readable: 45 s, 12 min, 3.5 h."""
    if value is None:
        return "none"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.0f} min"
    return f"{value / 3600:.1f} h"


def trend(figure: Compared, shown: str) -> str:
    """`152 ms (+12 % on the previous period)`, or the figure alone without a comparison."""
    change = figure.change
    if change is None:
        return shown
    return f"{shown} ({change * 100:+.0f} % on the previous period)"


def rate_trend(figure: Compared) -> str:
    """`1.0 % (2.0 % in the previous period)`: a relative change of a rate misleads."""
    shown = percent(figure.current)
    if figure.current is None or figure.previous is None:
        return shown
    return f"{shown} ({percent(figure.previous)} in the previous period)"


def lines(report: Report) -> list[tuple[str, list[str]]]:
    """The report as headed sections of lines, in the order every rendering shows them."""
    db, api, errors, alerts = report.database, report.api, report.errors, report.alerts
    sections = [
        (
            "Database",
            [
                f"Queries: {trend(db.queries, count(db.queries.current))}",
                f"P95 query time: {trend(db.p95_ms, ms(db.p95_ms.current))}",
                f"Failed queries: {rate_trend(db.error_rate)}",
                *[
                    f"Slow table {r.name}: P95 {ms(r.value)} over {r.events:,} queries"
                    for r in db.slowest_tables
                ],
            ],
        ),
        (
            "API",
            [
                f"Requests: {trend(api.requests, count(api.requests.current))}",
                f"P95 response time: {trend(api.p95_ms, ms(api.p95_ms.current))}",
                f"5xx rate: {rate_trend(api.error_rate)}",
                f"Cache hit rate: {rate_trend(api.cache_hit_rate)}",
                *[
                    f"Slow endpoint {r.name}: P95 {ms(r.value)} over {r.events:,} requests"
                    for r in api.slowest_endpoints
                ],
            ],
        ),
        (
            "Errors",
            [
                f"Errors reported: {trend(errors.errors, count(errors.errors.current))}",
                *[f"{r.name}: {r.events:,} ({percent(r.value)})" for r in errors.top_categories],
            ],
        ),
        (
            "Alerts",
            [
                f"Fired: {alerts.fired}, resolved: {alerts.resolved}, "
                f"mean time to resolve: {seconds(alerts.mean_resolve_s)}",
                *[
                    f"{r.rule}: fired {r.fired}, resolved {r.resolved}, "
                    f"mean {seconds(r.mean_resolve_s)}, longest {seconds(r.longest_resolve_s)}"
                    for r in alerts.by_rule
                ],
            ],
        ),
    ]
    spend = report.ae_queries
    month = "" if spend.this_month is None else f", this month so far: {spend.this_month:,}"
    sections.append(("AE queries", [f"This report: {spend.report}{month}"]))
    return sections
