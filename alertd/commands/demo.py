"""`alertd demo`: emulator, simulated traffic with incidents and the daemon, on one machine.

Simulated time runs `speed` times faster than the wall clock, so the built-in half hour of
incidents plays in about three minutes; the rules and their windows are the shipped ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TextIO

import anyio
import httpx
from pydantic import SecretStr

from alertd import daemon
from alertd.clock import ScaledClock, SystemClock
from alertd.emulator.app import HEALTH_PATH
from alertd.emulator.ingest import IngestDelay, IngestDelayError
from alertd.emulator.server import running_emulator
from alertd.server.address import status_url, with_port_chosen
from alertd.settings import Settings
from alertd.simulator.timeline import demo_timeline
from alertd.simulator.writer import run_live, write_range

WARM_UP = dt.timedelta(minutes=10)  # history written before the start, so windows are full
SEED = 7
# What a shell reports for a command stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130


def run(args: argparse.Namespace, rules_dir: Path, out: TextIO, err: TextIO) -> int:
    """Play the demo to its end (0) or until stopped (130); 1 if the daemon refuses to start."""
    if args.speed <= 0:
        print(f"alertd demo: --speed must be positive, not {args.speed:g}", file=err)
        return 2
    try:
        ingest = getattr(args, "ingest_delay", None)
        delay = IngestDelay.parse(ingest) if ingest else None
    except IngestDelayError as exc:
        print(f"alertd demo: {exc}", file=err)
        return 2
    try:
        code, finished = _play(args.speed, rules_dir, out, err, getattr(args, "http", None), delay)
    except KeyboardInterrupt:  # Ctrl-C before the daemon took over the signal
        code, finished = 0, False
    if code:
        return code
    if not finished:
        print("\ndemo stopped before the end of its incidents.", file=out)
        return INTERRUPTED
    print("\ndemo finished.", file=out)
    return 0


def _play(
    speed: float,
    rules_dir: Path,
    out: TextIO,
    err: TextIO,
    http: str | None = None,
    ingest_delay: IngestDelay | None = None,
) -> tuple[int, bool]:
    """The daemon's exit code, and whether the timeline played to its end."""
    timeline = demo_timeline()
    origin = SystemClock().now().replace(second=0, microsecond=0)
    clock = ScaledClock(origin, speed)
    with (
        running_emulator(clock=clock, ingest_delay=ingest_delay) as ae,
        tempfile.TemporaryDirectory(prefix="alertd-demo-") as state,
    ):
        settings = Settings(
            cloudflare_api_base=ae.base_url,
            cloudflare_account_id=ae.account_id,
            cloudflare_api_token=SecretStr(ae.token),
            state_dir=Path(state),
            # Rows held back by an ingest delay: follow it; else they land at once.
            evaluation_delay_seconds="auto" if ingest_delay else 10,
            source_down_after_seconds=300,
        )
        # The address is printed before the daemon binds it: port 0 becomes a real one.
        address = with_port_chosen(http or settings.http_addr)
        settings = settings.model_copy(update={"http_addr": address})
        # The shipped database_health source reads the health answer the simulator keeps.
        os.environ["PITCHEY_HEALTH_URL"] = f"{ae.root_url}{HEALTH_PATH}"
        minutes = timeline.length.total_seconds() / 60
        print(f"alertd demo: status page at {status_url(settings.http_addr)}", file=out, flush=True)
        print(
            f"alertd demo: AE emulator at {ae.base_url}; {minutes:.0f} simulated minutes of "
            f"Pitchey traffic with incidents at {speed:g}x "
            f"(about {minutes / speed:.1f} minutes). Ctrl-C stops.\n",
            file=out,
            flush=True,
        )

        played = False

        async def main() -> int:
            stop = anyio.Event()
            async with httpx.AsyncClient(timeout=30) as client, anyio.create_task_group() as tasks:
                await write_range(
                    client,
                    ae.root_url,
                    timeline,
                    origin - WARM_UP,
                    origin,
                    origin=origin,
                    seed=SEED,
                )
                tasks.start_soon(
                    lambda: run_live(clock, client, ae.root_url, timeline, origin=origin, seed=SEED)
                )

                async def finish() -> None:
                    nonlocal played
                    await clock.sleep((origin + timeline.length - clock.now()).total_seconds())
                    played = True
                    stop.set()

                tasks.start_soon(finish)
                code = await daemon.run(
                    settings,
                    [rules_dir],
                    clock=clock,
                    out=out,
                    err=err,
                    stop=stop,
                    transitions=True,
                )
                tasks.cancel_scope.cancel()
            return code

        code = anyio.run(main)
        # The daemon returns 0 at the timeline's end and on SIGINT/SIGTERM alike.
        return code, played
