"""The deployment phases with real processes: N instances behind real nginx under real
cgroup budgets, sharing a real Redis; the CDN's cache in nginx; Ctrl-C mid-run leaves no
process and no cgroup. Needs nginx (CI installs nginx-light) and a writable cgroup CPU
controller (CI runs as root); without them, skipped with the reason locally and failed
in CI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import psutil
import pytest

from perflab.cgroup import cpu_budget_support, leftover_groups
from perflab.instances import start_instances
from perflab.nginx import find_nginx, read_access_log, start_nginx
from perflab.procs import ProcessGroup
from perflab.scale_cli import service_env, start_carrier
from perflab.scrape import scrape, window

from .test_run import children_of

ROOT = Path(__file__).resolve().parents[2]
NGINX, NGINX_WHY = find_nginx()
MECH, MECH_WHY = cpu_budget_support()
SMALL = {"ORDERS_COUNT": "2000", "FAQ_ARTICLES": "200", "PRODUCTS_COUNT": "60",
         "CUSTOMERS_COUNT": "300"}


def of_folder(folder: Path) -> List[psutil.Process]:
    """Live processes whose command line names ``folder`` (nginx: its prefix)."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if str(folder) in " ".join(p.info["cmdline"] or ()) and \
                    p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            continue
    return out


def _cmdline(p: psutil.Process) -> str:
    """A process's command line, "" once it has ended (short-lived children: nginx -t)."""
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def need(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: " + why)
        pytest.skip(why)


@pytest.fixture
def small_env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Dict[str, str]:
    data = tmp_path_factory.getbasetemp() / "scaling-data"
    return dict(os.environ, PERFLAB_DATA_DIR=str(data), REDIS_URL=redis_url,
                PYTHONUNBUFFERED="1", **SMALL)


@pytest.mark.slow
def test_nginx_balances_two_instances_and_caches_faq(tmp_path: Path, small_env: Dict[str, str],
                                                     group: ProcessGroup) -> None:
    need(NGINX is not None, NGINX_WHY)
    carrier = start_carrier(group, [])
    env = dict(service_env("+redis_cache", carrier, small_env),
               REDIS_PREFIX="perflab-test-lb-%d:" % os.getpid())
    instances = start_instances(group, [env, env], "lb")
    lb = start_nginx(group, tmp_path / "nginx", [i.port for i in instances], faq_cache=True,
                     access_log=True)
    before = [scrape(i.url) for i in instances]
    body = json.dumps({"session_id": "lb-1", "message": "where is my order"}).encode()
    for _ in range(20):
        req = urllib.request.Request(lb.url + "/api/chat", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
    counts = [window(b, scrape(i.url))["POST /api/chat"].requests
              for b, i in zip(before, instances)]
    assert sum(counts) == 20 and min(counts) > 0  # round robin reached both
    statuses = []
    for _ in range(3):
        with urllib.request.urlopen(lb.url + "/api/faq/7", timeout=10) as r:
            statuses.append(r.headers["X-Cache-Status"])
    assert statuses == ["MISS", "HIT", "HIT"]
    lb.flush_log()
    log = read_access_log(lb.access_log, 0, "/api/faq/")
    assert log.cache == {"MISS": 1, "HIT": 2} and log.hit_ratio == pytest.approx(2 / 3)
    nginx_pid = lb.child.pid
    group.stop(lb.child)
    assert not Path("/proc/%d" % nginx_pid).exists() or \
        "Z" in Path("/proc/%d/stat" % nginx_pid).read_text().split()[2]


@pytest.mark.slow
def test_ctrl_c_during_scaling_leaves_no_process_and_no_cgroup(tmp_path: Path,
                                                               small_env: Dict[str, str]
                                                               ) -> None:
    need(NGINX is not None, NGINX_WHY)
    need(MECH is not None, "no CPU-quota cgroup: %s" % MECH_WHY)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "perflab.scale_cli", "scaling", "--out",
                             str(out), "--blocks", "2", "--mechanism", "cgroup"],
                            cwd=ROOT, env=small_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    names = ""
    while time.monotonic() < deadline:  # wait until budgets exist and a probe is running
        # nginx rewrites its environment (process titles): find it by its prefix instead
        names = " ".join(_cmdline(p) for p in children_of(proc.pid) + of_folder(out))
        if leftover_groups(MECH, proc.pid) and "loadtests.openloop" in names \
                and "nginx" in names:
            break
        if proc.poll() is not None:
            pytest.fail("scaling ended early: %s" % proc.stderr.read()[-2000:])
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("no scaling probe within 120 s")
    assert "-m service " in names
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    time.sleep(0.5)
    assert children_of(proc.pid) == []
    assert of_folder(out) == []
    assert leftover_groups(MECH, proc.pid) == []
    result = json.loads((out / "scaling.json").read_text())
    assert result["interrupted"] is True
    assert result["budget"]["mechanism"] == "cgroup-v%d" % MECH.version
