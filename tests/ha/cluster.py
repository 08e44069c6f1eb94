"""Replicas of `alertd run` sharing one PostgreSQL database, against the emulator and the
local PagerDuty and Slack stand-ins: the rules, a timed burst of alerts, the processes,
and the check that every page arrived once."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from alertd.clock import SystemClock
from alertd.emulator.server import RunningEmulator
from tests.notify.fakes import SLACK_BOT_TOKEN, SLACK_CHANNEL_ID, FakeServices

RULES = Path(__file__).parents[2] / "rules"
ROUTING_KEY = "pdROUTINGkeySECRET00000000000016"
# Each table's alert: its own rule group, firing while the table had queries in the
# last 8 seconds: longer than a takeover, so an alert whose group moves is still seen.
GROUP = """\
group: g_{table}
interval: 1s
rules:
  - alert: Burst_{table}
    dataset: pitchey_database_metrics
    value: count()
    where: table == "{table}"
    by: [table]
    window: 8s
    thresholds: {{critical: "> 0"}}
    no_data: ok
"""
# Every alert goes to PagerDuty, a Slack webhook and a Slack bot, each as soon as it changes.
NOTIFY = """\
receivers:
  - name: pager
    pagerduty:
      routing_key: "{key}"
      url: "{base}/pagerduty/v2/enqueue"
  - name: slack
    slack: {{webhook_url: "{base}/slack/hooks/T000/B000/XXXX"}}
  - name: slack-bot
    slack: {{bot_token: "{token}", channel: "{channel}", api_url: "{base}/slack/api"}}
route:
  receiver: pager
  group_by: [table]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
  routes:
    - receiver: pager
      continue: true
    - receiver: slack
      continue: true
    - receiver: slack-bot
"""
DEADLINE_SECONDS = 60.0


def rules_folder(folder: Path, tables: list[str], fake: FakeServices) -> Path:
    folder.mkdir(parents=True)
    (folder / "datasets.yaml").write_text((RULES / "datasets.yaml").read_text())
    for table in tables:
        (folder / f"g_{table}.yaml").write_text(GROUP.format(table=table))
    notify = NOTIFY.format(
        key=ROUTING_KEY, base=fake.base_url, token=SLACK_BOT_TOKEN, channel=SLACK_CHANNEL_ID
    )
    (folder / "notify.yaml").write_text(notify)
    # The bot's messages are stamped on the wall clock, as Slack's, so a replica can find
    # them by time.
    fake.slack_api.epoch = int(now().timestamp())
    return folder


def write_burst(ae: RunningEmulator, table: str, start: dt.datetime, seconds: float) -> None:
    """Queries on `table` from `start` for `seconds` (ten a second): its alert fires at
    `start` and resolves about 8 s after the last."""
    points = int(seconds * 10)
    ae.write(
        "pitchey_database_metrics",
        [
            {
                "timestamp": int((start + dt.timedelta(seconds=i / 10)).timestamp() * 1000),
                "indexes": [table],
                "blobs": ["SELECT", table, "success", "", "/api", "u"],
                "doubles": [10.0, 1.0, 0.0],
            }
            for i in range(points)
        ],
    )


@dataclass
class Replica:
    """One `alertd run` process; its JSON log lines, each with when it was read."""

    name: str
    process: subprocess.Popen[str]
    logs: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    url: str | None = None
    _started: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(
        cls, name: str, folder: Path, ae: RunningEmulator, rules: Path, env: dict[str, str]
    ) -> Replica:
        folder.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "alertd.cli", "run", "--rules", str(rules)],
            env={
                **os.environ,
                "CLOUDFLARE_API_BASE": ae.base_url,
                "CLOUDFLARE_ACCOUNT_ID": ae.account_id,
                "CLOUDFLARE_API_TOKEN": ae.token,
                "ALERTD_STATE_DIR": str(folder / "state"),
                "ALERTD_EVALUATION_DELAY_SECONDS": "0",
                "ALERTD_LOG_FORMAT": "json",
                "ALERTD_HTTP_ADDR": "127.0.0.1:0",
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        replica = cls(name, process)
        threading.Thread(target=replica._read, args=(process.stderr,), daemon=True).start()
        return replica

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            if not line.startswith("{"):
                self.logs.append((time.monotonic(), {"event": "stderr", "line": line}))
                continue
            entry = json.loads(line)
            self.logs.append((time.monotonic(), entry))
            if entry.get("event") == "http.started":
                self.url = str(entry["url"]).rstrip("/")
                self._started.set()

    def wait_started(self) -> str:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not self._started.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                break
        if not self._started.is_set():
            raise AssertionError(f"replica {self.name} did not start: {self.logs[-5:]}")
        assert self.url is not None
        return self.url

    def status(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.wait_started()}/api/v1/status", timeout=5)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def events(self, name: str, since: float = 0.0) -> list[dict[str, Any]]:
        return [e for at, e in list(self.logs) if at >= since and e.get("event") == name]

    def end(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one cannot stop otherwise
            self.process.terminate()
        try:
            return self.process.wait(timeout=DEADLINE_SECONDS / 2)
        finally:
            self.process.kill()  # only if it did not end: a failed run leaves no process


def wait_until(
    condition: Any,
    what: str,
    seconds: float = DEADLINE_SECONDS,
    found: Any = lambda: "",
) -> None:
    """Poll `condition` (a real process is watched: there is no clock to advance)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {found()}")
        time.sleep(0.1)


@dataclass(frozen=True)
class Pages:
    """What the receivers got, per table: PagerDuty actions in order, Slack webhook
    messages, and the Slack bot's messages in the channel (each group's one message, as
    last updated) and in their threads."""

    pagerduty: dict[str, list[str]]
    slack: dict[str, list[str]]
    bot_posts: dict[str, list[str]] = field(default_factory=dict)
    bot_replies: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        slack = {t: [m[9:18] for m in messages] for t, messages in self.slack.items()}
        posts = {t: [m[:10] for m in messages] for t, messages in self.bot_posts.items()}
        replies = {t: [m[:10] for m in messages] for t, messages in self.bot_replies.items()}
        return (
            f"pagerduty {self.pagerduty}, slack {slack}, slack bot posts {posts}, replies {replies}"
        )

    @classmethod
    def of(cls, fake: FakeServices, tables: list[str]) -> Pages:
        pagerduty: dict[str, list[str]] = defaultdict(list)
        events = [request.json() for request in list(fake.pagerduty.requests)]
        # A resolve carries only the dedup key: its table is its trigger's.
        tables_of = {
            e["dedup_key"]: next((t for t in tables if t in json.dumps(e["payload"])), "?")
            for e in events
            if "payload" in e
        }
        for event in events:
            pagerduty[tables_of.get(event["dedup_key"], "?")].append(event["event_action"])
        slack: dict[str, list[str]] = defaultdict(list)
        for request in list(fake.slack_webhook.requests):
            body = request.body.decode()
            table = next((t for t in tables if t in body), "?")
            slack[table].append(body)
        posts: dict[str, list[str]] = defaultdict(list)
        replies: dict[str, list[str]] = defaultdict(list)
        for message in list(fake.slack_api.messages.values()):
            text = str(message.get("text", ""))
            table = next((t for t in tables if t in text), "?")
            (replies if "thread_ts" in message else posts)[table].append(text)
        return cls(dict(pagerduty), dict(slack), dict(posts), dict(replies))

    def complete(self, tables: list[str]) -> bool:
        """Every table was triggered and resolved on each receiver."""
        return all(
            self.pagerduty.get(t, [])[-1:] == ["resolve"]
            and len(self.slack.get(t, [])) >= 2
            and any(p.startswith("[RESOLVED") for p in self.bot_posts.get(t, []))
            for t in tables
        )

    def pagerduty_repeats(self) -> int:
        """PagerDuty events repeated with nothing between: a trigger with no resolve
        between, which PagerDuty merges into the alert its `dedup_key` has open, or a
        resolve again, which it drops (reference/notifiers.md, PD-TRIG). Nobody is paged
        again, so `duplicates` does not count them."""
        return sum(
            1
            for actions in self.pagerduty.values()
            for a, b in itertools.pairwise(actions)
            if a == b
        )

    def duplicates(self) -> int:
        """Pages seen twice: PagerDuty alerts opened again for one firing (each table fires
        once), Slack webhook messages of a kind sent twice, Slack bot messages posted twice
        for one group, and bot thread replies of a kind repeated."""
        repeated = 0
        for actions in self.pagerduty.values():
            repeated += max(0, _opened(actions) - 1)
        for messages in [*self.slack.values(), *self.bot_replies.values()]:
            # Each alert fires and resolves once: a second message of a kind repeats one.
            repeated += sum(count - 1 for count in _kinds(messages).values())
        for posts in self.bot_posts.values():
            repeated += len(posts) - 1
        return repeated

    def losses(self, tables: list[str]) -> int:
        """Triggers or resolves that never arrived (each table fires and resolves once);
        a Slack bot's message missing, or never updated to say RESOLVED."""
        lost = 0
        for t in tables:
            lost += len({"trigger", "resolve"} - set(self.pagerduty.get(t, [])))
            lost += max(0, 2 - len(set(self.slack.get(t, []))))
            posts = self.bot_posts.get(t, [])
            lost += 0 if any(p.startswith("[RESOLVED") for p in posts) else 1
        return lost


def _opened(actions: list[str]) -> int:
    """PagerDuty alerts a dedup_key's events open: a trigger opens one unless one is open."""
    opened, open_ = 0, False
    for action in actions:
        if action == "trigger" and not open_:
            opened += 1
        open_ = action == "trigger" or (open_ and action != "resolve")
    return opened


def _kinds(messages: list[str]) -> Counter[str]:
    return Counter("RESOLVED" if "[RESOLVED" in m else "FIRING" for m in messages)


def now() -> dt.datetime:
    return SystemClock().now()
