"""The chatbot: ``Bot(config).reply(session_id, text) -> Reply``.

The dialogue is written once, as a generator that *yields* the I/O it needs
(session state, an order, a FAQ answer, a parcel's tracking) and receives the
results. Two drivers run it: ``reply`` resolves each request with blocking
calls (CONCURRENCY_MODE=sync in the service), ``areply`` awaits them (async).
So the two modes cannot drift apart in behaviour, only in how they wait.
Python 3.9-compatible.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Dict, Generator, List, Optional, Tuple, Union

from .cache import MISS, IRCache, Namespace, RedisConnector, Scope, SessionStore
from .carrier import CarrierClient, HttpCarrierClient
from .config import EngineConfig
from .datagen import DataSpec, ensure_data, load_catalogue
from .faq import FaqIndex, snippet
from .nlu import MAX_CLASSIFY_CHARS, NLU
from .orders import OrderStore
from .types import FAQ_INTENT, Classification, Entity, FaqHit, Order, Reply, Tracking

# Intents that act on one order and ask for its number when it is missing.
ORDER_INTENTS = ("cancel_order", "change_order", "track_order", "get_refund", "track_refund",
                 "get_invoice", "check_invoice")

# The FAQ query of an informational intent: the answer cites the help article
# on the intent's topic, whatever the phrasing.
TOPIC_QUERY: Dict[str, str] = {
    "place_order": "how to place an order checkout",
    "create_account": "create account register",
    "delete_account": "delete close account",
    "edit_account": "edit account personal details",
    "recover_password": "reset forgotten password",
    "registration_problems": "registration problem verification email",
    "switch_account": "switch between accounts",
    "check_cancellation_fee": "cancellation fee",
    "contact_customer_service": "contact customer service opening hours",
    "contact_human_agent": "speak to an agent",
    "delivery_options": "delivery options express standard",
    "delivery_period": "delivery time how long",
    "complaint": "complaint",
    "review": "write a product review",
    "newsletter_subscription": "newsletter subscription",
    "check_payment_methods": "payment methods accepted",
    "payment_issue": "payment declined failed",
    "check_refund_policy": "refund return policy",
    "change_shipping_address": "change shipping address",
    "set_up_shipping_address": "add shipping address",
}

TEMPLATES: Dict[str, str] = {
    "place_order": "You can order straight from the product page: add the item to your "
                   "basket and check out.",
    "create_account": "You can create an account in a minute from 'Sign up' at the top "
                      "of any page.",
    "delete_account": "I can help you close your account. For your security we will "
                      "send a confirmation link to the email on file.",
    "edit_account": "You can change your personal details under Account > Profile.",
    "recover_password": "Use 'Forgot password' on the sign-in page and we will email you "
                        "a reset link valid for 24 hours.",
    "registration_problems": "Sorry the sign-up isn't working. Check your spam folder for "
                             "the verification email, or ask for a new one.",
    "switch_account": "Sign out from the menu, then sign in with the other account; "
                      "business accounts can be linked under Account > Profiles.",
    "check_cancellation_fee": "Cancelling before dispatch is free; after dispatch a return "
                              "is needed instead.",
    "contact_customer_service": "Our support team is available Monday to Saturday, "
                                "8:00-20:00, by chat, email or phone.",
    "contact_human_agent": "I'm connecting you with a member of our support team; "
                           "the current wait is a few minutes.",
    "delivery_options": "We offer standard, express and next-day delivery, and pick-up "
                        "points in most cities.",
    "delivery_period": "Standard delivery takes 2-5 business days, express 1-2.",
    "complaint": "I'm sorry about your experience. I've logged your complaint and a team "
                 "lead will get back to you within 48 hours.",
    "review": "Thank you! You can rate and review any product from your order history.",
    "newsletter_subscription": "You can subscribe or unsubscribe under Account > "
                               "Communication preferences, or from the link in any email.",
    "check_payment_methods": "We accept credit and debit cards, PayPal, Klarna, Apple Pay, "
                             "Google Pay and bank transfer.",
    "payment_issue": "Sorry about the payment trouble. Failed payments are never charged; "
                     "double charges are reversed automatically within 3 days.",
    "check_refund_policy": "You can return most items within 30 days of delivery for a "
                           "full refund.",
    "change_shipping_address": "You can change the shipping address of an order until it "
                               "is dispatched, under Orders > Details.",
    "set_up_shipping_address": "You can add and save shipping addresses under Account > "
                               "Addresses.",
    "greeting": "Hello! How can I help you today?",
    "goodbye": "Goodbye, and thanks for shopping with us!",
    "thanks": "You're welcome! Anything else I can help with?",
}

ASK_ORDER: Dict[str, str] = {
    "cancel_order": "Which order would you like to cancel? Please give me the order "
                    "number (like B123456).",
    "change_order": "Which order would you like to change? Please give me the order number.",
    "track_order": "Sure, which order should I track? Please give me the order number.",
    "get_refund": "Which order is the refund for? Please give me the order number.",
    "track_refund": "Which order's refund should I check? Please give me the order number.",
    "get_invoice": "Which order do you need the invoice for? Please give me the order "
                   "number.",
    "check_invoice": "Which order's invoice should I look at? Please give me the order "
                     "number.",
}

FAQ_FALLBACK = ("I'm not sure I understood. You can ask about orders, deliveries, returns, "
                "payments or your account, or ask to talk to an agent.")


# ---- the I/O the dialogue asks for ----
class SessionGet:
    __slots__ = ("session_id",)

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id


class SessionPut:
    __slots__ = ("session_id", "state")

    def __init__(self, session_id: str, state: Optional[Dict[str, Any]]) -> None:
        self.session_id = session_id
        self.state = state


class GetOrder:
    __slots__ = ("order_id",)

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id


class FaqAnswer:
    __slots__ = ("query", "with_snippet")

    def __init__(self, query: str, with_snippet: bool) -> None:
        self.query = query
        self.with_snippet = with_snippet


class Track:
    __slots__ = ("tracking_id",)

    def __init__(self, tracking_id: str) -> None:
        self.tracking_id = tracking_id


Effect = Union[SessionGet, SessionPut, GetOrder, FaqAnswer, Track]
FaqResult = Tuple[Tuple[FaqHit, ...], str]
Dialogue = Generator[Effect, Any, Reply]

# ---- cache namespaces (Redis stores JSON; memory stores the objects) ----


def _enc_order(o: Optional[Order]) -> Any:
    return None if o is None else o.to_dict()


def _dec_order(d: Any) -> Optional[Order]:
    return None if d is None else Order.from_dict(d)


def _enc_faq(v: FaqResult) -> Any:
    return {"hits": [h.to_dict() for h in v[0]], "snippet": v[1]}


def _dec_faq(d: Any) -> FaqResult:
    return tuple(FaqHit.from_dict(h) for h in d["hits"]), d["snippet"]


def _money(cents: int, currency: str) -> str:
    return "%d.%02d %s" % (cents // 100, cents % 100, currency)


def _first(entities: Tuple[Entity, ...], kind: str) -> Optional[str]:
    for e in entities:
        if e.type == kind:
            return e.value
    return None


class Bot:
    """The rule-based support bot over its data, caches and the carrier API."""

    def __init__(self, config: EngineConfig, carrier: Optional[CarrierClient] = None) -> None:
        config.validate()
        self.config = config
        t0 = time.perf_counter()
        self.paths = ensure_data(config.data_dir, DataSpec.from_config(config))
        self.catalogue = load_catalogue(self.paths)
        self.nlu = NLU(config, self.catalogue)
        self.orders = OrderStore(self.paths.orders_db, config.order_index, config.pooling)
        self.faq = FaqIndex(self.paths.faq_db, config.faq_loading, config.faq_batch_size,
                            config.faq_cache_batches, config.pooling)
        self.redis: Optional[RedisConnector] = (
            RedisConnector(config.redis_url, config.redis_timeout, config.pooling,
                           client=config.redis_client)
            if config.uses_redis else None)
        self.cache = IRCache(config.ir_cache_backend, config.ir_cache_size,
                             config.redis_prefix, self.redis)
        self.sessions = SessionStore(config.redis_prefix, config.session_ttl, self.redis)
        self.carrier: CarrierClient = carrier if carrier is not None else HttpCarrierClient(
            config.carrier_url, config.carrier_timeout, config.pooling)
        ttl = config.ir_cache_ttl
        self.ns_order = Namespace("order", ttl, _enc_order, _dec_order)
        self.ns_faq = Namespace("faq", ttl, _enc_faq, _dec_faq)
        # parcels move: tracking is cached for at most a minute whatever IR_CACHE_TTL says
        self.ns_track = Namespace("track", min(ttl, 60.0), lambda t: t.to_dict(),
                                  Tracking.from_dict)
        self.startup_seconds = time.perf_counter() - t0

    def classify(self, text: str) -> Classification:
        """Intent, confidence and entities of one message (through the intent cache)."""
        return self.nlu.classify(text)

    # ---- the two drivers ----
    def reply(self, session_id: str, text: str) -> Reply:
        """Answer one message, blocking on I/O."""
        t0 = time.perf_counter()
        timings: Dict[str, float] = {}
        cls = self.classify(text)
        timings["classify"] = (time.perf_counter() - t0) * 1000.0
        dialogue = self._dialogue(session_id, cls)
        scope = Scope()
        try:
            effect = next(dialogue)
            while True:
                t = time.perf_counter()
                result = self._resolve(scope, effect)
                _add(timings, effect, t)
                effect = dialogue.send(result)
        except StopIteration as stop:
            reply: Reply = stop.value
        finally:
            scope.close()
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        reply.timings.update(timings)
        return reply

    async def areply(self, session_id: str, text: str) -> Reply:
        """Answer one message, awaiting I/O (Redis, the carrier)."""
        t0 = time.perf_counter()
        timings: Dict[str, float] = {}
        cls = self.classify(text)
        timings["classify"] = (time.perf_counter() - t0) * 1000.0
        dialogue = self._dialogue(session_id, cls)
        scope = Scope()
        try:
            effect = next(dialogue)
            while True:
                t = time.perf_counter()
                result = await self._aresolve(scope, effect)
                _add(timings, effect, t)
                effect = dialogue.send(result)
        except StopIteration as stop:
            reply: Reply = stop.value
        finally:
            await scope.aclose()
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        reply.timings.update(timings)
        return reply

    def _resolve(self, scope: Scope, effect: Effect) -> Any:
        if isinstance(effect, SessionGet):
            return self.sessions.get(scope, effect.session_id)
        if isinstance(effect, SessionPut):
            return self.sessions.put(scope, effect.session_id, effect.state)
        if isinstance(effect, GetOrder):
            value = self.cache.get(scope, self.ns_order, effect.order_id)
            if value is MISS:
                value = self.orders.get(effect.order_id)
                self.cache.set(scope, self.ns_order, effect.order_id, value)
            return value
        if isinstance(effect, FaqAnswer):
            key = _faq_key(effect)
            value = self.cache.get(scope, self.ns_faq, key)
            if value is MISS:
                value = self._faq_answer(effect)
                self.cache.set(scope, self.ns_faq, key, value)
            return value
        if isinstance(effect, Track):
            value = self.cache.get(scope, self.ns_track, effect.tracking_id)
            if value is MISS:
                value = self.carrier.track(effect.tracking_id)
                if value.ok:
                    self.cache.set(scope, self.ns_track, effect.tracking_id, value)
            return value
        raise TypeError("unknown effect %r" % (effect,))  # pragma: no cover

    async def _aresolve(self, scope: Scope, effect: Effect) -> Any:
        if isinstance(effect, SessionGet):
            return await self.sessions.aget(scope, effect.session_id)
        if isinstance(effect, SessionPut):
            return await self.sessions.aput(scope, effect.session_id, effect.state)
        if isinstance(effect, GetOrder):
            value = await self.cache.aget(scope, self.ns_order, effect.order_id)
            if value is MISS:
                value = self.orders.get(effect.order_id)  # local SQLite: no await to gain
                await self.cache.aset(scope, self.ns_order, effect.order_id, value)
            return value
        if isinstance(effect, FaqAnswer):
            key = _faq_key(effect)
            value = await self.cache.aget(scope, self.ns_faq, key)
            if value is MISS:
                value = self._faq_answer(effect)
                await self.cache.aset(scope, self.ns_faq, key, value)
            return value
        if isinstance(effect, Track):
            value = await self.cache.aget(scope, self.ns_track, effect.tracking_id)
            if value is MISS:
                value = await self.carrier.atrack(effect.tracking_id)
                if value.ok:
                    await self.cache.aset(scope, self.ns_track, effect.tracking_id, value)
            return value
        raise TypeError("unknown effect %r" % (effect,))  # pragma: no cover

    def _faq_answer(self, effect: FaqAnswer) -> FaqResult:
        hits = tuple(self.faq.search(effect.query, 3))
        text = ""
        if effect.with_snippet and hits:
            article = self.faq.get(hits[0].article_id)
            if article is not None:
                text = snippet(article, effect.query)
        return hits, text

    # ---- the dialogue ----
    def _dialogue(self, session_id: str, cls: Classification) -> Dialogue:
        state = yield SessionGet(session_id)
        intent, confidence, entities = cls.intent, cls.confidence, cls.entities
        order_id = _first(entities, "order_id")
        pending = state.get("pending") if state else None
        if pending and order_id is None:
            given = self.nlu.extractor.order_in_answer(cls.text[:MAX_CLASSIFY_CHARS])
            if given is not None:
                order_id = given.value
                entities = tuple(sorted((*entities, given), key=lambda e: e.start))
        if pending:
            if order_id is not None:
                if intent not in ORDER_INTENTS:
                    intent, confidence = pending, float(state.get("confidence", confidence))
                yield SessionPut(session_id, None)
                state = None
            elif intent == FAQ_INTENT and int(state.get("asked", 1)) < 2:
                asked = int(state.get("asked", 1)) + 1
                yield SessionPut(session_id, dict(state, asked=asked))
                return self._reply(session_id, pending,
                                   float(state.get("confidence", confidence)), entities,
                                   "I still need the order number, like B123456. You'll "
                                   "find it in your confirmation email.", (), "order_id")
            else:  # the customer moved on: drop the pending question
                yield SessionPut(session_id, None)
                state = None
        if intent in ORDER_INTENTS:
            tracking_id = _first(entities, "tracking_id")
            if order_id is None and intent == "track_order" and tracking_id is not None:
                tracking = yield Track(tracking_id)
                return self._reply(session_id, intent, confidence, entities,
                                   _tracking_text(tracking), ("carrier:" + tracking_id,))
            if order_id is None:
                yield SessionPut(session_id, {"pending": intent, "confidence": confidence,
                                              "asked": 1})
                return self._reply(session_id, intent, confidence, entities,
                                   ASK_ORDER[intent], (), "order_id")
            order = yield GetOrder(order_id)
            if order is None:
                return self._reply(session_id, intent, confidence, entities,
                                   "I couldn't find an order with the number %s. Please "
                                   "check it against your confirmation email." % order_id, ())
            tracking = None
            if intent == "track_order" and order.tracking_id:
                tracking = yield Track(order.tracking_id)
            answer, sources = _order_answer(intent, order, tracking)
            return self._reply(session_id, intent, confidence, entities, answer, sources)
        if intent == FAQ_INTENT:
            hits, text = yield FaqAnswer(self.nlu.normalize(cls.text), True)
            if not hits:
                return self._reply(session_id, intent, confidence, entities, FAQ_FALLBACK, ())
            top = hits[0]
            answer = "%s: %s" % (top.title, text) if text else top.title
            return self._reply(session_id, intent, confidence, entities, answer,
                               tuple("faq:%d" % h.article_id for h in hits))
        template = TEMPLATES[intent]
        topic = TOPIC_QUERY.get(intent)
        if topic is None:  # small talk
            return self._reply(session_id, intent, confidence, entities, template, ())
        hits, _ = yield FaqAnswer(topic, False)  # the intent's help article
        if hits:
            template = "%s More in our help article '%s'." % (template, hits[0].title)
        return self._reply(session_id, intent, confidence, entities, template,
                           tuple("faq:%d" % h.article_id for h in hits[:1]))

    @staticmethod
    def _reply(session_id: str, intent: str, confidence: float, entities: Tuple[Entity, ...],
               answer: str, sources: Tuple[str, ...], awaiting: Optional[str] = None) -> Reply:
        return Reply(session_id, intent, confidence, entities, answer, sources, awaiting, {})

    # ---- operations ----
    def health(self) -> Dict[str, Any]:
        """Dependency status; "degraded" when Redis is configured but unreachable."""
        out: Dict[str, Any] = {"status": "ok", "cache_backend": self.config.ir_cache_backend}
        if self.redis is None:
            out["redis"] = "not used"
        else:
            problem = self.redis.ping()
            out["redis"] = "ok" if problem is None else "unreachable: " + problem
            if problem is not None:
                out["status"] = "degraded"
        return out

    async def ahealth(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"status": "ok", "cache_backend": self.config.ir_cache_backend}
        if self.redis is None:
            out["redis"] = "not used"
        else:
            problem = await self.redis.aping()
            out["redis"] = "ok" if problem is None else "unreachable: " + problem
            if problem is not None:
                out["status"] = "degraded"
        return out

    def cache_stats(self) -> Dict[str, Dict[str, int]]:
        """Hits and misses per cache layer (what /metrics exports)."""
        out = self.cache.stats_dict()
        intent = self.nlu.stats()
        if intent is not None:
            out["intent"] = intent
        faq = self.faq.stats()
        if "batch_hits" in faq or "batch_misses" in faq:
            out["faq_batches"] = {"hits": int(faq.get("batch_hits", 0)),
                                  "misses": int(faq.get("batch_misses", 0)), "errors": 0}
        if self.redis is not None:
            layer = out.setdefault("redis", {"hits": 0, "misses": 0, "errors": 0})
            layer["session_fallbacks"] = self.sessions.fallbacks
            layer["connection_failures"] = self.redis.failures
        return out

    def close(self) -> None:
        self.orders.close()
        self.faq.close()
        self.carrier.close()
        if self.redis is not None:
            self.redis.close()

    async def aclose(self) -> None:
        self.orders.close()
        self.faq.close()
        await self.carrier.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def _faq_key(effect: FaqAnswer) -> str:
    raw = ("s:" if effect.with_snippet else "t:") + effect.query
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def _add(timings: Dict[str, float], effect: Effect, t0: float) -> None:
    name = {SessionGet: "session", SessionPut: "session", GetOrder: "order",
            FaqAnswer: "faq", Track: "carrier"}[type(effect)]
    timings[name] = timings.get(name, 0.0) + (time.perf_counter() - t0) * 1000.0


def _tracking_text(t: Tracking) -> str:
    if not t.ok:
        return ("I have the tracking number %s, but the carrier's tracking service is not "
                "answering right now. Please try again in a few minutes." % t.tracking_id)
    eta = ", expected %s" % t.eta if t.eta else ""
    return "Parcel %s: %s, last seen at %s%s." % (t.tracking_id, t.status, t.location, eta)


def _order_answer(intent: str, o: Order, tracking: Optional[Tracking]
                  ) -> Tuple[str, Tuple[str, ...]]:
    total = _money(o.total_cents, o.currency)
    n = sum(q for _, q in o.items)
    items = "%d item%s" % (n, "" if n == 1 else "s")
    src: List[str] = ["order:" + o.order_id]
    open_ = o.status in ("pending", "processing")
    if intent == "cancel_order":
        if open_:
            text = ("Your order %s (%s, %s) is cancelled. A confirmation is on its way to %s."
                    % (o.order_id, items, total, o.email))
        elif o.status == "cancelled":
            text = "Order %s is already cancelled." % o.order_id
        else:
            text = ("Order %s is already %s, so it can no longer be cancelled; you can return "
                    "it within 30 days of delivery for a refund." % (o.order_id, o.status))
    elif intent == "change_order":
        if open_:
            text = ("Order %s (%s) is still %s, so it can be changed: I've opened a change "
                    "request and we'll email %s." % (o.order_id, items, o.status, o.email))
        else:
            text = "Order %s is %s and can no longer be changed." % (o.order_id, o.status)
    elif intent == "track_order":
        if tracking is not None:
            src.append("carrier:" + tracking.tracking_id)
            text = "Order %s shipped with %s. %s" % (o.order_id, o.carrier,
                                                      _tracking_text(tracking))
        else:
            text = "Order %s is %s and has not shipped yet." % (o.order_id, o.status)
    elif intent == "get_refund":
        if o.status in ("delivered", "returned"):
            text = ("I've started a refund of %s for order %s; it reaches your original "
                    "payment method in 5-10 business days." % (total, o.order_id))
        elif o.status == "cancelled":
            text = ("Order %s was cancelled and its %s were refunded automatically."
                    % (o.order_id, total))
        elif o.status == "shipped":
            text = ("Order %s is on its way; once it arrives you can return it for a refund "
                    "of %s." % (o.order_id, total))
        else:
            text = ("Order %s hasn't shipped yet: cancel it and the %s are refunded in full."
                    % (o.order_id, total))
    elif intent == "track_refund":
        if o.status in ("returned", "cancelled"):
            text = ("The refund of %s for order %s has been issued; banks take 5-10 business "
                    "days to show it." % (total, o.order_id))
        else:
            text = ("There is no refund in progress for order %s (status: %s)."
                    % (o.order_id, o.status))
    elif intent == "get_invoice":
        text = "I've emailed the invoice for order %s (%s) to %s." % (o.order_id, total,
                                                                      o.email)
    else:  # check_invoice
        text = ("Invoice for order %s of %s: %s, total %s." % (o.order_id, o.created_at,
                                                               items, total))
    return text, tuple(src)
