"""A seeded generator of customer messages and conversations for the support chatbot.

Pure and deterministic for a seed, stdlib only, Python 3.9-compatible (``profiles/`` and
the engine under PyPy import it). It never imports ``locust``.

How a message is drawn:

1. a conversation's intent is drawn from the *mix* (weights per label; order tracking and
   refunds dominate, small talk and FAQ questions are common);
2. its phrasing is drawn from that intent's pool of distinct phrasings with a Zipf law of
   exponent ``zipf_s`` (rank 1 most popular), so popular questions repeat and caches see a
   realistic hit ratio; all pools together hold ``pool_size`` distinct texts;
3. intents that need an order number either carry it in the message ("where is B204518?")
   or, with probability ``multi_turn_share``, open a multi-turn flow: "I want to cancel my
   order" -> the bot asks which order -> the next message is just the number ("b204518",
   "#B204518", ...); a share of flows then ends with a thanks/goodbye turn;
4. order numbers come from ``order_ids`` (inject the service DB's ids, see
   :func:`load_order_ids`), except a share ``unknown_order_share`` of ids that are in the
   right format but not in the list. Both shapes occur, as in the service's DB: the shop's
   "B204518" and long digit runs ("100234567891"), which a message always introduces as
   an order ("order 100234567891", "#100234567891", "purchase 100234567891").

The phrasings here are written for load generation and are deliberately not the engine's
evaluation set (``tests/data/intents_*.jsonl``).
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from engine.types import (
    FAQ_INTENT,
    INTENTS,
    ORDER_ID_LETTERS,
    ORDER_ID_LONG_DIGITS,
    ORDER_ID_PATTERN,
)

__all__ = [
    "DEFAULT_MIX",
    "ORDER_INTENTS",
    "Conversation",
    "Message",
    "Workload",
    "format_order_id",
    "is_order_id",
    "load_order_ids",
    "load_unknown_order_ids",
    "synthetic_order_ids",
    "unknown_order_ids",
    "zipf_sampler",
]

ORDER_LETTERS = ORDER_ID_LETTERS
LONG_ID_EVERY = 4  # every 4th synthetic id is a long numeric one, as in the seeded DB
_ORDER_ID_RE = re.compile(ORDER_ID_PATTERN)

# Share of conversations per label (normalised). Per message, order flows weigh a little
# more because a multi-turn flow sends two or three messages.
DEFAULT_MIX: Dict[str, float] = {
    "track_order": 15.0,
    "get_refund": 8.0,
    "track_refund": 7.0,
    "cancel_order": 6.0,
    "change_order": 3.0,
    "get_invoice": 3.0,
    "check_invoice": 2.0,
    "place_order": 2.0,
    FAQ_INTENT: 12.0,
    "greeting": 6.0,
    "thanks": 5.0,
    "goodbye": 3.0,
    "delivery_period": 3.0,
    "delivery_options": 2.0,
    "check_payment_methods": 2.0,
    "payment_issue": 2.0,
    "check_refund_policy": 2.0,
    "check_cancellation_fee": 1.5,
    "contact_customer_service": 1.5,
    "contact_human_agent": 1.5,
    "complaint": 1.5,
    "review": 1.0,
    "change_shipping_address": 1.5,
    "set_up_shipping_address": 1.0,
    "create_account": 1.0,
    "delete_account": 0.5,
    "edit_account": 1.0,
    "recover_password": 1.5,
    "registration_problems": 0.5,
    "switch_account": 0.5,
    "newsletter_subscription": 1.0,
}

# Intents whose dialogue needs an order number (slot "order_id").
ORDER_INTENTS: Tuple[str, ...] = (
    "cancel_order",
    "track_order",
    "get_refund",
    "track_refund",
    "change_order",
    "get_invoice",
)

_PRODUCTS = (
    "wireless headphones", "running shoes", "rain jacket", "coffee grinder", "yoga mat",
    "desk lamp", "backpack", "smart watch", "phone case", "wool scarf", "blender",
    "gaming mouse", "linen sheets", "water bottle", "hiking boots", "bluetooth speaker",
)
_MONEY = ("19.99", "24.50 EUR", "$42", "€89.90", "120 euros", "7.25", "$310.00", "56 EUR")
_EMAILS = ("ana.perez@example.com", "j.smith@example.org", "kim88@example.net",
           "lucas.m@example.com", "noor@example.org")
_CITIES = ("Lisbon", "Berlin", "Lyon", "Madrid", "Rotterdam", "Milan", "Vienna", "Dublin")

_PREFIXES = ("", "", "hi, ", "hello, ", "hey ", "good morning, ", "excuse me, ", "quick question: ",
             "sorry to bother you, ", "um ", "hi there! ")
_SUFFIXES = ("", "", "?", " please", " please?", "!!", " thanks", " asap", " :(", " ??")
_SMALL_TALK = ("greeting", "thanks", "goodbye")
_SMALL_PREFIXES = ("", "", "oh ", "ok ", "well ")
_SMALL_SUFFIXES = ("", "", "!", "!!", " :)", ".", " 🙂", "!!!")

# Phrasings per intent. "{order}" is filled at draw time with an order number variant;
# "{product}", "{money}", "{email}", "{city}" are expanded when the pool is built.
_PHRASES: Dict[str, Tuple[str, ...]] = {
    "track_order": (
        "where is my package", "where's my parcel", "has my order shipped yet",
        "i'd like to know where my delivery is", "can you tell me the status of my purchase",
        "my order still hasn't arrived", "track my shipment", "when will my stuff get here",
        "what is the delivery status of my order", "is my {product} on its way",
    ),
    "cancel_order": (
        "i want to cancel my order", "please cancel my purchase", "cancel the order i just made",
        "i changed my mind, cancel it", "how can i cancel an order i placed yesterday",
        "i don't want the {product} anymore, cancel the order",
        "stop my order from shipping", "can my purchase still be cancelled",
    ),
    "change_order": (
        "i need to change my order", "can i modify what i ordered", "add another item to my order",
        "swap the {product} in my order for a different size", "i want to edit my purchase",
        "can i change the quantity in my order", "update the items in my order",
    ),
    "get_refund": (
        "i want my money back", "i'd like a refund", "refund my purchase please",
        "how do i get reimbursed for my order", "the {product} broke, i want a refund",
        "can i get a refund for the {product}", "request a refund of {money}",
        "give me back the {money} i paid",
    ),
    "track_refund": (
        "where is my refund", "my refund hasn't arrived yet", "when will i get my money back",
        "status of my reimbursement", "i'm still waiting on the {money} refund",
        "has my refund been processed", "how long until the refund shows up on my card",
    ),
    "get_invoice": (
        "send me the invoice for my order", "i need a receipt for my purchase",
        "can i download the invoice", "email me the bill for my order",
        "i need an invoice for my company", "where do i get a copy of my receipt",
    ),
    "check_invoice": (
        "i want to look at my invoices", "show me my past bills", "check my invoice",
        "where can i see the invoices for my account", "is there an invoice for {money}",
    ),
    "place_order": (
        "i want to buy a {product}", "how do i place an order", "i'd like to order the {product}",
        "can i purchase something over chat", "help me make an order",
        "i want to order two {product}s",
    ),
    "create_account": (
        "how do i open an account", "i want to sign up", "create a new account for me",
        "can i register with {email}", "i'd like to make an account",
    ),
    "delete_account": (
        "delete my account", "how do i close my profile", "remove all my data and my account",
        "i want to deactivate my account for good",
    ),
    "edit_account": (
        "change the email on my account to {email}", "i need to update my profile details",
        "how can i edit my personal information", "update my phone number",
        "modify my account name",
    ),
    "recover_password": (
        "i forgot my password", "reset my password", "i can't log in, lost my password",
        "how do i recover my account password", "password reset link isn't working",
    ),
    "registration_problems": (
        "i can't finish signing up", "the registration form gives an error",
        "sign-up keeps failing with {email}", "problem creating my account",
    ),
    "switch_account": (
        "how do i switch to my other account", "change to a different user",
        "log me into my second profile", "swap accounts",
    ),
    "check_cancellation_fee": (
        "is there a fee to cancel", "how much does it cost to cancel an order",
        "will i be charged for cancelling", "cancellation penalty?",
    ),
    "contact_customer_service": (
        "how do i contact customer support", "what is your customer service phone number",
        "what are your support hours", "i need to email customer service",
    ),
    "contact_human_agent": (
        "let me talk to a human", "i want a real person", "connect me with an agent",
        "transfer me to a live representative", "put me through to an operator",
    ),
    "delivery_options": (
        "what shipping methods do you have", "do you offer express delivery",
        "can i pick up my order in store", "what delivery options are there to {city}",
    ),
    "delivery_period": (
        "how long does shipping take", "how many days for delivery to {city}",
        "when will it arrive if i order today", "what's the usual delivery time",
    ),
    "complaint": (
        "i'm very unhappy with your service", "i want to file a complaint",
        "the {product} arrived damaged and nobody helps", "this is unacceptable",
        "your courier was rude, i want to complain",
    ),
    "review": (
        "i want to leave feedback", "where can i write a review of the {product}",
        "i'd like to rate my experience", "great service, how do i post a review",
    ),
    "newsletter_subscription": (
        "sign me up for the newsletter", "unsubscribe me from your emails",
        "add {email} to your mailing list", "how do i stop the promotional emails",
    ),
    "check_payment_methods": (
        "what payment methods do you accept", "can i pay with paypal",
        "do you take apple pay", "is cash on delivery possible",
    ),
    "payment_issue": (
        "my payment was declined", "i was charged twice", "the card payment failed",
        "you took {money} but the order didn't go through", "problem paying with my card",
    ),
    "check_refund_policy": (
        "explain the refund rules to me", "how many days do i have to return something",
        "are refunds possible on sale items", "can i return a used {product}",
    ),
    "change_shipping_address": (
        "i need to change my delivery address", "ship it to a different address please",
        "update the shipping address to {city}", "i moved, change my address",
    ),
    "set_up_shipping_address": (
        "add a new shipping address", "how do i save an address to my account",
        "set up a delivery address in {city}", "register a second shipping address",
    ),
    "greeting": (
        "hi", "hello", "hey there", "good morning", "good evening", "hiya", "hello, anyone there",
        "yo",
    ),
    "thanks": (
        "thanks", "thanks ever so much", "cheers", "great, thanks a lot", "much appreciated",
        "thx", "perfect, thank you",
    ),
    "goodbye": (
        "bye", "goodbye", "see you", "that's all, bye", "have a nice day", "talk later",
    ),
    FAQ_INTENT: (
        "do you sell gift cards", "how do i wash the {product}", "is the {product} waterproof",
        "what warranty comes with the {product}", "does the {product} come in other colours",
        "do you ship internationally", "can i use two discount codes at once",
        "how do i find my size", "is any of your stuff vegan-friendly",
        "do you have a loyalty programme",
        "is there a student discount", "what batteries does the {product} use",
        "how do i redeem a voucher", "are the prices including vat",
    ),
}

# Phrasings that carry the order number in the same message.
_WITH_ORDER: Dict[str, Tuple[str, ...]] = {
    "track_order": (
        "where is my order {order}", "track order {order}", "status of {order}",
        "has {order} shipped", "when will order {order} arrive", "any news on {order}",
    ),
    "cancel_order": (
        "cancel order {order}", "please cancel {order}", "i want to cancel {order}",
        "can you cancel my order {order}",
    ),
    "change_order": (
        "change order {order}", "i need to modify {order}", "can i edit order {order}",
    ),
    "get_refund": (
        "refund for order {order}", "i want my money back for {order}",
        "please refund {order}", "request a refund on {order}",
    ),
    "track_refund": (
        "where is the refund for {order}", "refund status {order}",
        "has the refund for {order} been paid",
    ),
    "get_invoice": (
        "invoice for {order}", "send me the receipt of order {order}",
        "i need the invoice of {order}",
    ),
}

# What a customer types when the bot asks "which order?".
_SLOT_REPLIES = (
    ("{order}", 40.0), ("{lower}", 12.0), ("#{order}", 12.0), ("order {order}", 8.0),
    ("it's {order}", 8.0), ("{order} please", 6.0), ("the number is {order}", 6.0),
    ("order #{order}", 8.0),
)
_ID_VARIANTS = (("{order}", 60.0), ("{lower}", 15.0), ("#{order}", 20.0), ("no. {order}", 5.0))
# A long numeric id is introduced as an order; after "order" in the template, as it stands.
_LONG_ID_VARIANTS = (("#{order}", 40.0), ("order {order}", 25.0), ("purchase {order}", 15.0),
                     ("order no. {order}", 10.0), ("order #{order}", 10.0))
_LONG_AFTER_ORDER = (("{order}", 70.0), ("#{order}", 30.0))
_CLOSERS = (("thanks", "thanks"), ("thank you!", "thanks"), ("ok great, bye", "goodbye"),
            ("perfect thanks", "thanks"), ("bye", "goodbye"))

_FAQ_QUERIES = (
    "return policy", "refund time", "gift card", "gift card balance", "shipping cost",
    "express delivery", "international shipping", "warranty", "size guide", "discount code",
    "student discount", "loyalty points", "change address", "cancel order", "invoice",
    "payment methods", "paypal", "apple pay", "track parcel", "damaged item", "exchange size",
    "opening hours", "contact", "newsletter", "delete account", "password reset",
)


@dataclass(frozen=True)
class Message:
    """One customer message, as POSTed to /api/chat."""

    session_id: str
    text: str
    expected_intent: str  # the label the bot should answer with (the flow's for a slot reply)
    turn: int  # 1-based position in its conversation
    order_id: Optional[str] = None  # canonical order number the message refers to, if any
    awaits_order: bool = False  # True when the bot should ask for the order number next

    def to_json(self) -> Dict[str, str]:
        """The request body of POST /api/chat."""
        return {"session_id": self.session_id, "message": self.text}


@dataclass(frozen=True)
class Conversation:
    """The messages one customer sends in one session, in order."""

    session_id: str
    messages: Tuple[Message, ...]

    @property
    def turns(self) -> List[str]:
        return [m.text for m in self.messages]

    @property
    def intent(self) -> str:
        """The conversation's main intent (that of its first message)."""
        return self.messages[0].expected_intent

    @property
    def multi_turn(self) -> bool:
        return self.messages[0].awaits_order


def format_order_id(letter: str, number: int) -> str:
    return f"{letter.upper()}{number:06d}"


def is_order_id(text: str) -> bool:
    """True for a canonical order number: one letter A-H then six digits, or 12-15 digits."""
    return _ORDER_ID_RE.fullmatch(text) is not None


def _draw_order_id(rng: random.Random, long_id: bool) -> str:
    if long_id:
        low, high = ORDER_ID_LONG_DIGITS
        digits = rng.randint(low, high)
        return str(rng.randrange(10 ** (digits - 1), 10 ** digits))
    return format_order_id(rng.choice(ORDER_LETTERS), rng.randrange(1000000))


def synthetic_order_ids(n: int = 40000, seed: int = 42) -> List[str]:
    """``n`` distinct canonical order numbers (every 4th a long numeric one), deterministic."""
    rng = random.Random(seed * 7919 + 17)
    seen: set = set()
    out: List[str] = []
    while len(out) < n:
        oid = _draw_order_id(rng, len(out) % LONG_ID_EVERY == LONG_ID_EVERY - 1)
        if oid not in seen:
            seen.add(oid)
            out.append(oid)
    return out


def unknown_order_ids(known: Sequence[str], n: int, seed: int = 0) -> List[str]:
    """``n`` distinct ids in the canonical format that are not in ``known``."""
    known_set = set(known)
    rng = random.Random(seed * 104729 + 3)
    out: List[str] = []
    seen: set = set()
    for _ in range(n * 1000 + 1000):
        if len(out) >= n:
            break
        oid = _draw_order_id(rng, len(out) % LONG_ID_EVERY == LONG_ID_EVERY - 1)
        if oid not in known_set and oid not in seen:
            seen.add(oid)
            out.append(oid)
    return out


def _datagen_spec(seed: int, n_orders: Optional[int]):
    """``(datagen module, DataSpec)`` for the service's data, or ``(None, None)``."""
    try:
        from engine import datagen
    except ImportError:
        return None, None
    try:
        from engine.config import EngineConfig

        n = n_orders if n_orders is not None else EngineConfig().n_orders
        return datagen, datagen.DataSpec(seed=seed, n_orders=n)
    except Exception:
        return None, None


def load_order_ids(seed: int = 42, n_orders: Optional[int] = None,
                   limit: int = 50000) -> List[str]:
    """Order numbers that exist in the service's DB for ``DATA_SEED=seed``.

    Regenerated from the seed by ``engine.datagen.order_ids`` (read-only, cheap, no DB
    opened). ``n_orders`` is the service's ``ORDERS_COUNT`` (default: ``EngineConfig``'s);
    it must match the service's, since the ids depend on it. At most ``limit`` ids are
    returned (the first ones: a random sample already). Falls back to
    :func:`synthetic_order_ids` when ``engine.datagen`` is not importable.
    """
    datagen, spec = _datagen_spec(seed, n_orders)
    if datagen is not None:
        ids = datagen.order_ids(spec)
        return [str(i) for i in ids[:limit]]
    return synthetic_order_ids(min(n_orders or 40000, limit), seed)


def load_unknown_order_ids(seed: int = 42, n_orders: Optional[int] = None,
                           count: int = 2000) -> List[str]:
    """Well-formed order numbers that are *not* in the service's DB (``engine.datagen``'s
    ``missing_order_id``); falls back to :func:`unknown_order_ids` of the synthetic ids."""
    datagen, spec = _datagen_spec(seed, n_orders)
    if datagen is not None:
        return list(dict.fromkeys(str(datagen.missing_order_id(spec, i))
                                  for i in range(count)))
    return unknown_order_ids(synthetic_order_ids(min(n_orders or 40000, 50000), seed), count,
                             seed)


def zipf_sampler(n: int, s: float, rng: random.Random):
    """A closure drawing ranks 0..n-1 with P(k) proportional to 1/(k+1)**s."""
    if n <= 0:
        raise ValueError("zipf_sampler needs n >= 1")
    cum: List[float] = []
    total = 0.0
    for k in range(1, n + 1):
        total += 1.0 / (k ** s)
        cum.append(total)
    rand = rng.random

    def draw() -> int:
        return min(bisect.bisect_right(cum, rand() * total), n - 1)

    return draw


def _weighted(rng: random.Random, items: Sequence[Tuple[str, float]]):
    values = [v for v, _ in items]
    cum = list(itertools.accumulate(w for _, w in items))
    total = cum[-1]

    def draw() -> str:
        return values[min(bisect.bisect_right(cum, rng.random() * total), len(values) - 1)]

    return draw


def _expand(template: str) -> List[str]:
    """All fillings of {product}/{money}/{email}/{city} (the {order} slot is kept)."""
    outs = [template]
    for key, values in (("{product}", _PRODUCTS), ("{money}", _MONEY), ("{email}", _EMAILS),
                        ("{city}", _CITIES)):
        if key in template:
            outs = [o.replace(key, v) for o in outs for v in values]
    return outs


def _build_pool(bases: Sequence[str], size: int, rng: random.Random,
                small_talk: bool = False) -> List[str]:
    """``size`` distinct phrasings (fewer if the templates cannot make that many).

    The plain phrasings come first so the most popular ranks are the plain ones; then a
    seeded shuffle of prefix/suffix/casing variants.
    """
    plain: List[str] = []
    for b in bases:
        plain.extend(_expand(b))
    rng.shuffle(plain)
    pool = list(dict.fromkeys(plain))
    if len(pool) >= size:
        return pool[:size]
    prefixes, suffixes = (_SMALL_PREFIXES, _SMALL_SUFFIXES) if small_talk else (_PREFIXES,
                                                                                  _SUFFIXES)
    variants = []
    for text in plain:
        for p in prefixes:
            for s in suffixes:
                variants.append(p + text + s)
    rng.shuffle(variants)
    seen = set(pool)
    for v in variants:
        if len(pool) >= size:
            break
        if rng.random() < 0.15 and "{order}" not in v:
            v = v.capitalize()
        if v not in seen:
            seen.add(v)
            pool.append(v)
    return pool


class Workload:
    """A deterministic stream of customer messages for a seed.

    ``order_ids`` are the order numbers the service's DB holds (default: synthetic ids in
    the right format; see :func:`load_order_ids`); ``unknown_ids`` well-formed ones it does
    not hold (default: drawn outside ``order_ids``; see :func:`load_unknown_order_ids`).
    ``mix`` maps labels (engine intents or ``"faq"``) to relative weights of conversations.
    ``session_prefix`` keeps session ids unique across generator processes.
    """

    def __init__(
        self,
        seed: int = 42,
        zipf_s: float = 1.1,
        order_ids: Optional[Sequence[str]] = None,
        mix: Optional[Mapping[str, float]] = None,
        pool_size: int = 4000,
        multi_turn_share: float = 0.5,
        closing_share: float = 0.25,
        unknown_order_share: float = 0.05,
        unknown_ids: Optional[Sequence[str]] = None,
        interleave: int = 128,
        session_prefix: str = "",
    ) -> None:
        mix = dict(DEFAULT_MIX if mix is None else mix)
        unknown_labels = sorted(set(mix) - set(INTENTS) - {FAQ_INTENT})
        if unknown_labels:
            raise ValueError(f"unknown labels in mix: {', '.join(unknown_labels)}")
        mix = {k: float(v) for k, v in mix.items() if v > 0}
        if not mix:
            raise ValueError("mix has no positive weight")
        for name, share in (("multi_turn_share", multi_turn_share),
                            ("closing_share", closing_share),
                            ("unknown_order_share", unknown_order_share)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {share!r}")
        if zipf_s < 0:
            raise ValueError("zipf_s must be >= 0")
        self.seed = seed
        self.zipf_s = zipf_s
        self.mix: Dict[str, float] = mix
        self.pool_size = pool_size
        self.multi_turn_share = multi_turn_share
        self.closing_share = closing_share
        self.unknown_order_share = unknown_order_share
        self.interleave = max(1, int(interleave))
        self.session_prefix = session_prefix or f"w{seed}-"
        self.order_ids: Tuple[str, ...] = tuple(
            synthetic_order_ids(40000, seed) if order_ids is None else order_ids)
        if not self.order_ids:
            raise ValueError("order_ids is empty")
        self.unknown_ids: Tuple[str, ...] = tuple(
            unknown_order_ids(self.order_ids, 2000, seed) if unknown_ids is None
            else unknown_ids)
        self._pools = self._build_pools()
        self._stream: Optional[Iterator[Message]] = None
        self._aux_rng = random.Random(seed * 31 + 5)
        self._faq_draw = zipf_sampler(len(_FAQ_QUERIES), zipf_s, self._aux_rng)

    # -- pools ---------------------------------------------------------------------------
    def _build_pools(self) -> Dict[str, List[str]]:
        rng = random.Random(self.seed * 1000003 + 1)
        total = sum(self.mix.values())
        pools: Dict[str, List[str]] = {}
        for label in sorted(self.mix):
            share = self.mix[label] / total
            size = max(20, round(self.pool_size * share))
            if label in ORDER_INTENTS:
                half = max(10, size // 2)
                pools[label] = _build_pool(_PHRASES[label], half, rng)
                pools[label + "+id"] = _build_pool(_WITH_ORDER[label], half, rng)
            else:
                pools[label] = _build_pool(_PHRASES[label], size, rng, label in _SMALL_TALK)
        return pools

    def pool(self, label: str, with_order: bool = False) -> List[str]:
        """The distinct phrasings for a label, most popular first (a copy)."""
        return list(self._pools[label + "+id" if with_order else label])

    @property
    def distinct_messages(self) -> int:
        return sum(len(p) for p in self._pools.values())

    # -- conversations -------------------------------------------------------------------
    def conversations(self) -> Iterator[Conversation]:
        """An endless iterator of conversations, the same for the same seed on each call."""
        rng = random.Random(self.seed * 1000003 + 2)
        labels = sorted(self.mix)
        draw_label = _weighted(rng, [(lab, self.mix[lab]) for lab in labels])
        draws = {key: zipf_sampler(len(pool), self.zipf_s, rng)
                 for key, pool in sorted(self._pools.items())}
        id_variant = _weighted(rng, _ID_VARIANTS)
        long_variant = _weighted(rng, _LONG_ID_VARIANTS)
        long_after_order = _weighted(rng, _LONG_AFTER_ORDER)
        slot_reply = _weighted(rng, _SLOT_REPLIES)
        known, unknown = self.order_ids, self.unknown_ids
        for n in itertools.count():
            sid = f"{self.session_prefix}{n:08d}"
            label = draw_label()
            if label not in ORDER_INTENTS:
                text = self._pools[label][draws[label]()]
                yield Conversation(sid, (Message(sid, text, label, 1),))
                continue
            if unknown and rng.random() < self.unknown_order_share:
                oid = unknown[rng.randrange(len(unknown))]
            else:
                oid = known[rng.randrange(len(known))]
            msgs: List[Message] = []
            if rng.random() < self.multi_turn_share:
                text = self._pools[label][draws[label]()]
                msgs.append(Message(sid, text, label, 1, None, True))
                reply = slot_reply().replace("{lower}", oid.lower()).replace("{order}", oid)
                msgs.append(Message(sid, reply, label, 2, oid))
            else:
                key = label + "+id"
                template = self._pools[key][draws[key]()]
                if oid.isdigit():  # a long number: introduced as an order
                    after_order = "order {order}" in template.lower()
                    ref = (long_after_order() if after_order else long_variant()
                           ).replace("{order}", oid)
                else:
                    ref = id_variant().replace("{lower}", oid.lower()).replace("{order}", oid)
                text = template.replace("{order}", ref)
                msgs.append(Message(sid, text, label, 1, oid))
            if rng.random() < self.closing_share:
                text, intent = _CLOSERS[rng.randrange(len(_CLOSERS))]
                msgs.append(Message(sid, text, intent, len(msgs) + 1))
            yield Conversation(sid, tuple(msgs))

    def _interleaved(self) -> Iterator[Message]:
        """Messages of ``interleave`` concurrent conversations, round robin.

        Consecutive turns of one session are exactly ``interleave`` messages apart, so a
        reply usually arrives before the customer's next turn is sent.
        """
        convs = self.conversations()
        slots: List[Tuple[Message, ...]] = [next(convs).messages for _ in range(self.interleave)]
        pos = [0] * self.interleave
        while True:
            for i in range(self.interleave):
                msgs = slots[i]
                yield msgs[pos[i]]
                pos[i] += 1
                if pos[i] >= len(msgs):
                    slots[i] = next(convs).messages
                    pos[i] = 0

    def next_message(self) -> Message:
        """The next message of the interleaved stream (deterministic for the seed)."""
        if self._stream is None:
            self._stream = self._interleaved()
        return next(self._stream)

    def messages(self, n: int) -> List[Message]:
        """The next ``n`` messages of the stream (a fresh Workload gives the same list)."""
        return [self.next_message() for _ in range(n)]

    # -- other routes --------------------------------------------------------------------
    def next_faq_query(self) -> str:
        """A help-centre search query for GET /api/faq/search?q=..., Zipf-popular."""
        return _FAQ_QUERIES[self._faq_draw()]

    def next_order_id(self) -> Tuple[str, bool]:
        """An order number for GET /api/orders/{id} and whether the DB should know it."""
        rng = self._aux_rng
        if self.unknown_ids and rng.random() < self.unknown_order_share:
            return self.unknown_ids[rng.randrange(len(self.unknown_ids))], False
        return self.order_ids[rng.randrange(len(self.order_ids))], True
