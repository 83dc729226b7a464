"""The engine's CPU per API call and per container life, on bare containers of the sandbox image.

Used by bench/breakdown.py. Each variant runs --calls containers one after the
other, so the engine's CPU in the window is theirs (plus whatever else the
machine's other users ask of the engine at that time: run it on a quiet machine).
"""

from __future__ import annotations

import os
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cpu_accounting as acct
import docker
from docker.types import LogConfig
from sampling import Sampler, labelled


def engine_cost(call: Callable[[str], object], cid: str) -> float:
    """The engine's CPU seconds while CALL(cid) ran.

    A shim that exits during the call (kill, wait) keeps its reading from before:
    what it did last is not seen, and nothing is counted twice.
    """
    before = _engine_for(cid)
    call(cid)
    after = _engine_for(cid)
    return after[0] - before[0] + acct.shim_growth(before[1], [after[1]])


def _engine_for(cid: str) -> tuple[float, dict[int, float]]:
    """dockerd and containerd, and the shim of CID alone."""
    daemons, shims = acct.engine_parts()
    return daemons, {pid: t for pid, t in shims.items() if acct.shim_id(pid) == cid}


def api_calls(client: docker.DockerClient, sandbox: str, calls: int,
              log_driver: str) -> dict[str, float]:
    """Mean engine CPU-ms per API call on bare containers, and the container's own."""
    costs: dict[str, list[float]] = {k: [] for k in ("create", "start", "kill", "wait", "remove",
                                                     "container")}
    layout = acct.cgroup_layout()
    labels = {"grade.managed": "1", "grade.owner": f"{socket.gethostname()}:{os.getpid()}"}
    for _ in range(calls):
        cid: str | None = None
        try:
            config = client.api.create_host_config(
                network_mode="none", log_config=LogConfig(type=log_driver, config={}))
            before = _engine_for("")
            cid = str(client.api.create_container(
                sandbox, ["python3", "-c", "import sys; sys.stdin.read()"], stdin_open=True,
                labels=labels, host_config=config)["Id"])
            costs["create"].append(_engine_for(cid)[0] - before[0])  # no shim yet
            costs["start"].append(engine_cost(client.api.start, cid))
            time.sleep(0.3)  # let python start: the kill is of a running process
            costs["container"].append(layout.container_usage(cid) or 0.0)
            costs["kill"].append(engine_cost(client.api.kill, cid))
            costs["wait"].append(engine_cost(client.api.wait, cid))
            costs["remove"].append(engine_cost(
                lambda c: client.api.remove_container(c, force=True), cid))
            cid = None
        finally:
            if cid is not None:
                client.api.remove_container(cid, force=True)
    # Means: /proc counts in clock ticks (10 ms), a median of a few calls would be 0 or 10.
    return {k: round(statistics.fmean(v) * 1000, 1) for k, v in costs.items() if v}


# One container's life, the ways it could be asked of the engine. The command
# lives 0.2 s, so an exec can be made into it as grade makes one for the relay.
COMMAND = ["python3", "-c", "import time; time.sleep(0.2)"]
HARDENED = {
    "read_only": True, "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"],
    "tmpfs": {"/tmp": "rw,nosuid,nodev,size=64m", "/grade": "rw,nosuid,nodev,size=64k"},
    "shm_size": "8m", "pids_limit": 64, "mem_limit": "256m", "memswap_limit": "256m",
    "nano_cpus": 1_000_000_000,
}


@dataclass(frozen=True)
class Variant:
    """How one container's life is asked of the engine."""

    log_driver: str = "json-file"
    hardened: bool = False
    auto_remove: bool = False
    exec_relay: bool = False


VARIANTS = {
    "bare: create, start, wait, remove": Variant(),
    "bare, log driver none": Variant(log_driver="none"),
    "bare, auto-remove (as docker run --rm)": Variant(auto_remove=True),
    "hardened as grade's (limits, tmpfs, read-only)": Variant(hardened=True),
    "hardened + one exec (as grade's relay)": Variant(hardened=True, exec_relay=True),
}


def _life(client: docker.DockerClient, sandbox: str, v: Variant, labels: dict[str, str]) -> None:
    options: dict[str, Any] = HARDENED if v.hardened else {}
    config = client.api.create_host_config(
        network_mode="none", auto_remove=v.auto_remove,
        log_config=LogConfig(type=v.log_driver, config={}), **options)
    cid = str(client.api.create_container(sandbox, COMMAND, labels=labels,
                                          host_config=config)["Id"])
    try:
        client.api.start(cid)
        if v.exec_relay:
            client.api.exec_start(client.api.exec_create(cid, ["true"])["Id"])
        client.api.wait(cid, timeout=60)
    finally:
        if not v.auto_remove:
            client.api.remove_container(cid, force=True)


def lifecycles(client: docker.DockerClient, sandbox: str, calls: int) -> dict[str, float]:
    """Engine CPU-ms per container life, per variant (mean over CALLS lives).

    The variants take turns, so that the machine's other users weigh on each
    alike; a sampler reads the shims while they live.
    """
    mine = str(os.getpid())
    labels = {"grade.managed": "1", "grade.owner": f"{socket.gethostname()}:{mine}",
              "grade.bench": mine}
    spent: dict[str, list[float]] = {name: [] for name in VARIANTS}
    ours = labelled(client, "grade.bench", mine)
    with Sampler(acct.cgroup_layout(), ours, interval=0.02) as sampler:
        for _ in range(calls):
            for name, variant in VARIANTS.items():
                daemons, shims, seen = acct.engine_parts()[0], sampler.shims_now(), \
                    len(sampler.shims)
                _life(client, sandbox, variant, labels)
                grown = acct.shim_growth(shims, [*sampler.shims[seen:], sampler.shims_now()])
                spent[name].append(acct.engine_parts()[0] - daemons + grown)
    return {name: round(statistics.fmean(v) * 1000, 1) for name, v in spent.items()}
