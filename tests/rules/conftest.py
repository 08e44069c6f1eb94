import pytest

from alertd.rules.schema import Dataset, build_dataset


@pytest.fixture
def db() -> Dataset:
    return build_dataset(
        "pitchey_database_metrics",
        index="table",
        blobs=["queryType", "table", "status", "errorCode", "endpoint", "userId"],
        doubles=["duration", "rowCount", "timestamp"],
        numeric_blobs=[],
    )


@pytest.fixture
def perf() -> Dataset:
    return build_dataset(
        "pitchey_performance_metrics",
        index="endpoint",
        blobs=["endpoint", "method", "statusCode", "cacheStatus", "userId"],
        doubles=["duration", "queryCount", "timestamp"],
        numeric_blobs=["statusCode"],
    )
