"""Alertmanager's API v2 shapes (its api/v2/openapi.yaml), as pydantic models.

Field names are Alertmanager's own (camelCase), so the JSON is what amtool and Grafana
read.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorMessage(ApiModel):
    message: str


class MatcherModel(ApiModel):
    name: str = Field(min_length=1)
    value: str
    isRegex: bool
    isEqual: bool = True


class SilenceStatus(ApiModel):
    state: Literal["expired", "active", "pending"]


class PostableSilence(ApiModel):
    id: str | None = None
    matchers: list[MatcherModel] = Field(min_length=1)
    startsAt: dt.datetime
    endsAt: dt.datetime
    createdBy: str
    comment: str


class GettableSilence(ApiModel):
    id: str
    status: SilenceStatus
    updatedAt: dt.datetime
    matchers: list[MatcherModel]
    startsAt: dt.datetime
    endsAt: dt.datetime
    createdBy: str
    comment: str
    annotations: dict[str, str] = Field(default_factory=dict)


class SilenceCreated(ApiModel):
    silenceID: str


class AlertStatus(ApiModel):
    state: Literal["unprocessed", "active", "suppressed"]
    silencedBy: list[str]
    inhibitedBy: list[str]
    mutedBy: list[str] = Field(default_factory=list)


class ReceiverReference(ApiModel):
    name: str


class GettableAlert(ApiModel):
    labels: dict[str, str]
    annotations: dict[str, str]
    receivers: list[ReceiverReference]
    fingerprint: str
    startsAt: dt.datetime
    updatedAt: dt.datetime
    endsAt: dt.datetime
    status: AlertStatus
    generatorURL: str = ""


class AlertGroup(ApiModel):
    labels: dict[str, str]
    routeLabels: dict[str, str] = Field(default_factory=dict)
    receiver: ReceiverReference
    alerts: list[GettableAlert]


class Receiver(ApiModel):
    name: str


class PeerStatus(ApiModel):
    name: str
    address: str


class ClusterStatus(ApiModel):
    name: str = ""
    status: Literal["ready", "settling", "disabled"]
    peers: list[PeerStatus] = Field(default_factory=list)


class VersionInfo(ApiModel):
    version: str
    revision: str
    branch: str
    buildUser: str
    buildDate: str
    goVersion: str


class AlertmanagerConfig(ApiModel):
    original: str


class AlertmanagerStatus(ApiModel):
    cluster: ClusterStatus
    versionInfo: VersionInfo
    config: AlertmanagerConfig
    uptime: dt.datetime
