"""Connect to the Docker engine once, with a message that says how to fix it."""

from __future__ import annotations

import docker
import docker.errors

from grader.errors import DockerUnavailable


def connect() -> docker.DockerClient:
    """A client for the engine DOCKER_HOST (or the default socket) points at."""
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
        raise DockerUnavailable(f"no Docker engine reachable: {hint}. ({text[:200]})") from e
    return client
