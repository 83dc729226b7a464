"""Connect to the Docker engine once, with a message that says how to fix it."""

from __future__ import annotations

import docker
import docker.errors

from grader.errors import DockerUnavailable


def connect(*, offer_process: bool = False) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST (or the default socket) points at.

    *offer_process*: the command can also grade without Docker, so say how.
    """
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except docker.errors.DockerException as e:
        text = str(e)
        if "Permission denied" in text or "PermissionError" in text:
            hint = ("your user may not use the Docker socket: add it to the 'docker' group "
                    "(`sudo usermod -aG docker $USER`, then log in again)")
        else:
            hint = ("start the Docker engine (Debian/Ubuntu: `sudo apt-get install docker.io` "
                    "then `sudo systemctl start docker`, or run `sudo dockerd &`), or point "
                    "DOCKER_HOST at a running engine")
        message = f"no Docker engine reachable: {hint}. ({text[:200]})"
        if offer_process:
            message += (
                "\nTwo ways on: set up Docker as above (the default, and the strongest "
                "isolation), or grade without it: add `--sandbox process` (or set "
                "GRADE_SANDBOX=process), which runs the submission as a separate, limited "
                "process and isolates less than Docker (docs/ci.md).")
        raise DockerUnavailable(message) from e
    return client
