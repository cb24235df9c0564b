"""aiohttp service over the engine: routes, middlewares, start-up and clean-up.

Entry points: ``create_app(config)``, ``python -m service``, ``service.wsgi:app_factory``
(gunicorn) and ``python -m service.carrier`` (the fake carrier API). Imports are
lazy so that ``python -m service.carrier`` does not load the engine.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServiceConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from service.app import create_app
        return create_app
    if name == "ServiceConfig":
        from service.config import ServiceConfig
        return ServiceConfig
    raise AttributeError(f"module 'service' has no attribute {name!r}")
