"""Every typed ``web.AppKey`` of the service, in one place (no string keys)."""

from __future__ import annotations

from typing import Any, Dict

from aiohttp import web

from engine import Bot
from service.config import ServiceConfig
from service.jsonlib import JsonCodec
from service.metrics import Metrics

CONFIG = web.AppKey("config", ServiceConfig)
BOT = web.AppKey("bot", Bot)
METRICS = web.AppKey("metrics", Metrics)
CODEC = web.AppKey("codec", JsonCodec)
STARTED_AT = web.AppKey("started_at", float)
RUNTIME = web.AppKey("runtime", Dict[str, Any])  # interpreter and library versions
