"""The run context every profiling tool receives: variant, config, workload, outputs.

One object per ``perflab profile`` invocation, passed explicitly (no module state), so
that every tool profiles the same engine build over the same seeded workload and writes
into the same folder. It also owns the one piece of environment policy the tools share:
a variant that caches in Redis gets a unique key prefix (cleaned up afterwards), or the
memory backend with a printed note when Redis does not answer, so a profile never
fails, or pollutes a shared Redis, because of the cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from engine.bot import Bot
from engine.carrier import InProcessCarrier
from engine.config import EngineConfig

SCHEMA_VERSION = 1
"""Version of every JSON summary written by ``profiles`` (bump on a breaking change)."""

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
WORKLOAD_SEED = 7  # the same stream as profiles.bench_engine
REPO_ROOT = Path(__file__).resolve().parents[1]

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


@dataclass
class ProfileContext:
    """What one profiling run needs; built by :func:`build_context`, never global."""

    variant_name: str
    env: Dict[str, str]  # the variant env as given, plus what the context adjusted
    config: EngineConfig
    messages: int
    out_dir: Path
    progress: Progress = _quiet
    workload_seed: int = WORKLOAD_SEED
    notes: List[str] = field(default_factory=list)  # printed and recorded in JSON

    def note(self, text: str) -> None:
        """Record something a reader of the outputs must know (fallbacks, skips)."""
        self.notes.append(text)
        self.progress("note: " + text)

    def path(self, name: str) -> Path:
        return self.out_dir / name

    def metadata(self) -> Dict[str, Any]:
        """Run metadata recorded in every JSON summary (what was profiled, where)."""
        return {"variant": self.variant_name, "messages": self.messages,
                "workload_seed": self.workload_seed, "config": self.config.to_dict(),
                "python": sys.version.split()[0], "implementation":
                platform.python_implementation(), "platform": platform.platform(),
                "cpus": os.cpu_count(), "git_sha": _git_sha(), "notes": list(self.notes),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def build_context(variant_env: Dict[str, str], variant_name: str, messages: int,
                  out_dir: Path, progress: Optional[Progress] = None) -> ProfileContext:
    """Config from the variant env (EngineConfig ignores keys it does not own).

    A Redis-backed variant gets a unique REDIS_PREFIX; if Redis does not answer the
    variant falls back to the memory backend and the fallback is noted, because a
    profile of "every look-up times out" would be a profile of the timeout.
    """
    if messages < 1:
        raise ValueError("messages must be >= 1, got %d" % messages)
    env = dict(variant_env)
    ctx_notes: List[str] = []
    config = EngineConfig.from_env(env)
    if config.uses_redis:
        url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
        problem = redis_problem(url, config.redis_timeout)
        if problem is None:
            env["REDIS_URL"] = url
            env["REDIS_PREFIX"] = "perflab-profile-%s:" % uuid.uuid4().hex[:12]
        else:
            ctx_notes.append("IR_CACHE_BACKEND=%s but Redis at %s is unreachable (%s): "
                             "profiling with the memory backend instead"
                             % (config.ir_cache_backend, url, problem))
            env["IR_CACHE_BACKEND"] = "memory"
        config = EngineConfig.from_env(env)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = ProfileContext(variant_name, env, config, messages, out_dir,
                         progress if progress is not None else _quiet)
    for text in ctx_notes:
        ctx.note(text)
    return ctx


def redis_problem(url: str, timeout: float = 0.5) -> Optional[str]:
    """None when Redis at ``url`` answers PING, else a short reason."""
    try:
        import redis
    except ImportError:
        return "the redis package is not installed"
    client = redis.Redis.from_url(url, socket_timeout=max(timeout, 0.5),
                                  socket_connect_timeout=max(timeout, 0.5))
    try:
        client.ping()
        return None
    except Exception as exc:
        return "%s: %s" % (type(exc).__name__, exc)
    finally:
        client.close()


def delete_redis_prefix(url: str, prefix: str) -> int:
    """Delete every key under the run's unique prefix; the number deleted (0 on error)."""
    if not prefix.startswith("perflab-profile-"):
        return 0  # never touch keys this module did not create
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
    except Exception:
        return 0
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    except Exception:
        return 0
    finally:
        client.close()


@contextlib.contextmanager
def redis_cleanup(ctx: ProfileContext) -> Iterator[None]:
    """Remove the run's Redis keys afterwards, whatever happens inside."""
    try:
        yield
    finally:
        if ctx.config.uses_redis:
            delete_redis_prefix(ctx.config.redis_url, ctx.config.redis_prefix)


def make_bot(config: EngineConfig) -> Bot:
    """The engine as the in-process tools run it: carrier answered without a network."""
    return Bot(config, carrier=InProcessCarrier())


def workload(config: EngineConfig, n: int, seed: int = WORKLOAD_SEED) -> List[Tuple[str, str]]:
    """The first ``n`` (session_id, text) of the seeded stream, ids matching the data."""
    from loadtests.workload import Workload, load_order_ids

    wl = Workload(seed, order_ids=load_order_ids(config.seed, config.n_orders))
    return [(m.session_id, m.text) for m in wl.messages(n)]


def reply_all(bot: Bot, messages: List[Tuple[str, str]]) -> int:
    """Answer every message in order; the number answered (the profiled loop)."""
    reply = bot.reply
    for sid, text in messages:
        reply(sid, text)
    return len(messages)


def warmup_count(messages: int) -> int:
    """A short warm-up, excluded from profiles: first-call imports, re's cache, sessions."""
    return max(20, min(500, messages // 10))


def write_json(path: Path, payload: Dict[str, Any]) -> Path:
    """Write a JSON summary with the schema version first."""
    data = {"schema_version": SCHEMA_VERSION}
    data.update(payload)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def subprocess_env() -> Dict[str, str]:
    """Environment for a child ``python -m profiles...``: this one, repo root importable."""
    env = dict(os.environ)
    parts = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def _git_sha() -> Optional[str]:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
