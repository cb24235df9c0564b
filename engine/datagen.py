"""Deterministic, seeded test data for the engine: catalogue, orders DB, FAQ corpus.

The lab compares toggles on the *same* data, so everything here is a pure
function of a ``DataSpec`` (seed and sizes): no wall-clock dates, no hash
randomisation, string seeds (hashed with SHA-512 by ``random``) so that
CPython and PyPy produce identical files. Generated data is cached on disk in a
folder named after the spec and published atomically, so that several service
processes starting at once generate it at most once each and never see a
half-written folder.

Python 3.9-compatible on purpose (the PyPy toggle runs this code).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import time
import uuid
from bisect import bisect
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from engine.config import EngineConfig
from engine.types import ORDER_ID_LETTERS, ORDER_ID_LONG_DIGITS, Product

DATA_VERSION = 4  # 4: a quarter of the orders have long numeric ids
"""Bumped whenever the generator's output changes, so stale caches are not reused."""

REFERENCE_DATE = date(2025, 6, 30)
"""'Today' for generated data: fixed, so output is identical on every run."""

HISTORY_DAYS = 548  # 18 months of orders before REFERENCE_DATE
CURRENCY = "EUR"
ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
SHIPPED_STATUSES = ("shipped", "delivered", "returned")  # these carry a tracking id
CARRIERS = ("DHL", "DPD", "UPS", "GLS", "FedEx", "PostNL")
PAYMENT_METHODS = ("credit card", "PayPal", "Apple Pay", "Google Pay", "Klarna",
                   "bank transfer", "iDEAL", "debit card")
MARKER = "COMPLETE.json"

ORDERS_SCHEMA = """
CREATE TABLE products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price_cents INTEGER NOT NULL
);
CREATE TABLE customers (
    customer_id TEXT PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    address TEXT NOT NULL
);
-- No keys or indexes on orders on purpose: ORDER_INDEX=hash adds them (engine/orders.py).
CREATE TABLE orders (
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL,
    items TEXT NOT NULL,
    tracking_id TEXT,
    carrier TEXT,
    shipping_address TEXT NOT NULL
);
"""

FAQ_SCHEMA = """
CREATE TABLE articles (
    article_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT NOT NULL,
    tags TEXT NOT NULL
);
"""


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class DataSpec:
    """What to generate: the seed and the sizes. Equal specs give identical data."""

    seed: int = 42
    n_products: int = 400
    n_customers: int = 8000
    n_orders: int = 40000
    n_faq: int = 3000

    def __post_init__(self) -> None:
        limits = (("n_products", 90000), ("n_customers", 999999), ("n_orders", 8000000),
                  ("n_faq", 10000000))
        for name, most in limits:
            value = getattr(self, name)
            if not 1 <= value <= most:
                raise ValueError("DataSpec.%s=%r must be between 1 and %d" % (name, value, most))

    @classmethod
    def from_config(cls, cfg: EngineConfig) -> DataSpec:
        return cls(cfg.seed, cfg.n_products, cfg.n_customers, cfg.n_orders, cfg.n_faq)

    @property
    def dirname(self) -> str:
        """Cache folder name; includes DATA_VERSION so a generator change is not masked."""
        return "v%d-s%d-p%d-c%d-o%d-f%d" % (DATA_VERSION, self.seed, self.n_products,
                                            self.n_customers, self.n_orders, self.n_faq)

    def rng(self, stream: str) -> random.Random:
        """An independent random stream per purpose, so one part can be regenerated alone."""
        return random.Random("perflab:%d:%s" % (self.seed, stream))


@dataclass(frozen=True)
class DataPaths:
    """Where a spec's generated files are."""

    root: Path
    orders_db: Path
    faq_db: Path
    catalogue_json: Path
    spec: DataSpec

    @classmethod
    def under(cls, root: Path, spec: DataSpec) -> DataPaths:
        return cls(root, root / "orders.db", root / "faq.db", root / "catalogue.json", spec)


@dataclass(frozen=True)
class Customer:
    customer_id: str  # "C" + 6 digits
    first_name: str
    last_name: str
    email: str
    address: str


# --------------------------------------------------------------------------- word banks

BRANDS = (
    "Aurora", "Trailblazer", "Brewmaster", "Zen", "Pulse", "Nova", "Summit", "Atlas",
    "Echo", "Vertex", "Luna", "Nimbus", "Terra", "Orbit", "Sierra", "Harbor", "Ember",
    "Polar", "Vista", "Cobalt", "Meridian", "Juniper", "Falcon", "Solace", "Drift",
    "Granite", "Kestrel", "Lumen", "Halcyon", "Tempo", "Breeze", "Copper",
)
MODEL_SUFFIXES = ("Pro", "Mini", "Lite", "Max", "2", "Plus", "X", "Classic")

# category -> (product nouns, min euros, max euros)
CATEGORIES: Dict[str, Tuple[Tuple[str, ...], int, int]] = {
    "Audio": (("Wireless Headphones", "Earbuds", "Bluetooth Speaker",
               "Noise-Cancelling Headphones", "Soundbar", "Turntable"), 19, 329),
    "Footwear": (("Running Shoes", "Hiking Boots", "Sneakers", "Trail Shoes", "Sandals",
                  "Slippers"), 24, 189),
    "Kitchen": (("Coffee Maker", "Blender", "Espresso Machine", "Toaster", "Electric Kettle",
                 "Air Fryer", "Stand Mixer", "Chef Knife"), 19, 449),
    "Fitness": (("Yoga Mat", "Dumbbell Set", "Resistance Bands", "Foam Roller", "Jump Rope",
                 "Kettlebell"), 9, 149),
    "Wearables": (("Smartwatch", "Fitness Tracker", "Heart Rate Monitor", "Smart Ring"),
                  39, 399),
    "Bags": (("Backpack", "Laptop Bag", "Duffel Bag", "Tote Bag", "Travel Backpack",
              "Messenger Bag"), 19, 179),
    "Lighting": (("Desk Lamp", "Floor Lamp", "LED Strip Lights", "Night Light", "Smart Bulb"),
                 9, 199),
    "Apparel": (("Jacket", "Rain Jacket", "Hoodie", "Fleece Pullover", "T-Shirt", "Down Vest"),
                14, 249),
    "Phone Accessories": (("Phone Case", "Screen Protector", "Wireless Charger", "Power Bank",
                           "Charging Cable", "Car Mount"), 7, 79),
    "Computer Accessories": (("Mechanical Keyboard", "Wireless Mouse", "USB-C Hub",
                              "Laptop Stand", "Webcam", "Monitor Arm"), 14, 189),
    "Outdoor": (("Camping Tent", "Sleeping Bag", "Water Bottle", "Trekking Poles", "Headlamp",
                 "Camping Stove"), 9, 399),
    "Home": (("Throw Blanket", "Scented Candle", "Bath Towel Set", "Memory Foam Pillow",
              "Wall Clock", "Bookshelf"), 9, 229),
}
# product nouns per FAQ template slot, so that "descale my ..." names a coffee maker and
# "my ... will not charge" something with a battery
GROUPS: Dict[str, Tuple[str, ...]] = {
    "kitchen": ("Coffee Maker", "Espresso Machine", "Electric Kettle"),
    "wear": CATEGORIES["Footwear"][0] + CATEGORIES["Apparel"][0],
    "gadget": ("Wireless Headphones", "Earbuds", "Bluetooth Speaker",
               "Noise-Cancelling Headphones", "Smartwatch", "Fitness Tracker",
               "Heart Rate Monitor", "Smart Ring", "Power Bank", "Wireless Mouse", "Headlamp"),
    "furniture": ("Bookshelf", "Floor Lamp", "Desk Lamp", "Laptop Stand", "Monitor Arm",
                  "Camping Tent"),
}

FIRST_NAMES = (
    "Anna", "Lukas", "Emma", "Noah", "Sofia", "Liam", "Mia", "Elias", "Julia", "Finn",
    "Lea", "Jonas", "Clara", "Paul", "Marie", "Leon", "Hannah", "Felix", "Lina", "Max",
    "Chloe", "Hugo", "Camille", "Louis", "Ines", "Jules", "Manon", "Arthur", "Sara", "Luca",
    "Giulia", "Marco", "Chiara", "Matteo", "Lucia", "Pablo", "Carmen", "Diego", "Elena",
    "Javier", "Aoife", "Sean", "Niamh", "Conor", "Saoirse", "Daan", "Sanne", "Bram", "Fleur",
    "Thijs", "Olivia", "James", "Isabel", "Tom", "Nina", "David", "Laura", "Adam", "Eva",
    "Oscar",
)
LAST_NAMES = (
    "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Rossi",
    "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Garcia", "Fernandez", "Lopez",
    "Martinez", "Sanchez", "Perez", "Murphy", "Kelly", "Walsh", "Byrne", "Ryan", "Jansen",
    "DeVries", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Novak", "Horvat", "Kowalski",
    "Nowak", "Larsen", "Hansen", "Berg", "Lindqvist", "Costa", "Silva",
)

# country -> (cities, streets, address format)
COUNTRIES: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...], str]] = {
    "Germany": (("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Leipzig", "Stuttgart"),
                ("Hauptstrasse", "Bahnhofstrasse", "Gartenweg", "Schillerstrasse",
                 "Lindenallee", "Goethestrasse", "Bergstrasse"),
                "{street} {num}, {zip5} {city}, Germany"),
    "France": (("Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille", "Bordeaux"),
               ("Rue de la Paix", "Avenue Victor Hugo", "Rue des Lilas", "Boulevard Voltaire",
                "Rue du Moulin", "Place de la Mairie"),
               "{num} {street}, {zip5} {city}, France"),
    "Netherlands": (("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen", "Leiden"),
                    ("Keizersgracht", "Dorpsstraat", "Kerkstraat", "Stationsweg", "Molenweg",
                     "Prinsengracht"),
                    "{street} {num}, {zip4} {letters} {city}, Netherlands"),
    "Ireland": (("Dublin", "Cork", "Galway", "Limerick", "Waterford"),
                ("Main Street", "Church Road", "Grafton Street", "Park Avenue", "Mill Lane"),
                "{num} {street}, {city}, {eircode}, Ireland"),
    "Spain": (("Madrid", "Barcelona", "Valencia", "Seville", "Bilbao", "Malaga"),
              ("Calle Mayor", "Calle del Sol", "Avenida de la Constitucion", "Calle Real",
               "Paseo del Prado"),
              "{street} {num}, {zip5} {city}, Spain"),
    "Italy": (("Rome", "Milan", "Turin", "Florence", "Bologna", "Naples"),
              ("Via Roma", "Via Garibaldi", "Via Dante", "Corso Italia", "Via Verdi"),
              "{street} {num}, {zip5} {city}, Italy"),
}
COUNTRY_WEIGHTS = (30, 22, 16, 8, 12, 12)

# --------------------------------------------------------------------------- catalogue


@lru_cache(maxsize=8)
def _catalogue(spec: DataSpec) -> Tuple[Product, ...]:
    rng = spec.rng("catalogue")
    combos = [(brand, noun, cat) for cat, (nouns, _lo, _hi) in CATEGORIES.items()
              for noun in nouns for brand in BRANDS]
    rng.shuffle(combos)
    skus = rng.sample(range(10000, 100000), spec.n_products)
    names = set()
    out: List[Product] = []
    i = 0
    while len(out) < spec.n_products:
        brand, noun, cat = combos[i % len(combos)]
        lap = i // len(combos)
        i += 1
        name = "%s %s" % (brand, noun)
        if lap > 0:  # more products than brand x noun pairs: model names make them unique
            name += " " + (MODEL_SUFFIXES[lap - 1] if lap <= len(MODEL_SUFFIXES)
                           else "Series %d" % lap)
        elif rng.random() < 0.2:
            name += " " + rng.choice(MODEL_SUFFIXES)
        if name in names:
            continue
        names.add(name)
        _nouns, lo, hi = CATEGORIES[cat]
        euros = rng.randint(lo, hi)
        cents = rng.choice((99, 99, 99, 95, 49, 0))
        out.append(Product("SKU-%05d" % skus[len(out)], name, cat, euros * 100 + cents))
    return tuple(out)


def catalogue(spec: DataSpec) -> List[Product]:
    """The products of a spec, deterministic; same as what ``ensure_data`` writes."""
    return list(_catalogue(spec))


def load_catalogue(paths: DataPaths) -> List[Product]:
    """Read the catalogue back from the generated JSON file."""
    with open(paths.catalogue_json, encoding="utf-8") as f:
        return [Product.from_dict(d) for d in json.load(f)]


# --------------------------------------------------------------------------- customers


def _address(rng: random.Random) -> str:
    country = rng.choices(tuple(COUNTRIES), weights=COUNTRY_WEIGHTS)[0]
    cities, streets, fmt = COUNTRIES[country]
    letters = "ABCDEFGHJKLMNPRSTVWXYZ"
    return fmt.format(
        street=rng.choice(streets), num=rng.randint(1, 180), city=rng.choice(cities),
        zip5="%05d" % rng.randint(1000, 99999), zip4="%04d" % rng.randint(1000, 9999),
        letters=rng.choice(letters) + rng.choice(letters),
        eircode="%s%02d %s%03d" % (rng.choice("DTHV"), rng.randint(1, 24),
                                   rng.choice(letters), rng.randint(100, 999)),
    )


@lru_cache(maxsize=8)
def _customers(spec: DataSpec) -> Tuple[Customer, ...]:
    rng = spec.rng("customers")
    numbers = rng.sample(range(1, 1000000), spec.n_customers)
    emails = set()
    out: List[Customer] = []
    for num in numbers:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        while True:
            email = "%s.%s%d@example.com" % (first.lower(), last.lower(), rng.randint(1, 999))
            if email not in emails:
                emails.add(email)
                break
        out.append(Customer("C%06d" % num, first, last, email, _address(rng)))
    return tuple(out)


def customers(spec: DataSpec) -> List[Customer]:
    """The customers of a spec (ids, names, emails, home addresses), deterministic."""
    return list(_customers(spec))


# --------------------------------------------------------------------------- orders


LONG_ID_EVERY = 4  # every 4th order (marketplace / ERP imports) has a long numeric id


def _format_order_id(x: int) -> str:
    return ORDER_ID_LETTERS[x // 1000000] + "%06d" % (x % 1000000)


def _long_order_id(rng: random.Random) -> str:
    """A 12-15 digit order number (no leading zero), the other shape customers paste."""
    low, high = ORDER_ID_LONG_DIGITS
    digits = rng.randint(low, high)
    return str(rng.randrange(10 ** (digits - 1), 10 ** digits))


@lru_cache(maxsize=8)
def _order_ids(spec: DataSpec) -> Tuple[str, ...]:
    rng = spec.rng("order_ids")
    ids = [_format_order_id(x) for x in rng.sample(range(8000000), spec.n_orders)]
    long_rng = spec.rng("order_ids_long")
    seen = set()
    for i in range(LONG_ID_EVERY - 1, len(ids), LONG_ID_EVERY):
        oid = _long_order_id(long_rng)
        while oid in seen:
            oid = _long_order_id(long_rng)
        seen.add(oid)
        ids[i] = oid
    return tuple(ids)


def order_ids(spec: DataSpec) -> List[str]:
    """Every order id in the DB, in row order, regenerated from the seed without opening it.

    Cheap (a few ms for 40k): the load generator samples existing ids from this.
    """
    return list(_order_ids(spec))


def sample_order_id(spec: DataSpec, i: int) -> str:
    """The i-th existing order id (wraps around), for deterministic sampling."""
    ids = _order_ids(spec)
    return ids[i % len(ids)]


def missing_order_id(spec: DataSpec, i: int) -> str:
    """A well-formed order id that is *not* in the DB (for 'order not found' traffic)."""
    existing = _order_id_set(spec)
    rng = spec.rng("missing:%d" % i)
    while True:
        if i % LONG_ID_EVERY == LONG_ID_EVERY - 1:
            oid = _long_order_id(rng)
        else:
            oid = _format_order_id(rng.randrange(8000000))
        if oid not in existing:
            return oid


@lru_cache(maxsize=8)
def _order_id_set(spec: DataSpec) -> frozenset:
    return frozenset(_order_ids(spec))


def _cum(weights: Sequence[float]) -> List[float]:
    return list(accumulate(weights))


def _pick(rng: random.Random, population: Sequence[Any], cum: List[float]) -> Any:
    """``rng.choices(population, cum_weights=cum)[0]`` without its per-call overhead.

    Same arithmetic and the same single ``random()`` draw, so the output is identical.
    """
    return population[bisect(cum, rng.random() * (cum[-1] + 0.0), 0, len(cum) - 1)]


# status mix by order age in days: (max age, cumulative weights over ORDER_STATUSES)
_STATUS_BY_AGE = (
    (1, _cum((55, 40, 0, 0, 5, 0))),
    (4, _cum((3, 30, 60, 2, 5, 0))),
    (10, _cum((0, 4, 40, 50, 5, 1))),
    (HISTORY_DAYS, _cum((0, 0, 1, 84, 7, 8))),
)
_LINES = ((1, 2, 3, 4), _cum((60, 25, 10, 5)))
_QTYS = ((1, 2, 3), _cum((85, 12, 3)))


def _status(rng: random.Random, age_days: int) -> str:
    for most, cum in _STATUS_BY_AGE:
        if age_days <= most:
            return str(_pick(rng, ORDER_STATUSES, cum))
    return "delivered"  # unreachable: ages are at most HISTORY_DAYS


def _iter_orders(spec: DataSpec) -> Iterator[Tuple[Any, ...]]:
    """Yield order rows in insertion (chronological) order."""
    rng = spec.rng("orders")
    products = _catalogue(spec)
    custs = _customers(spec)
    ids = _order_ids(spec)
    # popularity: a few best-sellers, a long tail (Zipf-like on a shuffled catalogue)
    prod_rank = list(range(len(products)))
    rng.shuffle(prod_rank)
    prod_index = range(len(products))
    prod_cum: List[float] = []
    acc = 0.0
    for r in prod_rank:
        acc += 1.0 / (r + 1) ** 0.9
        prod_cum.append(acc)
    # customers: heavy-tailed order counts (most buy once or twice, a few very often)
    cust_cum: List[float] = []
    acc = 0.0
    for _ in custs:
        acc += min(rng.paretovariate(1.3), 40.0)  # capped: no customer has 5% of all orders
        cust_cum.append(acc)
    # a growing shop: more orders recently; ages in days before REFERENCE_DATE
    ages = sorted((int(HISTORY_DAYS * rng.random() ** 1.6) for _ in range(spec.n_orders)),
                  reverse=True)
    buyers = rng.choices(range(len(custs)), cum_weights=cust_cum, k=spec.n_orders)
    tracking_seen = set()
    for oid, age, ci in zip(ids, ages, buyers):
        cust = custs[ci]
        n_lines = _pick(rng, *_LINES)
        picked: List[int] = []
        while len(picked) < n_lines:
            p = _pick(rng, prod_index, prod_cum)
            if p not in picked:
                picked.append(p)
        qtys = [_pick(rng, *_QTYS) for _p in picked]
        items = [[products[p].sku, q] for p, q in zip(picked, qtys)]
        total = sum(products[p].price_cents * q for p, q in zip(picked, qtys))
        status = _status(rng, age)
        tracking: Optional[str] = None
        carrier: Optional[str] = None
        if status in SHIPPED_STATUSES:
            while True:
                tracking = "TRK%010d" % rng.randrange(10 ** 10)
                if tracking not in tracking_seen:
                    tracking_seen.add(tracking)
                    break
            carrier = rng.choice(CARRIERS)
        address = cust.address if rng.random() < 0.9 else _address(rng)
        created = (REFERENCE_DATE - timedelta(days=age)).isoformat()
        yield (oid, cust.customer_id, cust.email, status, total, CURRENCY, created,
               json.dumps(items, separators=(",", ":")), tracking, carrier, address)


def _write_orders_db(path: Path, spec: DataSpec) -> None:
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(ORDERS_SCHEMA)
        with conn:
            conn.executemany("INSERT INTO products VALUES (?,?,?,?)",
                             [(p.sku, p.name, p.category, p.price_cents)
                              for p in _catalogue(spec)])
            conn.executemany("INSERT INTO customers VALUES (?,?,?,?,?)",
                             [(c.customer_id, c.first_name, c.last_name, c.email, c.address)
                              for c in _customers(spec)])
            conn.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                             _iter_orders(spec))
    finally:
        conn.close()


# --------------------------------------------------------------------------- FAQ corpus


class _Topic:
    """Templates for one help-centre category: question titles and body sentences."""

    def __init__(self, slug: str, titles: Sequence[str], sentences: Sequence[str],
                 related: Sequence[str]) -> None:
        self.slug = slug
        self.titles = tuple(titles)
        self.sentences = tuple(sentences)
        self.related = tuple(related)


TOPICS: Tuple[_Topic, ...] = (
    _Topic("returns", (
        "How do I return an item bought with a gift card?",
        "How do I return my {product}?",
        "Can I return the {product} after {days} days?",
        "What is the return policy for {category} items?",
        "How do I print a return label for {carrier}?",
        "Can I return a gift I received?",
        "Returning an opened or used {product}",
        "How long do I have to return items shipped to {country}?",
        "Can I exchange my {wear} for a different size or colour?",
        "Where do I drop off a return parcel in {city}?",
    ), (
        "You can return most items within {days} days of delivery for a full refund.",
        "To start a return, sign in, open My Orders and select Return next to the item.",
        "Choose a return reason and we will email you a prepaid {carrier} return label.",
        "Pack the {product} in its original packaging together with all accessories and manuals.",
        "Drop the parcel off at any {carrier} service point, or book a collection from your home.",
        "Items bought with a gift card are refunded to a new gift card, not to cash.",
        "Returns from {country} are free of charge when you use the label we provide.",
        "Opened items can be returned as long as they are undamaged and complete.",
        "Hygiene products such as earbuds can only be returned if the seal is intact.",
        "Gifts can be returned with the gift receipt; the refund goes to the person who paid.",
        "Once the parcel reaches our warehouse in {city}, we inspect it within three working days.",
        "If you want a different size or colour, return the item and place a new order; this is "
        "the quickest way to get an exchange.",
        "Keep the tracking receipt of your return until the refund appears on your statement.",
        "Large items such as furniture are collected by a courier; we will contact you to arrange "
        "a date.",
        "Returned {category} items must not show signs of wear beyond what is needed to try them "
        "on.",
    ), ("refunds", "cancellations", "stores")),
    _Topic("refunds", (
        "When will I get my refund for the {product}?",
        "How long does a refund to {method} take?",
        "Why is my refund smaller than the price I paid?",
        "Can I get a refund instead of store credit?",
        "My refund has not arrived after {days} days",
        "How are refunds handled for orders paid with {method}?",
        "Do you refund the original shipping costs?",
        "Partial refund for a damaged {product}",
    ), (
        "We issue your refund as soon as the returned item has passed inspection.",
        "Refunds go back to the original payment method, in this case {method}.",
        "Banks usually need three to five working days to show a refund on your statement.",
        "Refunds to {method} are often faster, typically within 24 hours.",
        "If you used a discount code, the refund is the amount you actually paid for the item.",
        "Original shipping costs are refunded when the whole order is returned within {days} days.",
        "A partial refund may be offered when an item such as the {product} arrives with minor "
        "damage.",
        "You will receive an email with the refund amount and reference number once it is "
        "processed.",
        "Store credit is only used when you ask for it or when the original card has expired.",
        "If your refund has not arrived after ten working days, contact us with your order number.",
        "Refunds for items bought with loyalty points return the points to your account.",
        "You can follow the status of a refund under My Orders, next to the returned item.",
        "Currency conversion fees charged by your bank cannot be refunded by us.",
    ), ("returns", "payments", "cancellations")),
    _Topic("shipping", (
        "Do you ship to {country}?",
        "How much does shipping to {city} cost?",
        "Which carriers do you use besides {carrier}?",
        "Can I change my shipping address after ordering?",
        "Do you offer free shipping on {category} orders?",
        "Can I ship my order to a {carrier} parcel locker?",
        "Why was my {product} shipped in several parcels?",
        "Is express shipping available for the {product}?",
    ), (
        "We ship to all countries of the European Union, including {country}.",
        "Standard shipping costs 4.95 EUR and is free on orders over 50 EUR.",
        "Express shipping with {carrier} costs 9.95 EUR and arrives the next working day.",
        "We work with {carrier} and several local carriers, depending on the size of the parcel.",
        "You can change the shipping address as long as the order has not been handed to the "
        "carrier.",
        "To change the address, open the order in your account and choose Edit shipping address.",
        "Parcel lockers and service points can be selected at checkout for most destinations.",
        "Orders with several items may be shipped in separate parcels from different warehouses.",
        "Each parcel has its own tracking number, which we send to you by email.",
        "Bulky items such as the {product} are delivered by a freight carrier.",
        "Shipping to islands and remote areas can take one or two extra days.",
        "Shipping costs are shown in the basket before you pay, so there are no surprises.",
        "We cannot ship items containing large lithium batteries by air.",
    ), ("delivery", "cancellations", "batteries")),
    _Topic("delivery", (
        "How long does delivery to {country} take?",
        "My {carrier} parcel is late, what can I do?",
        "Can I choose a delivery date for my {product}?",
        "What does the tracking status in transit mean?",
        "My parcel shows delivered but I have not received it",
        "Do you deliver on weekends in {city}?",
        "Why has my tracking number not updated for {days} days?",
        "Delivery times during holidays and sales",
    ), (
        "Standard delivery to {country} takes two to four working days.",
        "Express orders placed before 2 pm are delivered the next working day.",
        "You can follow your parcel with the tracking number in your shipping confirmation email.",
        "In transit means the parcel is moving between {carrier} sorting centres.",
        "Tracking information can pause for a day or two while a parcel crosses a border.",
        "If tracking has not changed for five working days, we open an investigation with "
        "{carrier}.",
        "When a parcel shows as delivered but has not arrived, check with neighbours and your "
        "building's mailroom first.",
        "Weekend delivery is available in {city} for an extra fee at checkout.",
        "During sales and the holiday season, delivery can take one or two days longer than usual.",
        "You can choose a delivery date at checkout for large items such as the {product}.",
        "If nobody is at home, the driver leaves a card and takes the parcel to a nearby service "
        "point.",
        "Parcels that are not collected within seven days are returned to us and refunded.",
        "We will always email you if a delivery is delayed on our side.",
    ), ("shipping", "stores", "returns")),
    _Topic("payments", (
        "Which payment methods do you accept?",
        "Can I pay with {method}?",
        "Why was my {method} payment declined?",
        "Is it safe to save my card details?",
        "Was I charged twice for my order?",
        "Can I split a payment between {method} and a gift card?",
        "Paying in instalments with Klarna",
        "Do you accept payments in currencies other than euro?",
    ), (
        "We accept credit and debit cards, PayPal, Apple Pay, Google Pay, Klarna and bank "
        "transfer.",
        "You can pay with {method} on the website and in the mobile app.",
        "A payment can be declined when the card has expired or the billing address does not "
        "match.",
        "Your bank may also block an online payment for security reasons; a quick call to the "
        "bank usually solves it.",
        "Card details are stored by our payment provider and never on our own servers.",
        "A double charge is usually a pending authorisation that disappears within a few days.",
        "You can combine one gift card with one other payment method at checkout.",
        "Klarna lets you pay in three interest-free instalments for orders over 35 EUR.",
        "All prices are charged in euro; your bank converts the amount if your account uses "
        "another currency.",
        "Payment with {method} is confirmed immediately, and we start preparing your order right "
        "away.",
        "If a payment fails, the order is kept for 24 hours so that you can try again.",
        "We never ask for your card number or PIN by email or phone.",
        "Company customers can pay by invoice after a credit check.",
    ), ("refunds", "invoices", "gift_cards")),
    _Topic("account", (
        "How do I create an account?",
        "How do I delete my account?",
        "How do I change the email address on my account?",
        "Can I check out without an account?",
        "How do I merge two accounts?",
        "How do I update my saved addresses?",
        "Why was my account locked?",
        "How do I switch between my personal and business account?",
    ), (
        "Creating an account takes a minute: choose Sign up and enter your name, email address "
        "and a password.",
        "With an account you can track orders, start returns and save addresses for faster "
        "checkout.",
        "Guest checkout is available, but you will not collect loyalty points without an account.",
        "To change your email address, go to Account settings and choose Edit next to Email.",
        "We send a confirmation link to the new email address before the change takes effect.",
        "Saved shipping addresses can be added, edited or removed under Addresses in your account.",
        "We cannot merge two accounts automatically; our team can move your order history for you.",
        "After five failed sign-in attempts, your account is locked for 30 minutes to protect it.",
        "Deleting your account removes your personal data, saved cards and loyalty points.",
        "Open orders must be delivered or cancelled before an account can be deleted.",
        "Business customers can add a company account and switch between accounts from the "
        "profile menu.",
        "If you have problems registering, check that the email address is not already in use.",
        "The mobile app uses the same account as the website.",
    ), ("passwords", "privacy", "newsletter")),
    _Topic("passwords", (
        "I forgot my password, how do I reset it?",
        "The password reset email never arrived",
        "How do I change my password?",
        "How do I turn on two-factor authentication?",
        "What are the password requirements?",
        "My password reset link has expired",
        "Someone else may know my password",
        "Signing in with Google or Apple instead of a password",
    ), (
        "To reset your password, choose Forgot password on the sign-in page and enter your email "
        "address.",
        "We send a reset link that is valid for 60 minutes.",
        "If the email does not arrive, check your spam folder and make sure you used the address "
        "linked to your account.",
        "A new password must have at least ten characters, including a number.",
        "You can change your password at any time under Account settings and Security.",
        "Two-factor authentication adds a code from an authenticator app or text message when you "
        "sign in.",
        "If you think someone knows your password, change it immediately and sign out of all "
        "devices.",
        "An expired reset link cannot be used again; simply request a new one.",
        "If you signed up with Google or Apple, you do not need a separate password.",
        "Never share your password with anyone, including our support staff.",
        "For your security, every password change is confirmed by email.",
        "Password managers work with our website and app.",
    ), ("account", "privacy")),
    _Topic("invoices", (
        "Where can I download the invoice for my order?",
        "How do I get a VAT invoice for my {product}?",
        "Can I change the billing address on an invoice?",
        "Why is my invoice missing a company name?",
        "Can I get a single invoice for several orders?",
        "Invoice for an order paid with {method}",
        "I need a copy of an old invoice from {year}",
        "How are discounts shown on my invoice?",
    ), (
        "Invoices are available as PDF under My Orders as soon as the order has shipped.",
        "Every invoice shows VAT separately, so it can be used for business expenses.",
        "To add a company name and VAT number, enter them in the billing details at checkout.",
        "We can correct the billing address on an invoice within 30 days of purchase.",
        "Invoices for orders from {year} can still be downloaded from your order history.",
        "We create one invoice per shipment; a combined invoice for several orders is not "
        "possible.",
        "Discounts and gift cards are shown as separate lines on the invoice.",
        "For orders paid with {method}, the invoice shows the payment reference.",
        "A credit note is issued automatically when an item is returned.",
        "Guest customers receive their invoice by email with the shipping confirmation.",
        "If an invoice is missing, contact us with your order number and we will send a copy.",
        "Invoices for the {product} list the serial number where one is available.",
    ), ("payments", "account", "refunds")),
    _Topic("warranty", (
        "What does the warranty on the {product} cover?",
        "How do I make a warranty claim for my {product}?",
        "How long is the warranty on {category} products?",
        "Is accidental damage covered by the warranty?",
        "Do I need the receipt to claim the warranty?",
        "My {gadget} stopped working after {months} months",
        "Extended warranty options for {category}",
        "Warranty repairs versus replacements",
    ), (
        "All products come with a two-year warranty against manufacturing defects.",
        "The warranty covers faults in materials and workmanship, not normal wear and tear.",
        "Accidental damage, such as drops or liquid spills, is not covered by the standard "
        "warranty.",
        "To make a claim, open the order and choose Report a problem next to the {product}.",
        "Please describe the fault and attach a photo or short video if possible.",
        "Your order confirmation or invoice serves as proof of purchase.",
        "We repair the item first; if a repair is not possible, we replace it or refund you.",
        "Repairs usually take ten to fifteen working days including shipping.",
        "An extended warranty of up to five years can be added for {category} products at "
        "checkout.",
        "A product that fails after {months} months is still covered if it was used as intended.",
        "Some brands offer their own manufacturer warranty on top of ours.",
        "The warranty remains valid if the product was a gift.",
    ), ("returns", "batteries", "care")),
    _Topic("care", (
        "How do I clean my {product}?",
        "Can I put my {wear} in the washing machine?",
        "How do I store {category} products over the winter?",
        "How do I descale my {kitchen}?",
        "Caring for leather and suede",
        "How do I remove stains from my {wear}?",
        "How often should I replace my {product}?",
        "Waterproofing your {wear}",
    ), (
        "Check the care label or the manual before cleaning for the first time.",
        "Most textiles can be washed at 30 degrees on a gentle cycle, inside out.",
        "Do not use fabric softener on technical fabrics such as rain jackets, as it reduces "
        "breathability.",
        "Descale the {kitchen} every four to six weeks if you live in an area with hard water.",
        "Use a solution of water and citric acid for descaling, then rinse with two full tanks of "
        "clean water.",
        "Leather and suede should be brushed when dry and treated with a protective spray.",
        "Remove stains quickly by dabbing, not rubbing, with cold water and a mild soap.",
        "Store products in a cool, dry place away from direct sunlight.",
        "Running shoes should be replaced after roughly 600 to 800 kilometres.",
        "Re-apply a waterproofing spray to the {wear} after every few washes.",
        "Wipe electronics such as the {gadget} with a soft, slightly damp cloth; never use "
        "solvents.",
        "Let wet shoes dry at room temperature, not on a radiator.",
        "Yoga mats can be cleaned with a mild soap solution and air dried.",
    ), ("warranty", "sizing", "returns")),
    _Topic("sizing", (
        "How do I find my size for the {wear}?",
        "Does the {wear} run small or large?",
        "Size conversion chart for EU, UK and US sizes",
        "How do I measure my foot for running shoes?",
        "What if my {wear} does not fit?",
        "Are {brand} sizes the same as other brands?",
        "Sizing for children's clothing",
        "How do I measure my chest and waist?",
    ), (
        "Every product page has a size guide with measurements in centimetres.",
        "The {wear} fits true to size for most customers; if you are between sizes, choose the "
        "larger one.",
        "To measure your foot, stand on a sheet of paper and mark your heel and longest toe.",
        "Add half a centimetre to your foot length when choosing running shoes.",
        "Measure your chest at the widest point and your waist at the narrowest point.",
        "{brand} products follow European sizing; a conversion table is on the product page.",
        "Customer reviews often mention whether an item runs small or large.",
        "If the size is not right, you can return the item free of charge within {days} days.",
        "Children's sizes are based on height in centimetres rather than age.",
        "Our chat team can help you choose a size if you tell us your height and usual size.",
        "Sizes can differ slightly between styles, even within the same brand.",
        "Stretch materials give a closer fit; choose one size up for a looser fit.",
    ), ("returns", "care")),
    _Topic("gift_cards", (
        "How do I check my gift card balance?",
        "Can I use a gift card together with {method}?",
        "My gift card code does not work",
        "Do gift cards expire?",
        "Can I buy a digital gift card for someone in {country}?",
        "What happens to my gift card when I return an item?",
        "Can I reload a gift card?",
        "Lost gift card: can it be replaced?",
    ), (
        "You can check the gift card balance on the Gift cards page or at checkout.",
        "Gift cards are valid for three years from the date of purchase.",
        "A gift card can be combined with {method} to pay the remaining amount.",
        "If a code does not work, check that it was entered without spaces and has not expired.",
        "Digital gift cards are sent by email and can be scheduled for a date of your choice.",
        "Gift cards can be used in our online shop and in all stores, including {city}.",
        "When you return an item bought with a gift card, the amount is put on a new gift card.",
        "Gift cards cannot be reloaded or exchanged for cash.",
        "A lost physical gift card can be blocked and replaced if you still have the receipt.",
        "Gift cards from our partners cannot be used in our shop.",
        "You can use up to one gift card per order.",
        "Gift cards do not earn loyalty points; the points are awarded when the card is spent.",
    ), ("payments", "returns", "loyalty")),
    _Topic("loyalty", (
        "How do I earn loyalty points?",
        "How many points do I get for buying the {product}?",
        "When do my loyalty points expire?",
        "How do I redeem points at checkout?",
        "Why are my points missing after an order?",
        "What are the loyalty tiers and benefits?",
        "Do I keep my points if I return an item?",
        "Can I transfer points to another account?",
    ), (
        "You earn one loyalty point for every euro spent, on the website, in the app and in "
        "stores.",
        "Points are added to your account once the return period of {days} days has ended.",
        "One hundred points are worth a 5 EUR voucher at checkout.",
        "Points expire 24 months after they were earned.",
        "Buying the {product} earns points on the price you paid after discounts.",
        "When you return an item, the points earned for it are removed from your balance.",
        "Silver members get free express shipping; Gold members also get early access to sales.",
        "Points cannot be transferred between accounts or exchanged for cash.",
        "Missing points can be added manually if you send us the order number within 60 days.",
        "Points are not earned on shipping costs or gift card purchases.",
        "Your points balance and tier are shown on the Loyalty page of your account.",
        "Double points weekends are announced in our newsletter.",
    ), ("discounts", "gift_cards", "account")),
    _Topic("discounts", (
        "How do I use a discount code?",
        "Why is my discount code not working?",
        "Can I combine two discount codes?",
        "Does the student discount apply to {category}?",
        "I forgot to apply my discount code",
        "Do discount codes work on sale items?",
        "Where can I find current promo codes?",
        "Price drop after I bought my {product}",
    ), (
        "Enter the discount code in the basket and choose Apply before you pay.",
        "Only one discount code can be used per order.",
        "Codes often have a minimum order value or exclude certain brands; check the conditions "
        "in the email.",
        "Discount codes cannot be applied to items that are already reduced in a sale.",
        "If you forgot to apply a code, contact us within seven days and we will refund the "
        "difference.",
        "The student discount of ten percent applies to full-price {category} items.",
        "Current promo codes are published in the newsletter and the app.",
        "If the price of the {product} drops within 14 days of your purchase, we refund the "
        "difference on request.",
        "Codes are case sensitive and expire at midnight on the end date.",
        "Personal codes are linked to your account and cannot be shared.",
        "Discounts are shown as a separate line on your invoice.",
        "A discount code from a marketplace seller cannot be used in our shop.",
    ), ("loyalty", "newsletter", "payments")),
    _Topic("stores", (
        "Where is your nearest store in {city}?",
        "What are the opening hours of the {city} store?",
        "Can I return an online order in a store?",
        "Click and collect: how do I pick up my order in {city}?",
        "Is the {product} available in store?",
        "Do stores accept {method}?",
        "Parking and accessibility at our stores",
        "Can I book a product demo in store?",
    ), (
        "Our store finder shows addresses, opening hours and stock for every store.",
        "The {city} store is open Monday to Saturday from 9 am to 8 pm.",
        "Online orders can be returned in any store; bring the order confirmation.",
        "With click and collect, your order is ready for pick-up in {city} within two hours.",
        "Bring your ID and the pick-up code from the email when collecting an order.",
        "Stock of the {product} is shown on the product page under Check store availability.",
        "Stores accept cards, {method} and gift cards; cash is accepted in most locations.",
        "All stores are step-free and have accessible fitting rooms.",
        "You can book a free product demo or personal shopping appointment online.",
        "Orders not collected within seven days are returned and refunded.",
        "Prices in stores and online are the same, except for online-only offers.",
        "Store staff can order items that are out of stock and ship them to your home.",
    ), ("returns", "delivery", "payments")),
    _Topic("privacy", (
        "How do you use my personal data?",
        "How do I request a copy of my data?",
        "How do I delete my personal data?",
        "How do I manage cookie preferences?",
        "Do you share my data with {carrier}?",
        "How do I stop personalised ads?",
        "How do you keep my payment details safe?",
        "How do I report a phishing email pretending to be from you?",
    ), (
        "We use your personal data to process orders, deliver parcels and provide customer "
        "service.",
        "Your name, address and phone number are shared with {carrier} only to deliver your "
        "parcel.",
        "You can request a copy of all data we hold about you from the Privacy page of your "
        "account.",
        "We answer data requests within 30 days, as required by the GDPR.",
        "Deleting your data also closes your account and removes your order history.",
        "Cookie preferences can be changed at any time using the link at the bottom of every page.",
        "Personalised ads can be switched off in your privacy settings.",
        "Payment details are encrypted and handled by a certified payment provider.",
        "We will never ask for your password or full card number by email.",
        "Forward suspicious emails to our security team and delete them without clicking any "
        "links.",
        "We keep invoices for ten years because tax law requires it.",
        "Our privacy policy explains which data we collect and why.",
    ), ("account", "passwords", "newsletter")),
    _Topic("assembly", (
        "How do I assemble my {furniture}?",
        "Missing parts in my {furniture} box",
        "Do you offer an assembly service in {city}?",
        "Where can I find the instruction manual for the {product}?",
        "Which tools do I need to assemble the {furniture}?",
        "Damaged part found during assembly",
        "Can I return an item after assembling it?",
        "Video guides for setting up your {gadget}",
    ), (
        "Assembly instructions are included in the box and can be downloaded from the product "
        "page.",
        "Before you start, lay out all parts and check them against the parts list.",
        "If a part is missing from the {furniture} box, we send a replacement free of charge.",
        "Most items can be assembled with a screwdriver and the Allen key that is included.",
        "Our assembly service is available in {city} and can be booked at checkout.",
        "Please do not use a damaged part; take a photo and send it to us so we can ship a new "
        "one.",
        "Assembled items can be returned within {days} days if they are undamaged and complete.",
        "Video guides for setting up the {gadget} are on our support channel.",
        "Two people are recommended for assembling large items.",
        "Tighten all screws fully only after the whole frame has been put together.",
        "Keep the instruction manual in case you need to take the item apart when moving.",
        "Wall mounting hardware is not included because it depends on the type of wall.",
    ), ("returns", "warranty", "care")),
    _Topic("batteries", (
        "My {gadget} will not charge",
        "How long does the battery of the {gadget} last?",
        "Can I use a fast charger with my {gadget}?",
        "How do I safely store lithium batteries?",
        "Battery drains quickly on my {gadget}",
        "Is the battery of the {gadget} replaceable?",
        "Shipping restrictions for items with batteries",
        "How do I recycle old batteries and chargers?",
    ), (
        "If the {gadget} does not charge, try a different cable and power adapter first.",
        "Clean the charging port gently with a dry brush; dust often blocks the connection.",
        "A full charge lasts about {hours} hours of normal use.",
        "Fast chargers are safe to use; the device limits the charging current itself.",
        "Battery life drops when Bluetooth, GPS or a bright display are used a lot.",
        "Updating the firmware often fixes a battery that drains quickly.",
        "Store lithium batteries at around half charge in a cool, dry place.",
        "Batteries lose some capacity over time; this is normal and not a defect.",
        "The battery of the {gadget} can be replaced by our repair service.",
        "Items with large lithium batteries are shipped by road only, which can add a day.",
        "Old batteries and chargers can be dropped off for recycling in all our stores.",
        "A battery that swells or gets hot must not be charged again; contact us for a "
        "replacement.",
    ), ("warranty", "shipping", "care")),
    _Topic("newsletter", (
        "How do I subscribe to the newsletter?",
        "How do I unsubscribe from marketing emails?",
        "I still receive emails after unsubscribing",
        "How often do you send newsletters?",
        "How do I change my newsletter preferences?",
        "Newsletter welcome discount not received",
        "Can I get text message alerts instead of email?",
        "Why did I stop receiving the newsletter?",
    ), (
        "You can subscribe to the newsletter at the bottom of any page or in your account.",
        "New subscribers receive a welcome discount code by email within an hour.",
        "Every newsletter has an unsubscribe link at the bottom.",
        "It can take up to 48 hours for an unsubscribe request to reach all our systems.",
        "We send the newsletter once or twice a week, and more often during sales.",
        "Under Communication preferences you can choose topics such as {category} or outdoor gear.",
        "Order and shipping emails are not marketing and are still sent after you unsubscribe.",
        "Text message alerts for offers can be switched on in the app.",
        "If the welcome code has not arrived, check your spam folder or promotions tab.",
        "Newsletters stop if emails to your address bounce repeatedly.",
        "Subscribers hear about new products such as the {product} first.",
        "We never sell your email address to third parties.",
    ), ("discounts", "privacy", "account")),
    _Topic("cancellations", (
        "How do I cancel my order?",
        "Can I cancel an order that has already shipped?",
        "Is there a cancellation fee?",
        "How do I cancel one item from my order?",
        "My order was cancelled without my request",
        "How long does it take to refund a cancelled order paid with {method}?",
        "Can I cancel a pre-order of the {product}?",
        "How do I cancel a subscription or recurring delivery?",
    ), (
        "You can cancel an order free of charge until it is handed to the carrier.",
        "Open My Orders, select the order and choose Cancel order.",
        "There is no cancellation fee for orders that have not shipped yet.",
        "Once an order has shipped, it can no longer be cancelled, but you can return it after "
        "delivery.",
        "Single items can be cancelled as long as the order is still being prepared.",
        "A refund for a cancelled order paid with {method} is issued within one working day.",
        "We may cancel an order if the payment fails or an item, such as the {product}, is out of "
        "stock.",
        "Pre-orders can be cancelled at any time before the release date.",
        "Subscriptions and recurring deliveries can be paused or cancelled under Subscriptions.",
        "You receive a confirmation email once the cancellation has been processed.",
        "If the cancel button is not shown, the order has already been passed to our warehouse.",
        "Custom-made items cannot be cancelled once production has started.",
    ), ("refunds", "returns", "shipping")),
)
TOPIC_BY_SLUG: Dict[str, _Topic] = {t.slug: t for t in TOPICS}

INTROS = (
    "This article answers a common question about {topic}.",
    "Here is what you need to know about {topic}.",
    "Many customers ask us about {topic}, so we have collected the answers here.",
    "This guide explains how {topic} works in our shop.",
    "Below you will find the steps and the rules that apply to {topic}.",
    "We want {topic} to be as simple as possible for you.",
)
GENERIC = (
    "Our customer service team is available every day from 8 am to 10 pm by chat and email.",
    "Have your order number ready when you contact us; it starts with a letter followed by six "
    "digits.",
    "You can also ask our chat assistant, which can look up your order for you.",
    "The same rules apply to orders placed in the mobile app.",
    "Business customers may have different terms, as agreed in their contract.",
    "Marketplace items sold by partners can follow the partner's own policy, shown on the product "
    "page.",
    "We update this page when our policies change.",
    "Screenshots and photos help us solve your question faster.",
    "For orders placed before the current policy took effect, the rules at the time of purchase "
    "apply.",
    "Your rights under consumer law are not affected by these terms.",
    "Most questions are answered within one working day.",
    "If you are not happy with our answer, you can ask for your case to be reviewed by a team "
    "leader.",
)
CLOSINGS = (
    "Was this article helpful? Let us know using the buttons below.",
    "Still need help? Contact us and we will be happy to assist.",
    "Thank you for shopping with us.",
    "If anything is unclear, our team is here to help.",
)
TOPIC_PHRASES: Dict[str, str] = {
    "returns": "returning items", "refunds": "refunds", "shipping": "shipping options",
    "delivery": "delivery times and tracking", "payments": "payment methods",
    "account": "your customer account", "passwords": "passwords and signing in",
    "invoices": "invoices and billing", "warranty": "the product warranty",
    "care": "product care", "sizing": "finding the right size",
    "gift_cards": "gift cards", "loyalty": "loyalty points", "discounts": "discount codes",
    "stores": "our stores", "privacy": "privacy and your data",
    "assembly": "assembly and set-up", "batteries": "batteries and charging",
    "newsletter": "the newsletter", "cancellations": "cancelling an order",
}
# variants of a question for a specific case: (title suffix, a body sentence about that case)
QUALIFIERS: Tuple[Tuple[str, str], ...] = (
    (" in the mobile app",
     "In the mobile app, open the menu and tap Account to find these options."),
    (" as a guest customer",
     "As a guest customer, use the link in your order confirmation email instead of signing in."),
    (" for business customers",
     "Business customers can also ask their account manager, who handles this for company orders."),
    (" for orders to {country}",
     "For orders to {country}, local consumer rules apply in addition to ours."),
    (" during a sale",
     "During a sale, handling times can be longer because of high order volumes."),
    (" for marketplace items",
     "For marketplace items, the partner seller handles this directly and may answer by email."),
    (" for orders over 100 EUR",
     "Orders over 100 EUR also qualify for a free upgrade to express handling."),
    (" for orders from {city}",
     "Customers in {city} can also visit our local store for help with this."),
    (" for {category} items",
     "This also applies to {category} items, unless the product page says otherwise."),
    (" for an order with several parcels",
     "If your order arrived in several parcels, each parcel is handled separately."),
    (" for a gift order",
     "For a gift order, the person who paid receives all emails and refunds."),
    (" for the {product}",
     "The {product} follows the same rules as other products in its category."),
)


def _article_slots(rng: random.Random, products: Sequence[Product],
                   by_group: Dict[str, List[Product]]) -> Dict[str, Any]:
    country = rng.choice(tuple(COUNTRIES))
    product = rng.choice(products)
    return {
        "product": product.name, "category": product.category.lower(),
        "kitchen": rng.choice(by_group["kitchen"]).name,
        "wear": rng.choice(by_group["wear"]).name,
        "gadget": rng.choice(by_group["gadget"]).name,
        "furniture": rng.choice(by_group["furniture"]).name,
        "brand": product.name.split()[0],
        "country": country, "city": rng.choice(COUNTRIES[country][0]),
        "carrier": rng.choice(CARRIERS), "method": rng.choice(PAYMENT_METHODS),
        "days": rng.choice((14, 30, 60)), "months": rng.randint(3, 22),
        "year": rng.randint(2019, 2024), "hours": rng.choice((8, 12, 20, 30, 40)),
    }


def _title(rng: random.Random, topic: _Topic, slots: Dict[str, Any], used: set,
           products: Sequence[Product], by_group: Dict[str, List[Product]]) -> Tuple[str, str]:
    """A title not used before, and the body sentence of its qualifier ("" if none)."""
    template = rng.choice(topic.titles)
    title, extra = template.format(**slots), ""
    tries = 0
    while title in used:
        tries += 1
        if tries > 30:  # very rare: every qualifier taken for this question; new slots
            slots.update(_article_slots(rng, products, by_group))
        suffix, sentence = rng.choice(QUALIFIERS)
        suffix = suffix.format(**slots)
        base = template.format(**slots)
        if suffix.split()[-1].lower() in base.lower():
            continue  # "... in Italy for orders to Italy"
        title = base[:-1] + suffix + "?" if base.endswith("?") else base + suffix
        extra = sentence.format(**slots)
    used.add(title)
    return title, extra


def _body(rng: random.Random, topic: _Topic, slots: Dict[str, Any], extra: str) -> str:
    """150-400 words in several paragraphs: intro, topic sentences mixed with related ones."""
    closing = rng.choice(CLOSINGS)
    target = rng.randint(150, 400) - len(closing.split())
    paragraphs: List[List[str]] = [[rng.choice(INTROS).format(topic=TOPIC_PHRASES[topic.slug])]]
    if extra:
        paragraphs[0].append(extra)
    pools = [list(topic.sentences)]
    for slug in topic.related:
        pools.append(list(TOPIC_BY_SLUG[slug].sentences))
    pools.append(list(GENERIC))
    for pool in pools:
        rng.shuffle(pool)
    words = sum(len(x.split()) for x in paragraphs[0])
    # mostly the topic's own sentences, with related and general ones mixed in
    own, rest = pools[0], [x for pool in pools[1:] for x in pool]
    rng.shuffle(rest)
    current: List[str] = []
    size = rng.randint(2, 5)
    while words < target and (own or rest):
        source = own if own and (not rest or rng.random() < 0.75) else rest
        sentence = source.pop().format(**slots)
        n = len(sentence.split())
        if words + n > target and words >= 150 - len(closing.split()):
            continue  # too long for what is left; a shorter one may still fit
        current.append(sentence)
        words += n
        if len(current) >= size:
            paragraphs.append(current)
            current, size = [], rng.randint(2, 5)
    if current:
        paragraphs.append(current)
    paragraphs.append([closing])
    return "\n\n".join(" ".join(p) for p in paragraphs)


def iter_articles(spec: DataSpec) -> Iterator[Tuple[int, str, str, str, str]]:
    """Yield (article_id, title, body, category, tags) rows of the FAQ corpus, ids from 1."""
    rng = spec.rng("faq")
    products = _catalogue(spec)
    by_group = {g: [p for p in products if any(noun in p.name for noun in nouns)]
                or list(products) for g, nouns in GROUPS.items()}
    used: set = set()
    for article_id in range(1, spec.n_faq + 1):
        topic = TOPICS[rng.randrange(len(TOPICS))]
        slots = _article_slots(rng, products, by_group)
        title, extra = _title(rng, topic, slots, used, products, by_group)
        body = _body(rng, topic, slots, extra)
        tags = [topic.slug]
        for key in ("product", "kitchen", "wear", "gadget", "furniture", "method", "carrier"):
            if str(slots[key]) in title and len(tags) < 4:
                tags.append(str(slots[key]).lower())
        yield (article_id, title, body, topic.slug, json.dumps(tags))


def _write_faq_db(path: Path, spec: DataSpec) -> None:
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(FAQ_SCHEMA)
        with conn:
            conn.executemany("INSERT INTO articles VALUES (?,?,?,?,?)", iter_articles(spec))
    finally:
        conn.close()


# --------------------------------------------------------------------------- cache on disk


def ensure_data(data_dir: Path, spec: DataSpec) -> DataPaths:
    """Generate the spec's data under ``data_dir`` unless a complete copy is already there.

    Generation writes into a private temporary folder that is renamed into place
    only when complete; if another process wins the race, its folder is used and
    ours is deleted. A second call costs one ``stat`` of the completion marker.
    """
    data_dir = Path(data_dir)
    final = data_dir / spec.dirname
    if (final / MARKER).is_file():
        return DataPaths.under(final, spec)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / (".%s.tmp-%d-%s" % (spec.dirname, os.getpid(), uuid.uuid4().hex[:8]))
    tmp.mkdir()
    try:
        started = time.perf_counter()
        paths = DataPaths.under(tmp, spec)
        with open(paths.catalogue_json, "w", encoding="utf-8") as f:
            json.dump([p.to_dict() for p in _catalogue(spec)], f, indent=0)
        _write_orders_db(paths.orders_db, spec)
        _write_faq_db(paths.faq_db, spec)
        marker = {"data_version": DATA_VERSION, "spec": asdict(spec),
                  "generated_in_s": round(time.perf_counter() - started, 3)}
        with open(tmp / MARKER, "w", encoding="utf-8") as f:
            json.dump(marker, f)
        _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return DataPaths.under(final, spec)


def _publish(tmp: Path, final: Path) -> None:
    """Rename tmp to final; if final appeared meanwhile, keep whichever is complete."""
    for _attempt in range(3):
        try:
            os.rename(tmp, final)
            return
        except OSError:
            if (final / MARKER).is_file():
                return  # another process won the race; the caller removes tmp
            # a folder without marker: left over by someone else's crash; move it aside
            stale = final.with_name(".%s.stale-%s" % (final.name, uuid.uuid4().hex[:8]))
            try:
                os.rename(final, stale)
            except OSError:
                pass
            shutil.rmtree(stale, ignore_errors=True)
    raise RuntimeError("could not publish generated data to %s" % final)


def ensure_data_for(cfg: EngineConfig) -> DataPaths:
    """``ensure_data`` for the data that a config asks for."""
    return ensure_data(cfg.data_dir, DataSpec.from_config(cfg))
