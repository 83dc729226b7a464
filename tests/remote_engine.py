"""A second Docker engine that sees none of the client's files, as Docker Desktop's does.

On macOS and Windows the engine runs in a VM: a bind mount names a path in the
VM, not on the client, and Docker quietly creates an empty folder there. This
module makes the same situation on one Linux machine, with real parts:

* ``dockerd`` runs in its own mount namespace (``unshare --mount``) where a
  fresh tmpfs covers ``/tmp`` before it starts, so a bind mount of the
  client's ``/tmp/...`` finds an empty folder. ``/run/containerd`` is covered
  too, so the engine starts its own containerd (and runc resolves mounts in
  this namespace) instead of using a system containerd that sees the client's
  files.
* It has its own data root, exec root, pid file and unix socket (outside
  ``/tmp``, so the client reaches it), no bridge and no iptables rules, so it
  never touches the first engine's network.
* It also listens on ``tcp://127.0.0.1:PORT`` with ``--tlsverify``, using a CA,
  a server and a client certificate made here with the ``openssl`` command.

Every path given to dockerd lies outside ``/tmp``: inside its namespace,
``/tmp`` is the empty tmpfs.

By hand, as root: ``python -m tests.remote_engine`` starts one, prints the
environment a client needs (``DOCKER_HOST`` and friends), and stops it and
removes its folders on Ctrl-C or SIGTERM (docs/testing.md).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import docker.tls

from .helpers import processes_with

PREFIX = "grade-remote-"  # the engine's folders: /run/PREFIX<pid>-<hex>, /var/lib/PREFIX...
RUN_BASE = Path("/run")
STATE_BASE = Path("/var/lib")
READY_SECONDS = 90.0  # a first start sets up containerd and overlay2; the machine may be busy
STOP_SECONDS = 30.0  # dockerd stops its containers (--shutdown-timeout) before it exits
DOCKER_ENV = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT")
# requests lets these replace docker-py's TLS CA (a request-level `verify` from the
# environment beats the session's), so a client of an engine with its own CA fails.
CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
API_VERSION = "1.41"  # Docker 20.10's, which newer engines still accept

# Runs inside the new mount namespace, then becomes dockerd ("$@"); no value is spliced in.
_IN_NAMESPACE = (
    "set -e; "
    "mount -t tmpfs -o mode=1777,size=256m grade-remote-tmp /tmp; "
    "if [ -d /run/containerd ]; then "
    "mount -t tmpfs -o mode=0711,size=16m grade-remote-containerd /run/containerd; fi; "
    'exec "$@"'
)


class RemoteEngineError(RuntimeError):
    """The second engine could not be started; the message holds the dockerd log's tail."""


@dataclass(frozen=True)
class TlsFiles:
    """Certificates for one engine: the client's in ``folder`` (DOCKER_CERT_PATH's layout)."""

    folder: Path
    server_cert: Path
    server_key: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "cert.pem"

    @property
    def key(self) -> Path:
        return self.folder / "key.pem"

    def config(self) -> docker.tls.TLSConfig:
        """What docker-py needs to reach the engine and check who answers."""
        return docker.tls.TLSConfig(client_cert=(str(self.cert), str(self.key)),
                                    ca_cert=str(self.ca), verify=True)


@dataclass(frozen=True)
class RemoteEngine:
    """A running second engine and how a client reaches it."""

    name: str
    run_dir: Path
    state_dir: Path
    port: int
    tls: TlsFiles
    log: Path
    pid: int

    @property
    def socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def env(self, base: Mapping[str, str], *, over_tls: bool) -> dict[str, str]:
        """*base* with the Docker variables of a client of this engine (and no others).

        Over TLS, CA_BUNDLE_ENV is dropped too: see there.
        """
        env = {k: v for k, v in base.items() if k not in DOCKER_ENV}
        if over_tls:
            env = {k: v for k, v in env.items() if k not in CA_BUNDLE_ENV}
            return env | {"DOCKER_HOST": self.tcp_url, "DOCKER_TLS_VERIFY": "1",
                          "DOCKER_CERT_PATH": str(self.tls.folder)}
        return env | {"DOCKER_HOST": self.unix_url}

    def unix_client(self, timeout: int = 60) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.unix_url, timeout=timeout)

    def tls_client(self, timeout: int = 60) -> docker.DockerClient:
        # A fixed API version: "auto" would ask the engine before trust_env is off.
        client = docker.DockerClient(base_url=f"https://127.0.0.1:{self.port}",
                                     tls=self.tls.config(), timeout=timeout,
                                     version=API_VERSION)
        client.api.trust_env = False  # CA_BUNDLE_ENV must not replace our CA
        return client

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            return f"(no dockerd log at {self.log}: {e.strerror})"
        return "\n".join(text.splitlines()[-lines:])


# -- can it run here? ------------------------------------------------------------------------


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def unavailable() -> str | None:
    """Why a second engine cannot run on this machine, or None if it can."""
    if not sys.platform.startswith("linux"):
        return "a second engine needs Linux mount namespaces"
    if os.geteuid() != 0:
        return "a second engine needs root (dockerd and unshare --mount)"
    missing = [t for t in ("unshare", "dockerd", "openssl", "mount") if _tool(t) is None]
    if missing:
        return (f"{', '.join(missing)} missing: install util-linux, docker.io and openssl "
                "(apt-get install util-linux docker.io openssl)")
    probe = subprocess.run([str(_tool("unshare")), "--mount", "--propagation", "private",
                            "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare --mount is not allowed here: {probe.stderr.strip()[:300]}"
    return None


# -- certificates ----------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise RemoteEngineError(f"openssl {' '.join(args[:2])} failed in {cwd}: "
                                f"{done.stderr.strip()[-800:]}")


def _signed(folder: Path, stem: str, subject: str, extensions: str) -> None:
    """A P-256 key and a certificate for it, signed by the CA in *folder*."""
    (folder / f"{stem}.ext").write_text(extensions, encoding="ascii")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{stem}-key.pem", "-out", f"{stem}.csr", "-subj", subject,
             cwd=folder)
    _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
             "-set_serial", str(secrets.randbits(63)), "-days", "2", "-sha256",
             "-extfile", f"{stem}.ext", "-out", f"{stem}-cert.pem", cwd=folder)


def make_certificates(folder: Path) -> TlsFiles:
    """A fresh CA, a server certificate for 127.0.0.1 and localhost, and a client one."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-sha256",
             "-subj", "/CN=grade remote engine test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    _signed(folder, "server", "/CN=localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
            "keyUsage=critical,digitalSignature,keyAgreement\n")
    _signed(folder, "client", "/CN=grade remote engine test client",
            "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyAgreement\n")
    # DOCKER_CERT_PATH's names, as the docker CLI and docker-py read them.
    (folder / "client-cert.pem").rename(folder / "cert.pem")
    (folder / "client-key.pem").rename(folder / "key.pem")
    for leftover in folder.glob("*.csr"):
        leftover.unlink()
    return TlsFiles(folder, folder / "server-cert.pem", folder / "server-key.pem")


# -- start, wait, stop -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dockerd_argv(run_dir: Path, state_dir: Path, port: int, tls: TlsFiles) -> list[str]:
    config = state_dir / "daemon.json"
    config.write_text("{}\n", encoding="ascii")  # never the host's /etc/docker/daemon.json
    return [
        str(_tool("dockerd")),
        f"--config-file={config}",
        f"--data-root={state_dir / 'data'}",
        f"--exec-root={run_dir / 'exec'}",
        f"--pidfile={run_dir / 'dockerd.pid'}",
        f"--host=unix://{run_dir / 'docker.sock'}",
        f"--host=tcp://127.0.0.1:{port}",
        "--tlsverify", f"--tlscacert={tls.ca}", f"--tlscert={tls.server_cert}",
        f"--tlskey={tls.server_key}",
        # Leave the first engine's docker0 and iptables chains alone.
        "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
        "--ip-forward=false",
        "--shutdown-timeout=5",
    ]


def _ping(engine: RemoteEngine) -> str | None:
    """None once both the unix socket and TCP with TLS answer, else what failed."""
    for what, connect in (("unix socket", engine.unix_client), ("TCP+TLS", engine.tls_client)):
        try:
            client = connect(5)
        except docker.errors.DockerException as e:
            return f"{what}: {e}"
        try:
            client.ping()
        except (docker.errors.DockerException, OSError) as e:
            return f"{what}: {e}"
        finally:
            client.close()
    return None


def _wait_ready(engine: RemoteEngine, proc: subprocess.Popen[bytes], deadline: float) -> None:
    last = "not tried yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RemoteEngineError(f"dockerd exited with status {proc.returncode} before it "
                                    f"was ready; {engine.log} ends:\n{engine.log_tail()}")
        if engine.socket.exists():
            last = _ping(engine) or ""
            if not last:
                return
        time.sleep(0.2)
    raise RemoteEngineError(f"dockerd was not ready after {READY_SECONDS:.0f} s ({last}); "
                            f"{engine.log} ends:\n{engine.log_tail()}")


def _kill(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass  # gone meanwhile


def _stop(name: str, proc: subprocess.Popen[bytes] | None) -> list[int]:
    """Stop dockerd (TERM, wait, KILL) and whatever of it is left; return pids KILLed."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    # Its containerd and shims name the exec root in their command lines; after a
    # clean stop none is left, after a KILL they may be.
    deadline = time.monotonic() + 10
    while (left := processes_with(name)) and time.monotonic() < deadline:
        time.sleep(0.2)
    _kill(left, signal.SIGKILL)
    return left


def _remove(name: str) -> None:
    for folder in (RUN_BASE / name, STATE_BASE / name):
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            raise RemoteEngineError(f"could not remove {folder}; remove it by hand "
                                    f"(`rm -rf {folder}`) once no process uses it")


def sweep_stale() -> list[str]:
    """Stop and remove engines whose starting process died without stopping them."""
    swept = []
    for folder in sorted(RUN_BASE.glob(f"{PREFIX}*")) + sorted(STATE_BASE.glob(f"{PREFIX}*")):
        owner = folder.name.removeprefix(PREFIX).partition("-")[0]
        if not owner.isdigit() or Path("/proc", owner).exists() or folder.name in swept:
            continue
        _stop(folder.name, None)
        _remove(folder.name)
        swept.append(folder.name)
    return swept


@contextmanager
def running(log: Path) -> Iterator[RemoteEngine]:
    """Start a second engine (dockerd's output goes to *log*); stop and remove it after."""
    reason = unavailable()
    if reason is not None:
        raise RemoteEngineError(reason)
    sweep_stale()
    name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    run_dir, state_dir = RUN_BASE / name, STATE_BASE / name
    proc: subprocess.Popen[bytes] | None = None
    try:
        run_dir.mkdir(mode=0o711)
        state_dir.mkdir(mode=0o711)
        tls = make_certificates(run_dir / "certs")
        port = _free_port()
        argv = [str(_tool("unshare")), "--mount", "--propagation", "private", "--",
                "/bin/sh", "-c", _IN_NAMESPACE, name,
                *_dockerd_argv(run_dir, state_dir, port, tls)]
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            # Its own session: a Ctrl-C in the terminal reaches pytest, which stops it.
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        engine = RemoteEngine(name, run_dir, state_dir, port, tls, log, proc.pid)
        _wait_ready(engine, proc, time.monotonic() + READY_SECONDS)
        yield engine
    finally:
        try:
            _stop(name, proc)
        finally:
            _remove(name)


def main() -> int:
    """Start an engine, print how to reach it, and keep it until Ctrl-C or SIGTERM."""
    # Beside the engine's other leftovers, never in the checkout the command runs from.
    fd, name = tempfile.mkstemp(prefix="grade-remote-dockerd-", suffix=".log")
    os.close(fd)
    log = Path(name)
    # A shell without job control starts `... &` with SIGINT ignored; Ctrl-C and kill
    # must both stop the engine.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with running(log) as engine:
            print(f"# a second engine (dockerd log: {log}); Ctrl-C stops it", flush=True)
            print(f"# over its unix socket:\nexport DOCKER_HOST={engine.unix_url}")
            print("# or over TCP with TLS:")
            for key, value in engine.env({}, over_tls=True).items():
                print(f"export {key}={value}")
            sys.stdout.flush()
            while True:
                time.sleep(3600)
    except RemoteEngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
