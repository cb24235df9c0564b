"""Real nginx in front of service instances: the guide's load balancer and its "CDN".

The config is deploy/nginx.conf.template rendered by deploy/render_nginx.py (one
definition of the deployment, used by docker-compose, deploy/run_local.sh and the
lab alike). Each ``Nginx`` gets its own prefix folder in the run directory (config,
pid, temp and cache folders, access log), runs in the foreground as a child of a
``procs.ProcessGroup`` (so it is stopped with every other child, however the run
ends) and is never reloaded: a different upstream set is a new nginx.

The access log (on when asked) has the lab's format: status, $upstream_cache_status,
$upstream_addr, request time, upstream time, method, URI; ``read_access_log`` counts
cache hits and answers per upstream from it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .machine import ROOT
from .procs import Child, ProcessGroup, StartupError, free_port, port_open

NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
ACCESS_LOG = "logs/access.log"
CACHE_STATUSES = ("HIT", "MISS", "EXPIRED", "STALE", "UPDATING", "REVALIDATED", "BYPASS")


def find_nginx() -> Tuple[Optional[str], str]:
    """(path to the nginx binary, "") or (None, why)."""
    found = shutil.which("nginx")
    if found:
        return found, ""
    for path in NGINX_PATHS:
        if Path(path).is_file():
            return path, ""
    return None, "nginx is not installed (apt-get install nginx-light)"


def _render_module() -> Any:
    spec = importlib.util.spec_from_file_location("perflab_render_nginx",
                                                  ROOT / "deploy" / "render_nginx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_config(listen_port: int, upstream_ports: Sequence[int], faq_cache: bool,
                  access_log: bool, workers: int = 1) -> str:
    """deploy/nginx.conf.template for these upstreams (loopback), cache on or off."""
    mod = _render_module()
    values = mod.values_for("127.0.0.1:%d" % listen_port,
                            ["127.0.0.1:%d" % p for p in upstream_ports], str(workers),
                            faq_cache, "%s perflab buffer=64k flush=1s" % ACCESS_LOG
                            if access_log else "off")
    return str(mod.render(mod.TEMPLATE.read_text(), values))


@dataclass
class Nginx:
    """One running nginx: its URL, prefix folder and child process."""

    name: str
    url: str
    port: int
    prefix: Path
    upstream_ports: Tuple[int, ...]
    faq_cache: bool
    child: Child

    @property
    def access_log(self) -> Path:
        return self.prefix / ACCESS_LOG

    def flush_log(self, wait: float = 0.3) -> None:
        """Make nginx write its buffered access-log lines now (SIGUSR1 reopens the log)."""
        if self.child.alive():
            os.kill(self.child.pid, signal.SIGUSR1)
            time.sleep(wait)

    def describe(self) -> Dict[str, Any]:
        return {"url": self.url, "upstreams": list(self.upstream_ports),
                "faq_cache": self.faq_cache, "pid": self.child.pid,
                "prefix": str(self.prefix)}


def start_nginx(group: ProcessGroup, prefix: Path, upstream_ports: Sequence[int],
                faq_cache: bool = False, access_log: bool = False,
                cpus: Optional[Sequence[int]] = None, name: str = "nginx",
                timeout: float = 10.0) -> Nginx:
    """Render, check (``nginx -t``) and start nginx in ``prefix``; ready when it listens."""
    binary, reason = find_nginx()
    if binary is None:
        raise FileNotFoundError(reason)
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render_config(port, upstream_ports, faq_cache, access_log))
    argv = [binary, "-p", str(prefix) + "/", "-c", str(conf), "-e", "stderr"]
    if os.geteuid() == 0:
        # as root, workers would run as "nobody" and could not reach a prefix under a
        # private folder (a test's tmp_path): keep them as the lab's user
        argv += ["-g", "user root;"]
    check = group.start(name + "-check", [*argv, "-t", "-q"], {"PATH": "/usr/bin:/bin"})
    code = check.proc.wait(timeout)
    group.stop(check)
    if code != 0:
        raise StartupError("nginx -t refused %s" % conf, check)
    child = group.start(name, argv, {"PATH": "/usr/bin:/bin"}, cpus=cpus)
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if not child.alive():
            raise StartupError("nginx exited during start-up", child)
        if time.monotonic() > deadline:
            raise StartupError("nginx not listening on %d after %.0fs" % (port, timeout),
                               child)
        time.sleep(0.02)
    return Nginx(name, "http://127.0.0.1:%d" % port, port, prefix, tuple(upstream_ports),
                 faq_cache, child)


@dataclass(frozen=True)
class AccessCounts:
    """What nginx's access log says about a window of requests."""

    requests: int
    cache: Dict[str, int]  # $upstream_cache_status -> count ("-" when not cached)
    by_upstream: Dict[str, int]  # $upstream_addr -> count (cache hits have "-")
    by_status: Dict[str, int]

    @property
    def hit_ratio(self) -> Optional[float]:
        """Cache hits over cacheable look-ups (HIT + MISS + EXPIRED + ...); None if none."""
        looked = sum(n for k, n in self.cache.items() if k in CACHE_STATUSES)
        return self.cache.get("HIT", 0) / looked if looked else None

    def to_dict(self) -> Dict[str, Any]:
        return {"requests": self.requests, "cache": dict(self.cache),
                "by_upstream": dict(self.by_upstream), "by_status": dict(self.by_status),
                "hit_ratio": self.hit_ratio}


def read_access_log(path: Path, offset: int = 0, uri_prefix: str = "") -> AccessCounts:
    """Count the lab-format lines of ``path`` from byte ``offset`` (a window's start)."""
    cache: Dict[str, int] = {}
    upstream: Dict[str, int] = {}
    status: Dict[str, int] = {}
    n = 0
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            lines: List[bytes] = fh.read().splitlines()
    except FileNotFoundError:
        lines = []
    for raw in lines:
        parts = raw.decode("utf-8", "replace").split()
        if len(parts) < 7 or not parts[6].startswith(uri_prefix):
            continue
        n += 1
        status[parts[0]] = status.get(parts[0], 0) + 1
        cache[parts[1]] = cache.get(parts[1], 0) + 1
        upstream[parts[2]] = upstream.get(parts[2], 0) + 1
    return AccessCounts(n, cache, upstream, status)


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
