"""The Dockerfile, built and run for real with podman on a Debian-made base image: a
non-root user, the shipped rules check, and `alertd run` becomes ready against the
emulator on the host and stops cleanly on SIGTERM.

Tools: podman, runc and mmdebstrap (`.ci/run` installs them). Where one is missing the
tests are skipped, saying which, unless REQUIRE_CONTAINER_TESTS is set (as in CI).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from alertd.emulator.server import RunningEmulator
from tests.commands.live_daemon import write_recent_queries

ROOT = Path(__file__).parents[2]
# Made once from Debian's packages and kept in podman's store between runs.
BASE = "localhost/alertd-base:bookworm-python3"
IMAGE = "localhost/alertd:test"
LABEL = "org.opencontainers.image.title=alertd"  # on both stages of the Dockerfile
TOOLS = ("podman", "runc", "mmdebstrap")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_SECONDS = 900
WAIT_SECONDS = 120.0
# What works in this sandbox: runc, cgroupfs, low explicit limits, the host's network.
RUN = [
    "podman", "--runtime", "runc", "--cgroup-manager=cgroupfs", "run", "--rm",
    "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network=host",
]  # fmt: skip

missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if missing and os.environ.get("REQUIRE_CONTAINER_TESTS"):
    raise RuntimeError(f"container tests need {', '.join(missing)} (REQUIRE_CONTAINER_TESTS)")
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"{', '.join(missing)} not installed (apt-get install {' '.join(TOOLS)})"
)


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def ensure_base() -> None:
    if podman("image", "exists", BASE).returncode == 0:
        return
    with tempfile.TemporaryDirectory(prefix="alertd-rootfs-") as folder:
        rootfs = Path(folder) / "rootfs.tar"
        subprocess.run(
            ["mmdebstrap", "--variant=apt", "--include=python3,python3-venv", "bookworm",
             str(rootfs)],
            capture_output=True, text=True, timeout=BUILD_SECONDS, check=True,
        )  # fmt: skip
        done = podman("import", str(rootfs), BASE, timeout=300)
        assert done.returncode == 0, done.stderr


def build_args() -> list[str]:
    """pip in the build stage reaches the index as pip does here: the CA bundle mounted
    read-only, the index settings passed as build arguments, neither kept in the image."""
    args = ["--build-arg", f"BASE={BASE}"]
    if CA_BUNDLE.exists():
        args += ["--volume", f"{CA_BUNDLE}:/run/host-ca.crt:ro"]
        args += ["--build-arg", "PIP_CERT=/run/host-ca.crt"]
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        if os.environ.get(name):
            args += ["--build-arg", f"{name}={os.environ[name]}"]
    return args


@pytest.fixture(scope="module")
def image() -> str:
    ensure_base()
    done = podman(
        "build", "--isolation", "chroot", "--network=host", "--format", "docker",
        *build_args(), "--tag", IMAGE, str(ROOT),
        timeout=BUILD_SECONDS,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # Earlier builds of the image, now untagged, would pile up run after run.
    podman("image", "prune", "--force", "--filter", f"label={LABEL}")
    return IMAGE


def run(image: str, *args: str, entrypoint: str = "alertd") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RUN, "--entrypoint", entrypoint, image, *args],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )


def test_the_image_runs_as_a_user_that_is_not_root(image: str) -> None:
    done = run(image, "-u", entrypoint="id")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10001"
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    assert inspected["Config"]["User"] == "10001:10001"
    assert inspected["Config"]["Entrypoint"] == ["/opt/alertd/bin/alertd", "run"]
    assert inspected["Healthcheck"]["Test"][0] == "CMD"
    assert "/healthz" in inspected["Healthcheck"]["Test"][-1]


def test_the_shipped_rules_check_inside(image: str) -> None:
    done = run(image, "check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: ")


def test_the_image_holds_no_emulator(image: str) -> None:
    done = run(image, "emulator")
    assert done.returncode == 1
    assert "pip install 'alertd[emulator]'" in done.stderr


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The state directory, owned by the image's user."""
    folder = tmp_path / "state"
    folder.mkdir()
    os.chown(folder, 10001, 10001)
    return folder


def test_run_becomes_ready_against_the_emulator_and_stops_on_sigterm(
    image: str, ae: RunningEmulator, state: Path
) -> None:
    write_recent_queries(ae)
    name = f"alertd-test-{uuid.uuid4().hex[:12]}"
    port = _free_port()
    process = subprocess.Popen(
        [
            *RUN, "--name", name, "--read-only", "--volume", f"{state}:/var/lib/alertd",
            "--env", f"CLOUDFLARE_API_BASE={ae.base_url}",
            "--env", f"CLOUDFLARE_ACCOUNT_ID={ae.account_id}",
            "--env", f"CLOUDFLARE_API_TOKEN={ae.token}",
            "--env", f"ALERTD_HTTP_ADDR=127.0.0.1:{port}",
            image,
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    stderr = process.stderr
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stderr], daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not any('"event": "daemon.started"' in line for line in seen):
            left = deadline - time.monotonic()
            assert left > 0, "".join(seen)[-3000:]
            assert process.poll() is None, "".join(seen)[-3000:]
            try:
                seen.append(lines.get(timeout=min(left, 1.0)))
            except queue.Empty:
                continue
        started = json.loads(next(line for line in seen if "daemon.started" in line))
        assert started["rules"] == 9
        # What Kubernetes' readiness probe asks: rules loaded, store and source answering.
        ready = _wait_ready(f"http://127.0.0.1:{port}/readyz", deadline)
        assert ready.status_code == 200, ready.text
        # SIGTERM (the image's STOPSIGNAL) to alertd, pid 1 in the container.
        stopped = podman("stop", "--time", str(int(WAIT_SECONDS)), name, timeout=WAIT_SECONDS)
        assert stopped.returncode == 0, stopped.stderr
        assert process.wait(timeout=WAIT_SECONDS) == 0
        reader.join(timeout=WAIT_SECONDS)
        assert any('"event": "daemon.stopped"' in line for line in _drain(lines))
    finally:
        if process.poll() is None:
            # Killing podman's client leaves the container running: remove it too.
            podman(
                "--runtime", "runc", "--cgroup-manager=cgroupfs", "rm", "--force", name,
                timeout=WAIT_SECONDS,
            )  # fmt: skip
            process.kill()
            process.wait(timeout=WAIT_SECONDS)
    assert (state / "alertd.db").exists()


def _drain(lines: queue.Queue[str]) -> list[str]:
    out = []
    while not lines.empty():
        out.append(lines.get_nowait())
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, deadline: float) -> httpx.Response:
    """The first 200 from `url`, or its last answer once the deadline has passed."""
    while True:
        try:
            answer = httpx.get(url, timeout=5)
        except httpx.TransportError:
            answer = None
        if answer is not None and (answer.status_code == 200 or time.monotonic() > deadline):
            return answer
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.5)
