"""Sources: run planned queries against a backend and return typed rows.

`base.Source` is the role; `analytics_engine.AnalyticsEngineSource` speaks the Workers
Analytics Engine SQL API; `ae_rows` turns its `FORMAT JSON` answer into `Rows`.
"""
