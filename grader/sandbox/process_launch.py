"""Start the sandbox agent for ``--sandbox process``: the child side of process.py.

Run as ``python -I -S process_launch.py CONFIG_JSON`` by the grader, inside the
namespaces ``unshare`` made when the machine allows them. Standard library
only, and never imported by the grader. In order it:

1. (root, own mount namespace) makes the world-writable folders read-only,
   mounts a size-limited tmpfs as the sandbox's home and re-opens the socket
   folder for writing;
2. sets the resource limits;
3. (root) drops to the sandbox uid and gid with no supplementary groups;
4. forbids gaining privileges (no setuid binaries) and asks to die with its parent;
5. runs the agent, whose source it read before dropping privileges.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import types
from typing import Any

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _mount(libc: Any, source: str, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    rc = libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                    ctypes.c_ulong(flags), data.encode() if data else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _prctl(libc: Any, option: int, value: int) -> None:
    if libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def set_up_mounts(libc: Any, cfg: dict[str, Any]) -> None:
    """Read-only world-writable folders, a private tmpfs home, a writable socket folder."""
    for folder in cfg["freeze"]:
        _mount(libc, folder, folder, None, MS_BIND)
        _mount(libc, folder, folder, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
               | MS_NODEV)
    _mount(libc, "tmpfs", cfg["home"], "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={cfg['tmpfs_mb']}m,mode=0700,uid={cfg['uid']},gid={cfg['gid']}")
    # The socket folder may sit inside a folder frozen above: bind it again, writable.
    sock = cfg["sock_dir"]
    _mount(libc, sock, sock, None, MS_BIND)
    _mount(libc, sock, sock, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)


def set_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        which = getattr(resource, name)
        soft = hard = value
        if name == "RLIMIT_CPU":
            hard = value + 2  # SIGXCPU first, SIGKILL two seconds later
        resource.setrlimit(which, (soft, hard))


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getgroups():
        raise SystemExit("grade: could not drop privileges")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise SystemExit("grade: privileges could be regained after dropping them")


def run_agent(path: str, source: bytes) -> None:
    code = compile(source, path, "exec")
    module = types.ModuleType("__main__")
    module.__file__ = path
    # The agent restarts itself from its source (`restart` steps); the sandbox user may
    # not be allowed to read the file, so it gets the text read before dropping privileges.
    module.__dict__["__agent_source__"] = source.decode("utf-8")
    sys.modules["__main__"] = module
    sys.argv = [path]
    exec(code, module.__dict__)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    libc = _libc()
    with open(cfg["agent"], "rb") as fh:
        source = fh.read()  # read while we still may: the sandbox user may not
    if cfg["mounts"]:
        set_up_mounts(libc, cfg)
    set_limits(cfg["limits"])
    if cfg["drop"]:
        drop_privileges(cfg["uid"], cfg["gid"])
    _prctl(libc, PR_SET_NO_NEW_PRIVS, 1)
    # Changing uid cleared the parent-death signal `unshare --kill-child` set.
    _prctl(libc, PR_SET_PDEATHSIG, int(signal.SIGKILL))
    os.chdir(cfg["home"])
    sys.path[:0] = [cfg["site"]]
    del libc
    run_agent(cfg["agent"], source)


if __name__ == "__main__":
    main()
