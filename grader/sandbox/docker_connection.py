"""Connect to the Docker engine once, with a message that says how to fix it."""

from __future__ import annotations

import os

import docker
import docker.context
import docker.errors
import requests

from grader.errors import DockerUnavailable

# Asked before the engine's own version is known; every engine since 2016 serves it.
FIRST_API_VERSION = "1.24"


def connect(*, offer_process: bool = False) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST, the Docker CLI's current context, or the
    default socket points at, in that order (as the ``docker`` command finds it).

    *offer_process*: the command can also grade without Docker, so say how.
    """
    try:
        client = _client()
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        text = str(e)
        if "Permission denied" in text or "PermissionError" in text:
            hint = ("your user may not use the Docker socket: add it to the 'docker' group "
                    "(`sudo usermod -aG docker $USER`, then log in again)")
        else:
            hint = ("start the Docker engine (Debian/Ubuntu: `sudo apt-get install docker.io` "
                    "then `sudo systemctl start docker`, or run `sudo dockerd &`; macOS and "
                    "Windows: start Docker Desktop), or point DOCKER_HOST at a running engine")
        message = f"no Docker engine reachable at {_where()}: {hint}. ({text[:200]})"
        if offer_process:
            message += (
                "\nTwo ways on: set up Docker as above (the default, and the strongest "
                "isolation), or grade without it: add `--sandbox process` (or set "
                "GRADE_SANDBOX=process), which runs the submission as a separate, limited "
                "process and isolates less than Docker (docs/ci.md).")
        raise DockerUnavailable(message) from e
    return client


def _where() -> str:
    """The engine address tried, and what chose it, for messages."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return f"{host} (DOCKER_HOST)"
    name = os.environ.get("DOCKER_CONTEXT") or None
    try:
        chosen = docker.context.ContextAPI.get_context(name)
    except (docker.errors.DockerException, OSError, ValueError):
        chosen = None
    if chosen is not None and chosen.Name != "default" and chosen.Host:
        return f"{chosen.Host} (Docker context {chosen.Name!r})"
    return "the default socket, /var/run/docker.sock"


def _client() -> docker.DockerClient:
    """The client DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (or the Docker CLI's
    current context) describe, speaking the engine's own API version.

    Its HTTP session ignores the environment: requests would otherwise let
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace the engine's CA, and a TLS
    engine with its own CA would be unreachable from shells that set one (the
    ``docker`` command is not affected). So the version is asked with a fixed
    one first, as ``version="auto"`` would ask with the environment in force.
    """
    probe = docker.from_env(timeout=60, version=FIRST_API_VERSION)
    try:
        probe.api.trust_env = False
        version = str(probe.api.version(api_version=False)["ApiVersion"])
    finally:
        probe.close()
    client = docker.from_env(timeout=60, version=version)
    client.api.trust_env = False
    return client
