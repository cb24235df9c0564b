"""Plain data passed between the engine's parts and returned to callers.

Frozen dataclasses with ``to_dict``/``from_dict`` so they cross process and
cache boundaries (Redis stores them as JSON) without pickling.
Python 3.9-compatible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

INTENTS: Tuple[str, ...] = (
    "cancel_order",
    "change_order",
    "place_order",
    "track_order",
    "create_account",
    "delete_account",
    "edit_account",
    "recover_password",
    "registration_problems",
    "switch_account",
    "check_cancellation_fee",
    "contact_customer_service",
    "contact_human_agent",
    "delivery_options",
    "delivery_period",
    "complaint",
    "review",
    "check_invoice",
    "get_invoice",
    "newsletter_subscription",
    "check_payment_methods",
    "payment_issue",
    "check_refund_policy",
    "get_refund",
    "track_refund",
    "change_shipping_address",
    "set_up_shipping_address",
    "greeting",
    "goodbye",
    "thanks",
)
FAQ_INTENT = "faq"

# The canonical shapes of an order number: the shop's own "A123456" (one letter A-H, six
# digits) and the long digit runs of marketplace and ERP confirmations ("100234567891").
ORDER_ID_LETTERS = "ABCDEFGH"
ORDER_ID_LONG_DIGITS = (12, 15)
ORDER_ID_PATTERN = r"[A-H][0-9]{6}|[0-9]{12,15}"
ALL_LABELS: Tuple[str, ...] = (*INTENTS, FAQ_INTENT)

ENTITY_TYPES: Tuple[str, ...] = ("order_id", "email", "money", "date", "product", "tracking_id")


@dataclass(frozen=True)
class Entity:
    """A span of the message recognised as something the bot can use."""

    type: str  # one of ENTITY_TYPES
    value: str  # normalised value (order ids upper-cased, dates ISO, money "12.50 EUR")
    text: str  # the text as written
    start: int
    end: int

    def to_dict(self) -> Dict[str, Any]:
        return {"type": self.type, "value": self.value, "text": self.text,
                "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Entity:
        return cls(d["type"], d["value"], d["text"], int(d["start"]), int(d["end"]))


@dataclass(frozen=True)
class Classification:
    """What ``Bot.classify`` returns: the intent, how sure, and the entities found."""

    text: str
    intent: str
    confidence: float
    entities: Tuple[Entity, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "confidence": self.confidence,
                "entities": [e.to_dict() for e in self.entities]}


@dataclass(frozen=True)
class Product:
    sku: str  # e.g. "SKU-10432"
    name: str  # e.g. "Aurora Wireless Headphones"
    category: str
    price_cents: int

    def to_dict(self) -> Dict[str, Any]:
        return {"sku": self.sku, "name": self.name, "category": self.category,
                "price_cents": self.price_cents}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Product:
        return cls(d["sku"], d["name"], d["category"], int(d["price_cents"]))


@dataclass(frozen=True)
class Order:
    order_id: str  # canonical (ORDER_ID_PATTERN): "A123456" or 12-15 digits
    customer_id: str  # "C000123"
    email: str
    status: str  # pending|processing|shipped|delivered|cancelled|returned
    total_cents: int
    currency: str
    created_at: str  # ISO date
    items: Tuple[Tuple[str, int], ...]  # (sku, quantity)
    tracking_id: Optional[str]  # "TRK" + 10 digits once shipped
    carrier: Optional[str]
    shipping_address: str

    def to_dict(self) -> Dict[str, Any]:
        return {"order_id": self.order_id, "customer_id": self.customer_id, "email": self.email,
                "status": self.status, "total_cents": self.total_cents,
                "currency": self.currency, "created_at": self.created_at,
                "items": [list(i) for i in self.items], "tracking_id": self.tracking_id,
                "carrier": self.carrier, "shipping_address": self.shipping_address}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Order:
        return cls(d["order_id"], d["customer_id"], d["email"], d["status"],
                   int(d["total_cents"]), d["currency"], d["created_at"],
                   tuple((str(s), int(q)) for s, q in d["items"]), d.get("tracking_id"),
                   d.get("carrier"), d["shipping_address"])


@dataclass(frozen=True)
class Article:
    article_id: int
    title: str
    body: str
    category: str
    tags: Tuple[str, ...] = ()


@dataclass(frozen=True)
class FaqHit:
    article_id: int
    title: str
    score: float

    def to_dict(self) -> Dict[str, Any]:
        return {"article_id": self.article_id, "title": self.title, "score": self.score}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> FaqHit:
        return cls(int(d["article_id"]), d["title"], float(d["score"]))


@dataclass(frozen=True)
class Tracking:
    """What the carrier API says about a parcel."""

    tracking_id: str
    status: str
    location: str
    eta: Optional[str]
    ok: bool = True  # False when the carrier failed or timed out
    error: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"tracking_id": self.tracking_id, "status": self.status,
                "location": self.location, "eta": self.eta, "ok": self.ok, "error": self.error}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Tracking:
        return cls(d["tracking_id"], d["status"], d["location"], d.get("eta"),
                   bool(d.get("ok", True)), d.get("error"))


@dataclass(frozen=True)
class Reply:
    """The bot's answer to one message, with what it used and how long each stage took."""

    session_id: str
    intent: str
    confidence: float
    entities: Tuple[Entity, ...]
    answer: str
    sources: Tuple[str, ...]  # e.g. "faq:123", "order:A123456", "carrier:TRK0000000001"
    awaiting: Optional[str] = None  # slot the dialogue waits for, e.g. "order_id"
    timings: Dict[str, float] = field(default_factory=dict, compare=False)  # stage -> ms

    def to_dict(self) -> Dict[str, Any]:
        return {"session_id": self.session_id, "intent": self.intent,
                "confidence": self.confidence,
                "entities": [e.to_dict() for e in self.entities], "answer": self.answer,
                "sources": list(self.sources), "awaiting": self.awaiting,
                "timings": dict(self.timings)}

    def behaviour(self) -> Tuple[Any, ...]:
        """Everything but timings: what must not change when a toggle changes."""
        return (self.intent, self.confidence, self.entities, self.answer, self.sources,
                self.awaiting)

