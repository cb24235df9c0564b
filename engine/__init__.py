"""The support chatbot under test: intents, entities, FAQ retrieval, orders, caches, dialogue.

Pure Python (3.9-compatible, so the PyPy toggle can run it), no web framework.
Entry point: ``Bot(EngineConfig.from_env()).reply(session_id, text)``.
``Bot`` is imported lazily so that ``python -m engine classify`` stays light.
"""

from typing import Any

from .config import ConfigError, EngineConfig
from .types import ALL_LABELS, FAQ_INTENT, INTENTS, Classification, Entity, Reply

__all__ = ["ALL_LABELS", "FAQ_INTENT", "INTENTS", "Bot", "Classification", "ConfigError",
           "EngineConfig", "Entity", "Reply"]


def __getattr__(name: str) -> Any:
    if name == "Bot":
        from .bot import Bot

        return Bot
    raise AttributeError(name)
