"""Receivers: render a notification into one service's request, then deliver it."""

from alertd.notify.receivers.base import Delivered, Payload, Receiver
from alertd.notify.receivers.pagerduty import PagerDutyReceiver
from alertd.notify.receivers.slack import SlackBotReceiver, SlackWebhookReceiver
from alertd.notify.receivers.teams import TeamsReceiver
from alertd.notify.receivers.webhook import WebhookReceiver

__all__ = [
    "Delivered",
    "PagerDutyReceiver",
    "Payload",
    "Receiver",
    "SlackBotReceiver",
    "SlackWebhookReceiver",
    "TeamsReceiver",
    "WebhookReceiver",
]
