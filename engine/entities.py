"""Entity extraction: order numbers, tracking ids, emails, money, dates, products.

Runs on the raw message (not the spelling-corrected one) so that the entity's
text and offsets are what the customer wrote. Values are normalised: order ids
upper-case "B204518", money "45.99 USD", dates ISO "2026-10-14" (or "--03-03"
without a year, "relative:last tuesday" for relative days, since resolving
them needs a clock and the engine must stay deterministic).
Python 3.9-compatible.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Match, Optional, Sequence, Tuple

from .matching import Matcher
from .types import Entity, Product

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11,
    "november": 11, "dec": 12, "december": 12,
}
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?" \
         r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"

CURRENCIES = {
    "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP",
}

ORDER_ID = (r"(?<![A-Za-z0-9])#?([A-Ha-h])[ -]?(\d{3}) ?(\d{3})(?![A-Za-z0-9])")
# A long numeric order number counts only where it is introduced as one ("order",
# "purchase", "order number", "#"), or as the whole message (the answer to "which
# order?"), so that phone and card numbers are not taken for orders.
ORDER_ID_LONG = (r"(?:(?<![A-Za-z0-9])(?:orders?|purchases?)(?:[ \t]+(?:number|num|no|nr|id)"
                 r"\.?)?[ \t]*[#:]?[ \t]*|(?<![A-Za-z0-9#])(?=#))(#?[ \t]?(\d{12,15}))(?!\d)")
ORDER_ID_ALONE = r"^\s*#?\s*(\d{12,15})\s*[.!?]?\s*$"
# In the answer to "which order?" any 12-15 digit run is the order ("it's 100234567891").
ORDER_ID_ANSWER = r"(?<![\d.,])(\d{12,15})(?![\d.,]\d|\d)"
TRACKING_ID = r"(?<![A-Za-z0-9])(TRK\d{10})(?![A-Za-z0-9])"
EMAIL = r"(?<![\w.+-])([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
MONEY = (r"(?<![\w.,])(?:([$€£])\s?(\d{1,6}(?:[.,]\d{1,2})?)"
         r"|(\d{1,6}(?:[.,]\d{1,2})?)\s?(€|\$|£|eur|euros?|usd|dollars?|bucks|gbp|pounds?))"
         r"(?![\w])")
DATE_ISO = r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"
DATE_NUMERIC = r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])"
DATE_MONTH_DAY = r"\b(" + _MONTH + r")\.? (\d{1,2})(?:st|nd|rd|th)?(?:,? (\d{4}))?\b"
DATE_DAY_MONTH = r"\b(\d{1,2})(?:st|nd|rd|th)?(?: of)? (" + _MONTH + r")\.?(?:,? (\d{4}))?\b"
DATE_RELATIVE = (r"\b(today|yesterday|tomorrow|(?:last|next|this) " + _WEEKDAY
                 + r"|(?:last|next|this) (?:week|month)|on " + _WEEKDAY + r")\b")
SKU = r"(?<![A-Za-z0-9])(SKU-\d{5})(?![0-9])"
WORD = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"

GENERIC_PRODUCTS: Tuple[str, ...] = (
    "wireless headphones", "headphones", "earbuds", "running shoes", "sneakers", "shoes",
    "coffee maker", "espresso machine", "yoga mat", "smartwatch", "smart watch", "watch",
    "backpack", "desk lamp", "lamp", "blender", "jacket", "phone case", "laptop stand",
    "water bottle", "t-shirt", "tshirt", "jeans", "dress", "sofa", "chair", "mattress",
    "vacuum cleaner", "toaster", "kettle", "speaker", "bluetooth speaker", "keyboard",
    "mouse", "monitor", "charger", "cable", "tablet", "camera", "fitness tracker",
    "sunglasses", "hoodie", "suitcase", "pillow", "frying pan", "air fryer",
)


class EntityExtractor:
    """Finds entities with a fixed set of patterns; the catalogue feeds the product pattern."""

    def __init__(self, catalogue: Sequence[Product], precompile: bool) -> None:
        self._product_value: Dict[str, str] = {}
        for item in catalogue:
            self._product_value[item.name.lower()] = item.sku
        for noun in GENERIC_PRODUCTS:
            self._product_value.setdefault(noun, noun)
        # products are found by looking word n-grams up in a dict: a 450-way regex
        # alternation costs ~100 us a message, the look-ups a few
        self._by_first: Dict[str, List[Tuple[Tuple[str, ...], str]]] = {}
        for name in sorted(self._product_value, key=lambda s: (-len(s.split()), s)):
            words = tuple(name.split())
            self._by_first.setdefault(words[0], []).append((words, self._product_value[name]))
        i = re.IGNORECASE
        self.order = Matcher(ORDER_ID, 0, precompile)
        self.order_long = Matcher(ORDER_ID_LONG, i, precompile)
        self.order_alone = Matcher(ORDER_ID_ALONE, 0, precompile)
        self.order_answer = Matcher(ORDER_ID_ANSWER, 0, precompile)
        self.tracking = Matcher(TRACKING_ID, i, precompile)
        self.email = Matcher(EMAIL, 0, precompile)
        self.money = Matcher(MONEY, i, precompile)
        self.date_iso = Matcher(DATE_ISO, 0, precompile)
        self.date_numeric = Matcher(DATE_NUMERIC, 0, precompile)
        self.date_month_day = Matcher(DATE_MONTH_DAY, i, precompile)
        self.date_day_month = Matcher(DATE_DAY_MONTH, i, precompile)
        self.date_relative = Matcher(DATE_RELATIVE, i, precompile)
        self.sku = Matcher(SKU, i, precompile)
        self.words = Matcher(WORD, 0, precompile)
        self.digit = Matcher(r"\d", 0, precompile)

    @property
    def matchers(self) -> List[Matcher]:
        return [self.order, self.order_long, self.order_alone, self.order_answer,
                self.tracking, self.email, self.money, self.date_iso,
                self.date_numeric, self.date_month_day, self.date_day_month,
                self.date_relative, self.sku, self.words, self.digit]

    def extract(self, text: str) -> Tuple[Entity, ...]:
        """All entities in ``text``, ordered by position; overlapping spans keep the first."""
        found: List[Entity] = []
        if "@" in text:
            for m in self.email.finditer(text):
                found.append(Entity("email", m.group(1).lower(), m.group(0), m.start(1),
                                    m.end(1)))
        if self.digit.search(text) is None:
            # every pattern but email, relative dates and product names needs a digit
            found.extend(self._relative_dates(text))
            found.extend(self._products(text))
            return _resolve_overlaps(found)
        for m in self.tracking.finditer(text):
            found.append(Entity("tracking_id", m.group(1).upper(), m.group(0),
                                m.start(1), m.end(1)))
        for m in self.order.finditer(text):
            value = m.group(1).upper() + m.group(2) + m.group(3)
            found.append(Entity("order_id", value, m.group(0), m.start(), m.end()))
        for m in self.order_long.finditer(text):
            found.append(Entity("order_id", m.group(2), m.group(1), m.start(1), m.end(1)))
        if not any(e.type == "order_id" for e in found):
            alone = self.order_alone.search(text)
            if alone is not None:
                found.append(Entity("order_id", alone.group(1), alone.group(1), alone.start(1),
                                    alone.end(1)))
        for m in self.sku.finditer(text):
            found.append(Entity("product", m.group(1).upper(), m.group(0), m.start(), m.end()))
        for m in self.money.finditer(text):
            found.append(_money(m))
        found.extend(self._dates(text))
        found.extend(self._products(text))
        return _resolve_overlaps(found)

    def order_in_answer(self, text: str) -> Optional[Entity]:
        """A long order number in the reply to "which order?", where context says what a bare
        digit run is (``extract`` takes one only after "order", "purchase" or "#")."""
        m = self.order_answer.search(text)
        if m is None:
            return None
        return Entity("order_id", m.group(1), m.group(1), m.start(1), m.end(1))

    def _products(self, text: str) -> Iterable[Entity]:
        spans = [m.span() for m in self.words.finditer(text)]
        lowered = text.lower()
        words = [lowered[a:b] for a, b in spans]
        by_first = self._by_first
        i, n = 0, len(words)
        while i < n:
            candidates = by_first.get(words[i])
            if candidates is not None:
                for name, value in candidates:  # longest names first
                    size = len(name)
                    if tuple(words[i:i + size]) == name:
                        start, end = spans[i][0], spans[i + size - 1][1]
                        yield Entity("product", value, text[start:end], start, end)
                        i += size
                        break
                else:
                    i += 1
            else:
                i += 1

    def _dates(self, text: str) -> Iterable[Entity]:
        for m in self.date_iso.finditer(text):
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if 1 <= mo <= 12 and 1 <= d <= 31:
                yield Entity("date", "%04d-%02d-%02d" % (y, mo, d), m.group(0), m.start(),
                             m.end())
        for m in self.date_numeric.finditer(text):
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            # day/month as most of the world writes it, month/day when the day is > 12
            day, month = (a, b) if b <= 12 else (b, a)
            if 1 <= month <= 12 and 1 <= day <= 31:
                yield Entity("date", "%04d-%02d-%02d" % (y, month, day), m.group(0),
                             m.start(), m.end())
        for m in self.date_month_day.finditer(text):
            yield _month_date(m, MONTHS[m.group(1).lower().rstrip(".")], int(m.group(2)),
                              m.group(3))
        for m in self.date_day_month.finditer(text):
            yield _month_date(m, MONTHS[m.group(2).lower().rstrip(".")], int(m.group(1)),
                              m.group(3))
        yield from self._relative_dates(text)

    def _relative_dates(self, text: str) -> Iterable[Entity]:
        for m in self.date_relative.finditer(text):
            yield Entity("date", "relative:" + m.group(1).lower(), m.group(0), m.start(),
                         m.end())


def _month_date(m: Match[str], month: int, day: int, year: Optional[str]) -> Entity:
    value = "%04d-%02d-%02d" % (int(year), month, day) if year else "--%02d-%02d" % (month, day)
    return Entity("date", value, m.group(0), m.start(), m.end())


def _money(m: Match[str]) -> Entity:
    if m.group(1):
        symbol, amount = m.group(1), m.group(2)
    else:
        amount, symbol = m.group(3), m.group(4)
    currency = CURRENCIES.get(symbol.lower(), symbol.upper())
    value = "%.2f %s" % (float(amount.replace(",", ".")), currency)
    return Entity("money", value, m.group(0), m.start(), m.end())


def _resolve_overlaps(found: List[Entity]) -> Tuple[Entity, ...]:
    """Keep, for overlapping spans, the earliest-starting and then longest entity."""
    found.sort(key=lambda e: (e.start, -(e.end - e.start), e.type))
    kept: List[Entity] = []
    last_end = -1
    for entity in found:
        if entity.start >= last_end:
            kept.append(entity)
            last_end = entity.end
    return tuple(kept)
