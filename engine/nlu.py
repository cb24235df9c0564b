"""Understanding one message: normalise, classify the intent, extract entities.

Separate from the Bot so that ``python -m engine classify`` and the
profilers need no orders database or FAQ index, only the catalogue.
INTENT_CACHE_ENABLED puts an LRU of whole classifications in front.
Python 3.9-compatible.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from .concepts import WORDS as CONCEPT_WORDS
from .config import EngineConfig
from .entities import EntityExtractor
from .intents import VOCABULARY, IntentClassifier
from .text import Normalizer, SpellCorrector
from .types import Classification, Product

MAX_CLASSIFY_CHARS = 2000  # longer messages are understood from their first 2,000 characters

# Entities the intent rules see as one token instead of their text.
PLACEHOLDERS = {"order_id": "ordernum", "tracking_id": "trackingnum", "email": "emailaddr"}


def skeleton(text: str, spans: List[Tuple[int, int, str]]) -> str:
    """The text with each span replaced by its placeholder (spans sorted, disjoint)."""
    if not spans:
        return text
    parts: List[str] = []
    pos = 0
    for start, end, token in spans:
        parts.append(text[pos:start])
        parts.append("\x00" + token + "\x00")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


class NLU:
    """Classifier + entity extractor + optional intent cache, configured by toggles."""

    def __init__(self, config: EngineConfig, catalogue: Sequence[Product]) -> None:
        self.normalizer = Normalizer(SpellCorrector(VOCABULARY + tuple(sorted(CONCEPT_WORDS))))
        self.classifier = IntentClassifier(config.regex_precompile)
        self.extractor = EntityExtractor(catalogue, config.regex_precompile)
        self.cache_size = config.intent_cache_size
        self._cache: Optional[OrderedDict[str, Tuple[str, float]]] = (
            OrderedDict() if config.intent_cache_enabled else None)
        self.hits = 0
        self.misses = 0

    def normalize(self, text: str) -> str:
        return self.normalizer.normalize(text[:MAX_CLASSIFY_CHARS])

    def classify(self, text: str) -> Classification:
        """Intent, confidence and entities of one message.

        Entities are always extracted. The intent cache is keyed by the message's
        skeleton, the raw text with order numbers, tracking ids and emails replaced by
        placeholders, so "where is B204518" and "where is C310992" share one entry.
        """
        clipped = text[:MAX_CLASSIFY_CHARS]
        entities = self.extractor.extract(clipped)
        spans = [(e.start, e.end, PLACEHOLDERS[e.type]) for e in entities
                 if e.type in PLACEHOLDERS]
        cache = self._cache
        if cache is None:
            intent, confidence = self._classify(clipped, spans)
            return Classification(text, intent, confidence, entities)
        key = skeleton(clipped, spans)
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
            self.hits += 1
            return Classification(text, hit[0], hit[1], entities)
        self.misses += 1
        intent, confidence = self._classify(clipped, spans)
        cache[key] = (intent, confidence)
        if len(cache) > self.cache_size:
            cache.popitem(last=False)
        return Classification(text, intent, confidence, entities)

    def _classify(self, clipped: str, spans: List[Tuple[int, int, str]]) -> Tuple[str, float]:
        normalized = self.normalizer.normalize_with_placeholders(clipped, spans)
        return self.classifier.classify(normalized)

    def stats(self) -> Optional[Dict[str, int]]:
        if self._cache is None:
            return None
        return {"hits": self.hits, "misses": self.misses, "errors": 0}
