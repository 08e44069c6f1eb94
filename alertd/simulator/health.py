"""The platform's `/api/analytics/database/health` answer at one moment of a timeline. Pure.

The design document names the endpoint and what it reports (connection pool, throughput,
availability); this is the shape the simulated platform gives it, one entry per database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alertd.simulator.timeline import Timeline
from alertd.simulator.traffic import POOLS, TABLES, conditions

# Where the emulator takes the answer it then serves at /api/analytics/database/health.
PLATFORM_HEALTH_PATH = "/emulator/platform/database-health"


def health_document(timeline: Timeline, offset: dt.timedelta) -> dict[str, Any]:
    """What the endpoint answers `offset` after the timeline's origin."""
    now = conditions(timeline, offset)
    queries_per_second = sum(table.rate for table in TABLES.values()) * now.load
    databases = []
    for name, utilization in sorted(now.pool_utilization.items()):
        size = POOLS.get(name, (20, 0.0))[0]
        active = min(size, round(utilization * size))
        databases.append(
            {
                "name": name,
                "connectionPool": {
                    "active": active,
                    "idle": size - active,
                    "max": size,
                    "utilization": round(utilization, 4),
                },
                "throughput": {"queriesPerSecond": round(queries_per_second, 2)},
                "availability": 1.0,
            }
        )
    worst = max(now.pool_utilization.values(), default=0.0)
    return {"status": "degraded" if worst > 0.8 else "healthy", "databases": databases}
