"""Process-level set-up shared by ``python -m service`` and the gunicorn entry point."""

from __future__ import annotations

import asyncio
import logging
import sys

from service.config import ConfigError, ServiceConfig
from service.jsonlib import get_codec

LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def configure_logging(config: ServiceConfig) -> None:
    """LOG_LEVEL for everything; the access log (ACCESS_LOG) is INFO whatever LOG_LEVEL is."""
    logging.basicConfig(level=config.log_level, stream=sys.stderr, format=LOG_FORMAT,
                        force=True)
    access = logging.getLogger("service.access")
    if config.access_log:
        access.setLevel(logging.INFO)
    else:
        access.setLevel(logging.WARNING)


def new_event_loop(config: ServiceConfig) -> asyncio.AbstractEventLoop:
    """A fresh loop of the EVENT_LOOP kind; uvloop missing (e.g. PyPy) is a config error."""
    if config.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise ConfigError("EVENT_LOOP='uvloop' is not valid here: uvloop is not "
                              "installed for this interpreter; allowed values: asyncio") from None
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def check_runnable(config: ServiceConfig) -> None:
    """Fail fast on toggles this interpreter cannot honour (raises ConfigError)."""
    get_codec(config.json_lib)
    if config.event_loop == "uvloop":
        new_event_loop(config).close()
