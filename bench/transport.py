"""Benchmark: the relay transport against the bind-mounted sockets it replaced.

Not a test: run it by hand on a quiet machine with the Docker engine up.

    python bench/transport.py [--rounds 10] [--requests 30]

The Docker sandbox reaches the agent through a relay started with `docker
exec` (grader/sandbox/exec_link.py), so that no host folder is mounted. The
baseline is the design it replaced, rebuilt here in the same run with the same
image and limits: the agent binds its sockets in a host folder mounted at
/grade, which the host locks and connects to directly. Alternating the two,
each round times for one sandbox: start until the agent is connected, the
load of the ex02 solution, and --requests HTTP requests; it prints medians and
the ratios relay/baseline (with --json PATH, writes them too).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker

from grader.grading.http_client import AppClient, unix_socket
from grader.sandbox import docker_connection, image
from grader.sandbox.agent_client import AgentClient
from grader.sandbox.archive import pack
from grader.sandbox.container import DockerSandbox
from grader.spec import catalog

ROOT = Path(__file__).resolve().parent.parent
Timings = dict[str, float]


def relay_round(client: docker.DockerClient, tag: str, folder: Path, requests: int) -> Timings:
    ex = catalog.find("ex02", ROOT / "exercises")
    started = time.monotonic()
    with DockerSandbox(client, tag, folder, ex.limits) as box:
        ready = time.monotonic()
        box.load(ex.entry, False, timeout=20)
        loaded = time.monotonic()
        app = AppClient(box.dial_app, 5.0)
        for _ in range(requests):
            app.get("/greet/Alice")
        done = time.monotonic()
    return {"ready": ready - started, "load": loaded - ready,
            "request": (done - loaded) / requests, "whole": time.monotonic() - started}


def mounted_round(client: docker.DockerClient, tag: str, folder: Path, requests: int) -> Timings:
    """The earlier design: sockets in a host folder mounted into the container."""
    ex = catalog.find("ex02", ROOT / "exercises")
    lim = ex.limits
    socks = Path(tempfile.mkdtemp(prefix="grade-bench-sock-"))
    os.chmod(socks, 0o777)
    started = time.monotonic()
    container = client.containers.create(
        tag, command=["python3", "/opt/grade/agent.py"], user="10001:10001",
        network_mode="none", cap_drop=["ALL"], security_opt=["no-new-privileges"],
        read_only=True, tmpfs={"/tmp": f"rw,nosuid,nodev,size={lim.tmpfs_mb}m,mode=1777"},
        pids_limit=lim.pids, mem_limit=f"{lim.memory_mb}m", nano_cpus=int(lim.cpus * 1e9),
        volumes={str(socks): {"bind": "/grade", "mode": "rw"}},
        labels={"grade.managed": "1"}, detach=True)
    try:
        container.start()
        _wait(lambda: all((socks / n).exists() for n in ("ctl.sock", "app.sock")))
        os.chmod(socks, 0o755)
        agent = AgentClient.connect(str(socks / "ctl.sock"))
        ready = time.monotonic()
        agent.receive(pack(folder), timeout=20)
        agent.load(ex.entry, False, timeout=20)
        loaded = time.monotonic()
        app = AppClient(unix_socket(str(socks / "app.sock")), 5.0)
        for _ in range(requests):
            app.get("/greet/Alice")
        done = time.monotonic()
        agent.close()
    finally:
        container.remove(force=True)
        for name in ("ctl.sock", "app.sock"):
            (socks / name).unlink(missing_ok=True)
        socks.rmdir()
    return {"ready": ready - started, "load": loaded - ready,
            "request": (done - loaded) / requests, "whole": time.monotonic() - started}


def _wait(ready: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("the agent did not start")
        time.sleep(0.003)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    client = docker_connection.connect()
    tag = image.ensure_image(client, progress=print).tag
    folder = Path(tempfile.mkdtemp(prefix="grade-bench-sub-"))
    (folder / "app.py").write_text((ROOT / "exercises/ex02/solution.py").read_text())
    runs: dict[str, list[Timings]] = {"relay": [], "mounted": []}
    relay_round(client, tag, folder, 2)  # warm-up: caches, the image's first start
    mounted_round(client, tag, folder, 2)
    for _ in range(args.rounds):
        runs["relay"].append(relay_round(client, tag, folder, args.requests))
        runs["mounted"].append(mounted_round(client, tag, folder, args.requests))
    report: dict[str, dict[str, float]] = {}
    for key in ("ready", "load", "request", "whole"):
        relay = statistics.median(r[key] for r in runs["relay"])
        mounted = statistics.median(r[key] for r in runs["mounted"])
        report[key] = {"relay_ms": relay * 1000, "mounted_ms": mounted * 1000,
                       "ratio": relay / mounted}
        print(f"{key:8} relay {relay * 1000:8.2f} ms   mounted {mounted * 1000:8.2f} ms   "
              f"ratio {relay / mounted:5.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
