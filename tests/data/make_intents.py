"""Generate the labelled intent evaluation data (dev and test splits).

Usage:  python tests/data/make_intents.py

Writes ``intents_dev.jsonl`` and ``intents_test.jsonl`` next to this script, one
JSON object per line: {"text": ..., "intent": ...}.

How it works
------------
* Every intent has a list of hand-written phrasings (templates) written without
  looking at the chatbot's patterns.  Templates contain slots such as ``{order}``,
  ``{oref}``, ``{email}``, ``{amount}``, ``{date}``, ``{trk}`` or ``{product}``.
* For each intent the generator walks the templates round-robin (reshuffled every
  round), optionally adds a neutral lead-in / sign-off, applies "shopper noise"
  (lowercase, ALL CAPS, dropped punctuation/apostrophes) and, for ~15% of the
  messages, one or two realistic misspellings (curated ones such as "adress",
  "pasword", "invocie" or random dropped / doubled / swapped / adjacent-key
  letters), preferring the important words.  Typos are applied before the slots
  are filled, so entity values (order numbers, emails, amounts, tracking numbers)
  stay intact.
* Slots are then filled with random entities in several real-world formats.
* Messages are de-duplicated globally on a normalised form (case and punctuation
  folded), so no message appears twice in or across the splits, nor under two labels.
* Per intent, the unique messages are shuffled and split half/half into dev and
  test (stratified random assignment), so both splits follow the same distribution.

Everything is driven by one seeded ``random.Random`` and only ordered containers
are iterated, so the output is byte-for-byte reproducible (stdlib only).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

SEED = 20260214
OUT_DIR = Path(__file__).resolve().parent
TYPO_RATE = 0.15

# Messages per label *per split*.
DEFAULT_PER_SPLIT = 23
PER_SPLIT = {
    "track_order": 36,
    "cancel_order": 32,
    "get_refund": 30,
    "payment_issue": 28,
    "change_order": 26,
    "place_order": 26,
    "recover_password": 26,
    "faq": 70,
    "greeting": 22,
    "goodbye": 22,
    "thanks": 22,
}

# --------------------------------------------------------------------------- fillers

PRODUCTS = [
    "wireless headphones",
    "running shoes",
    "coffee maker",
    "yoga mat",
    "smartwatch",
    "blender",
    "backpack",
    "winter jacket",
    "desk lamp",
    "bluetooth speaker",
    "air fryer",
    "hiking boots",
    "phone case",
    "office chair",
    "electric toothbrush",
    "gaming mouse",
    "water bottle",
    "sunglasses",
    "denim jacket",
    "robot vacuum",
    "espresso machine",
    "mechanical keyboard",
    "rain jacket",
    "standing desk",
]
GADGETS = [
    "smartwatch",
    "wireless headphones",
    "bluetooth speaker",
    "e-reader",
    "power bank",
    "electric toothbrush",
    "robot vacuum",
    "fitness tracker",
    "wireless earbuds",
]
FURNITURE = [
    "standing desk",
    "bookshelf",
    "office chair",
    "bed frame",
    "wardrobe",
    "dining table",
    "bike",
    "shoe rack",
]
CARE_ITEMS = [
    "yoga mat",
    "running shoes",
    "wool sweater",
    "denim jacket",
    "backpack",
    "rain jacket",
    "leather boots",
    "silk scarf",
]
COLORS = ["black", "white", "navy", "red", "olive green", "grey", "pink", "beige", "blue"]
SIZES = [
    "M",
    "L",
    "XL",
    "S",
    "size 42",
    "size 9",
    "size 10.5",
    "a medium",
    "a large",
    "small",
    "EU 39",
    "US 8",
]
CITIES = [
    "Springfield",
    "Manchester",
    "Berlin",
    "Toronto",
    "Austin",
    "Lyon",
    "Dublin",
    "Madrid",
    "Seattle",
    "Melbourne",
    "Leeds",
    "Denver",
    "Rotterdam",
    "Glasgow",
]
COUNTRIES = [
    "Canada",
    "Germany",
    "the UK",
    "Australia",
    "Ireland",
    "France",
    "Japan",
    "Mexico",
    "Norway",
    "Spain",
    "Switzerland",
    "New Zealand",
    "Poland",
]
FIRST = [
    "jane",
    "john",
    "maria",
    "li",
    "ahmed",
    "sophie",
    "lucas",
    "emma",
    "olivia",
    "noah",
    "priya",
    "tom",
    "anna",
    "diego",
    "fatima",
    "kevin",
    "chloe",
    "sam",
]
LAST = [
    "doe",
    "smith",
    "garcia",
    "chen",
    "khan",
    "martin",
    "muller",
    "rossi",
    "nguyen",
    "brown",
    "kowalski",
    "silva",
    "okafor",
    "jensen",
    "dubois",
    "patel",
]
STREETS = [
    "Maple Avenue",
    "Oak Street",
    "Baker Street",
    "Elm Road",
    "High Street",
    "Park Lane",
    "Cedar Drive",
    "Mill Road",
    "Church Street",
    "Station Road",
    "Lakeview Blvd",
    "Rue de la Paix",
    "Hauptstrasse",
]
PAY_METHODS = [
    "PayPal",
    "Klarna",
    "Apple Pay",
    "Google Pay",
    "American Express",
    "Amex",
    "bank transfer",
    "Afterpay",
    "a debit card",
    "Venmo",
    "Bitcoin",
    "Maestro",
    "iDEAL",
    "Diners Club",
    "a prepaid card",
]
CARDS = [
    "my Visa",
    "my Mastercard",
    "PayPal",
    "my debit card",
    "Apple Pay",
    "my Amex",
    "my credit card",
    "Klarna",
    "Google Pay",
]
QTYS = ["2", "3", "4", "5", "two", "three", "four", "10"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def order_id(rng: random.Random) -> str:
    letter = rng.choice("ABCDEFGH")
    digits = f"{rng.randint(100000, 999999)}"
    fmt = rng.choices(
        ["canon", "hash", "lower", "dash", "space", "hashlower"],
        weights=[38, 16, 16, 12, 12, 6],
    )[0]
    if fmt == "canon":
        return letter + digits
    if fmt == "hash":
        return "#" + letter + digits
    if fmt == "lower":
        return letter.lower() + digits
    if fmt == "dash":
        return f"{letter}-{digits}"
    if fmt == "space":
        return f"{letter} {digits}"
    return "#" + letter.lower() + digits


def order_ref(rng: random.Random) -> str:
    oid = order_id(rng).lstrip("#")
    canon = oid.replace("-", "").replace(" ", "").upper()
    return rng.choice(
        [
            f"order {oid}",
            f"order #{canon}",
            f"order no. {canon[0]} {canon[1:]}",
            f"order number {oid}",
            f"order nr {oid}",
            f"my order {oid}",
            f"order #{oid}",
            f"order ({oid})",
            f"order no {oid}",
            f"order # {canon}",
        ]
    )


def email(rng: random.Random) -> str:
    f, last = rng.choice(FIRST), rng.choice(LAST)
    user = rng.choice(
        [
            f"{f}.{last}",
            f"{f}{last}",
            f"{f[0]}{last}{rng.randint(1, 99)}",
            f"{f}_{last[0]}",
            f"{f}.{last}{rng.randint(70, 99)}",
        ]
    )
    dom = rng.choice(
        ["example.com", "example.com", "example.org", "mail.example.net", "example.co.uk"]
    )
    return f"{user}@{dom}"


def amount(rng: random.Random) -> str:
    whole = rng.choice([7, 12, 19, 24, 30, 45, 59, 64, 89, 120, 149, 230, 18, 35])
    cents = rng.choice(["00", "99", "50", "90", "49", "95"])
    return rng.choice(
        [
            f"${whole}.{cents}",
            f"{whole},{cents} €",
            f"{whole} EUR",
            f"£{whole}",
            f"€{whole}.{cents}",
            f"${whole}",
            f"USD {whole}.{cents}",
            f"{whole},{cents}€",
            f"{whole} dollars",
            f"£{whole}.{cents}",
            f"{whole} euros",
        ]
    )


def date_adv(rng: random.Random) -> str:
    """A date usable as an adverbial ("I ordered it ___")."""
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice(
        [
            f"on {MONTHS[m - 1]} {d}",
            f"on 2026-{m:02d}-{d:02d}",
            f"last {rng.choice(WEEKDAYS)}",
            f"on {d:02d}/{m:02d}/2026",
            "yesterday",
            "last week",
            "two days ago",
            f"on the {ordinal(d)}",
            f"on {d} {MONTHS[m - 1]}",
            f"on {MONTHS[m - 1]} {ordinal(d)}",
            f"on {m}/{d}/2026",
            "a few days ago",
            f"on {d}.{m}.2026",
            "3 weeks ago",
        ]
    )


def date_noun(rng: random.Random) -> str:
    """A date usable as a noun ("before ___")."""
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice(
        [
            f"{MONTHS[m - 1]} {d}",
            f"2026-{m:02d}-{d:02d}",
            rng.choice(WEEKDAYS),
            f"{d:02d}/{m:02d}/2026",
            f"the {ordinal(d)}",
            f"{d} {MONTHS[m - 1]}",
            f"{MONTHS[m - 1]} {ordinal(d)}",
            "next Friday",
            "this weekend",
        ]
    )


def tracking(rng: random.Random) -> str:
    return "TRK" + "".join(rng.choice("0123456789") for _ in range(10))


def phone(rng: random.Random) -> str:
    a, b = rng.randint(100, 999), rng.randint(1000, 9999)
    return rng.choice(
        [
            f"+1 555 {a} {b}",
            f"(555) {a}-{b}",
            f"07700 900{a}",
            f"+44 7700 900{a}",
            f"555-{b}",
            f"+49 151 {a}{b}",
        ]
    )


def address(rng: random.Random) -> str:
    num = rng.randint(1, 240)
    street = rng.choice(STREETS)
    return rng.choice(
        [
            f"{num} {street}",
            f"{num} {street}, Apt {rng.randint(1, 30)}B",
            f"{street} {num}",
            f"{num} {street}, {rng.choice(CITIES)}",
        ]
    )


def full_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST).capitalize()} {rng.choice(LAST).capitalize()}"


def invoice_no(rng: random.Random) -> str:
    return rng.choice(
        [
            f"INV-2026-{rng.randint(1000, 99999):05d}",
            f"#{rng.randint(100000, 999999)}",
            f"INV{rng.randint(10000, 99999)}",
        ]
    )


def pick(options: list[str]):
    return lambda rng: rng.choice(options)


FILLERS = {
    "order": order_id,
    "oref": order_ref,
    "email": email,
    "email2": email,
    "amount": amount,
    "date": date_adv,
    "dday": date_noun,
    "trk": tracking,
    "phone": phone,
    "address": address,
    "name": full_name,
    "inv": invoice_no,
    "product": pick(PRODUCTS),
    "product2": pick(PRODUCTS),
    "gadget": pick(GADGETS),
    "furniture": pick(FURNITURE),
    "care": pick(CARE_ITEMS),
    "color": pick(COLORS),
    "size": pick(SIZES),
    "city": pick(CITIES),
    "country": pick(COUNTRIES),
    "method": pick(PAY_METHODS),
    "card": pick(CARDS),
    "qty": pick(QTYS),
}
# Slots whose values keep their own casing when the message is lower-cased.
ID_SLOTS = ("order", "oref", "email", "email2", "amount", "trk", "inv", "phone")

# --------------------------------------------------------------------------- templates

T: dict[str, list[str]] = {}

T["cancel_order"] = [
    "I want to cancel my order {order}",
    "please cancel {oref}",
    "cancel order {order}",
    "How do I cancel an order I placed {date}?",
    "I would like to request a cancellation of my recent purchase.",
    "I would like to request the cancellation of {oref}, placed {date}.",
    "yo cancel my order pls",
    "cancel my order",
    "Can I still cancel the {product} I ordered {date}?",
    "I changed my mind about the {product}, please cancel the order",
    "i need to cancel an order asap",
    "Is it too late to cancel {oref}? It hasn't shipped yet",
    "Please stop my order {order} from being shipped, I don't want it anymore",
    "how can i cancel a purchase i made on the app",
    "I accidentally ordered the {product} twice, please cancel order {order}",
    "Cancel my purchase of the {product} please, order number {order}",
    "where is the button to cancel my order",
    "ordered the {product} by mistake, cancel it please",
    "So I ordered the {product} {date} because I thought I needed it for a trip, but the "
    "trip fell through and I really don't need it anymore, so could you please cancel "
    "{oref} before it ships?",
    "I wish to cancel my order. The order number is {order}.",
    "what are the steps to cancel an order",
    "can u cancel my order {order} i placed it by mistake",
    "please void my order {order}",
    "Kindly cancel the order I placed {date} for {amount}.",
    "I no longer want the {product}. Cancel {oref}.",
    "cancel {order}",
    "Dear team, due to a change in circumstances I must ask you to cancel my order "
    "{order}. Please confirm once this has been done.",
    "hey can you cancel the order i just made",
]

T["change_order"] = [
    "I need to change the size of the {product} in {oref} to {size}",
    "Can I add another item to my order {order}?",
    "I want to modify my order",
    "please change the quantity of the {product} in my order to {qty}",
    "can i swap the {color} {product} in my order for a different colour",
    "I ordered the wrong size, can I change it to {size} before it ships? Order {order}",
    "How do I edit an order I already placed?",
    "remove the {product} from order {order} please, keep the rest",
    "Is it possible to update the items in {oref}?",
    "I would like to amend my order {order}: please replace the {product} with the {product2}.",
    "add one more {product} to my order",
    "change my order",
    "can i change the colour on my {product} order to {color}",
    "Hey, so I placed an order {date} for the {product} in {size} but my friend told me "
    "they run small, is there any way to change it to a bigger size before you send it "
    "out? the order number is {order}",
    "I'd like to make a change to my order",
    "Need to update quantity on order {order} to {qty}",
    "can I still modify the order I placed {date}?",
    "I picked the wrong item at checkout, can you change the {product} in {oref} to the "
    "{product2}?",
    "Please increase the number of {product} units in my order to {qty}.",
    "How can I change the items in my order?",
    "modify order {order}",
    "Could you take the {product} off my order {order}? I only want the {product2}.",
    "I want to change the {product} in my order to the {color} one",
    "is it possible to add the {product} to an order I already placed",
]

T["place_order"] = [
    "I want to buy the {product}",
    "How do I place an order?",
    "how can i order the {product} online",
    "I'd like to order {qty} of the {product}",
    "I would like to purchase the {product}, how do I proceed?",
    "wanna order the {product} how",
    "where do I go to make a purchase",
    "Can you help me place a new order?",
    "I'd like to make a new order for the {product}",
    "how to order",
    "I want to order the {color} {product} in {size}",
    "Can I buy the {product} directly from this chat?",
    "Help me purchase the {product} please",
    "Hi! I've been looking at the {product} for weeks and I finally decided to get one "
    "for my sister's birthday, can you walk me through how to actually place the order "
    "on your website? I've never bought from you before",
    "I want to place an order for {qty} {product} units",
    "buy {product}",
    "how do i check out with the {product} in my basket",
    "Ready to order the {product}, what do I do next?",
    "Could I order the {product} and the {product2} together?",
    "I would like to place an order, please.",
    "how do i buy stuff on your site",
    "I want to get the {product}, can I order it now?",
    "place order",
    "Please order the {product} for me",
    "I'd like to buy {qty} {product} units for my office, how do I order them?",
]

T["track_order"] = [
    "Where is my order {order}?",
    "yo where's my stuff",
    "track my order",
    "Can you tell me the status of {oref}?",
    "where is my package",
    "My order {order} still hasn't arrived, where is it?",
    "Has my {product} shipped yet?",
    "tracking number {trk} hasn't updated in days, where is my parcel?",
    "What's the shipping status of my order placed {date}?",
    "I want to track my package {trk}",
    "Could you please provide an update on the whereabouts of {oref}?",
    "order status {order}",
    "where my order at",
    "When will order {order} arrive? It says it shipped {date}",
    "Is my order out for delivery?",
    "Has {oref} been dispatched?",
    "check status of order {order}",
    "Hello, I ordered the {product} {date} and the confirmation email said it would be "
    "sent within two days, but I haven't received any shipping updates since then. Could "
    "you check where my order {order} is right now?",
    "whats the status on my {product}",
    "Where is parcel {trk} right now?",
    "i need an update on my delivery, order {order}",
    "is my parcel on its way",
    "track {trk}",
    "Where is the {product} I bought {date}?",
    "Any news on my order {order}??",
    "can you locate my package? tracking {trk}",
    "I would like to know the current status of my shipment, order number {order}.",
    "has my order shipped",
    "where's my package at, ordered it {date}",
    "what's happening with {oref}",
]

T["create_account"] = [
    "I want to create an account",
    "How do I sign up?",
    "how can i make a new account with {email}",
    "I'd like to register as a new customer",
    "Can you help me open an account?",
    "Where do I create a profile on your site?",
    "sign up",
    "I would like to create a customer account using the email address {email}.",
    "make account",
    "how to register",
    "Can I set up an account so I can save my favourites?",
    "I don't have an account yet, how do I get one?",
    "new here, how do i join",
    "Is it free to create an account?",
    "Hi, I've bought from you a couple of times as a guest but I'd finally like to "
    "create a proper account so I can see my order history, what's the process?",
    "create an account for me please, email {email}",
    "Steps to create a new account?",
    "Can I register with my phone number {phone}?",
    "open new account",
    "I want to become a registered member of your shop",
]

T["delete_account"] = [
    "I want to delete my account",
    "please close my account",
    "How do I remove my account permanently?",
    "delete my account and all the data linked to it",
    "I would like to request the closure of my customer account associated with {email}.",
    "close account",
    "I want to cancel my account with you completely",
    "deactivate my account please",
    "How can I terminate my account?",
    "Remove my account {email} from your system",
    "i dont want an account with you anymore, delete it",
    "Where is the option to delete my account?",
    "After a lot of thought I've decided I don't want to shop here anymore, so please "
    "delete my account registered under {email}, I won't be needing it again.",
    "Can you erase my account?",
    "get rid of my account",
    "Please permanently delete the account registered to {email}.",
    "how do i close my account",
    "I want my account removed",
    "delete account",
]

T["edit_account"] = [
    "I need to update the phone number on my account to {phone}",
    "How do I change my name on my profile?",
    "change email on my account to {email}",
    "I would like to update my personal details.",
    "Can I edit my profile information?",
    "My last name changed after I got married, can you update my account to {name}?",
    "update my account details",
    "how to change the email address linked to my account from {email} to {email2}",
    "I want to change my username",
    "edit profile",
    "Where can I modify my account info?",
    "Please correct the spelling of my name on my account, it should be {name}",
    "need to change my phone no. on my profile",
    "Can I update my date of birth on my account?",
    "Hello, I recently got a new phone and my number changed, so I'd like to update it on "
    "my account so I keep getting SMS notifications, the new number is {phone}",
    "change the email on my profile please",
    "How do I update my contact details in my account settings?",
    "edit my account name to {name}",
    "my profile still shows my old email, please change it to {email}",
]

T["recover_password"] = [
    "I forgot my password",
    "how do i reset my password",
    "can't log in, forgot password",
    "The password reset link isn't working, how can I get a new one?",
    "I need to recover my password for {email}",
    "reset password",
    "I would like to reset the password for my account.",
    "forgot pw help",
    "I can't remember my password and I'm locked out",
    "Send me a password reset email to {email}",
    "how to change my password i forgot it",
    "My password doesn't work anymore, how do I get back into my account?",
    "i keep typing the wrong password and now i can't log in",
    "Where is the 'forgot password' link?",
    "I haven't logged in for about a year and I have absolutely no idea what my password "
    "was, I tried all my usual ones and nothing works, can you help me reset it? my email "
    "is {email}",
    "password recovery",
    "I'm locked out of my account because I forgot my password",
    "Can you help me get a new password?",
    "lost my password",
    "the site says my password is incorrect, how do I reset it?",
    "need a new password for {email}",
    "I did not receive the password reset email",
    "forgot password",
    "help me recover my password please",
]

T["registration_problems"] = [
    "I can't sign up, I keep getting an error",
    "The verification email never arrived after I registered with {email}",
    "Registration fails every time I click submit",
    "I'm trying to register but it says my email {email} is already in use",
    "error when registering",
    "Why can't I register? The form just reloads",
    "I never got the confirmation email to activate my new account",
    "sign up isn't working",
    "I tried to register {date} but the page crashed at the last step",
    "Your registration page gives me 'something went wrong'",
    "I am experiencing difficulties completing the registration process on your website.",
    "the activation link in the sign-up email is expired",
    "Can't finish signing up, it won't accept my phone number {phone}",
    "registration problem",
    "I've been trying to make an account for the last half hour, filled in all the "
    "fields, and every time I hit the register button it just says 'invalid input' "
    "without telling me which field is wrong. I've tried two browsers. What is going on?",
    "verification code for sign up never came",
    "signup error",
    "I registered but never received the verification email, checked spam too",
    "the registration form won't let me continue",
    "getting an error message when I try to create my account",
]

T["switch_account"] = [
    "How do I switch to a different account?",
    "I want to log into my other account",
    "how can i switch between my personal and business accounts",
    "Can I change to my business account?",
    "switch account",
    "I'm logged in as my husband, how do I switch to my own account?",
    "How do I swap profiles in the app?",
    "I'd like to switch from my personal account to a business account.",
    "log out and use another account",
    "I have two accounts, how do I move between them?",
    "Can I use a different account on this device?",
    "change account on the app",
    "How do I sign in with a different account ({email})?",
    "My partner and I share a laptop and it keeps logging me into her account "
    "automatically, how do I switch over to mine, which is {email}?",
    "switch profile",
    "how to toggle between accounts",
    "I need to switch my account type to business",
    "Can I be logged into two accounts and switch between them?",
    "switch to my other profile",
    "I want to use my work account instead of my personal one",
]

T["check_cancellation_fee"] = [
    "Is there a fee to cancel my order?",
    "Do you charge a cancellation fee?",
    "how much does it cost to cancel an order",
    "Will I be charged if I cancel {oref}?",
    "cancellation fee?",
    "Is there any penalty for cancelling an order after it ships?",
    "What are the cancellation charges?",
    "if i cancel will i lose money",
    "Would cancelling my order of {amount} incur any fees?",
    "Are cancellations free?",
    "do i get charged a fee if i cancel the {product} i ordered {date}",
    "How much is the cancellation penalty?",
    "I'm thinking about cancelling my order {order} because I might not need the "
    "{product} anymore, but before I do anything I want to know if there's any fee "
    "involved, could you tell me?",
    "is cancelling free of charge",
    "What fee do you take for order cancellations?",
    "I heard there's a {amount} cancellation fee, is that true?",
    "Cancellation costs?",
    "any fees for cancelling?",
    "Do I lose part of the {amount} if I cancel?",
    "what's the charge for cancelling an order",
]

T["contact_customer_service"] = [
    "How can I contact customer service?",
    "What is your customer support phone number?",
    "what are your customer service hours",
    "Is there an email address for support?",
    "how do i reach support",
    "When is your helpline open?",
    "customer service number",
    "I'd like to get in touch with your customer support team.",
    "Do you have a support chat or hotline?",
    "Are you open on weekends for support calls?",
    "What's the best way to contact you guys?",
    "contact support",
    "Is customer care available 24/7?",
    "Which number do I call for help?",
    "Hi, I've looked all over your website and I can't find any way to contact the "
    "support team, is there a phone number or email I can use? I'd prefer phone if "
    "possible",
    "what time does customer service open tomorrow",
    "support email?",
    "How do I contact your service desk?",
    "customer support opening hours?",
    "is there a support line in {country}?",
]

T["contact_human_agent"] = [
    "I want to talk to a real person",
    "Can I speak to a human?",
    "agent please",
    "get me a human",
    "Are you a bot? I need a real agent",
    "transfer me to a live agent",
    "I would prefer to speak with a human representative.",
    "stop the bot, real person please",
    "Can you connect me with an actual person from your team?",
    "HUMAN",
    "talk to agent",
    "I don't want to chat with a robot, let me talk to a person",
    "Is there a live person I can chat with?",
    "representative",
    "Look, I've been going back and forth with this automated thing for ten minutes and "
    "it doesn't understand what I'm asking, please just put me through to an actual human "
    "being",
    "operator please",
    "I need to speak to someone, not a machine",
    "Can a real agent take over this chat?",
    "human agent",
    "let me talk to a human being",
]

T["delivery_options"] = [
    "What shipping options do you offer?",
    "Do you have express delivery?",
    "Can I pick up my order in store instead of having it shipped?",
    "Do you ship internationally?",
    "Do you deliver to {country}?",
    "what delivery methods are available",
    "Is next-day delivery an option?",
    "shipping options?",
    "Can I choose between standard and express shipping at checkout?",
    "Do you offer same day delivery in {city}?",
    "Is there a click and collect option?",
    "Which couriers do you use?",
    "Do you have a free shipping option?",
    "Can I have my parcel delivered to a pickup point?",
    "I would like to know which delivery options are available for my area.",
    "I'm buying the {product} as a gift and want it to arrive fast, do you offer any "
    "express or priority shipping, or is it only the standard option?",
    "what kinds of shipping do u have",
    "Do you deliver on Saturdays?",
    "Can I get my order shipped to a parcel locker?",
    "delivery options",
    "do you ship to {country} or only domestic",
]

T["delivery_period"] = [
    "How long does delivery take?",
    "How many days does it usually take to receive an order?",
    "what's the delivery time to {country}?",
    "When will my order arrive if I order today?",
    "How long does shipping take for the {product}?",
    "delivery time?",
    "How long is standard shipping?",
    "If I order the {product} now, when would it arrive?",
    "What is the estimated delivery period for orders to {city}?",
    "how fast do you ship",
    "How many business days does express delivery take?",
    "Will it arrive before {dday} if I order now?",
    "Typical delivery times?",
    "how long till stuff arrives usually",
    "How long does it take for international orders to arrive?",
    "I need the {product} for my brother's birthday which is {dday}, and I'm wondering how "
    "long your deliveries normally take, would it get here in time if I place the order "
    "tonight?",
    "Could you tell me the average delivery timeframe?",
    "How soon can I expect delivery after ordering?",
    "how many days for shipping to {city}",
    "what is the usual delivery time",
]

T["complaint"] = [
    "I want to file a complaint",
    "I'm extremely unhappy with your service",
    "This is the worst customer service I have ever experienced",
    "How do I make a formal complaint?",
    "I would like to lodge a complaint about the courier who delivered {oref}.",
    "your service is terrible and i want to complain",
    "I wish to complain about the way I was treated by one of your staff",
    "complaint",
    "Absolutely disgusted with how my issue was handled, I want to raise a complaint",
    "Where can I submit a complaint?",
    "I'm really disappointed, nobody answered my emails for two weeks, I want to complain",
    "I need to report a bad experience with your store in {city}",
    "I have been a loyal customer for years, but the way your team treated me {date} was "
    "unacceptable. I was promised a callback that never happened and was hung up on "
    "twice. I want this escalated as a formal complaint.",
    "Who do I complain to?",
    "THIS IS UNACCEPTABLE I WANT TO COMPLAIN",
    "I'm not happy at all with your service, how do I file a grievance?",
    "I want to complain about the rude delivery driver",
    "I want to escalate a complaint",
    "your company is a joke, where do i send a complaint",
    "very dissatisfied with how you treat customers, this needs to be reported",
]

T["review"] = [
    "I want to leave a review for the {product}",
    "How can I write a review?",
    "Where do I rate my purchase?",
    "I'd like to give feedback on your service",
    "can i leave a rating for the {product} i bought {date}",
    "I want to post a product review",
    "I'd love to leave a 5-star review, where do I do that?",
    "leave review",
    "How do I submit feedback about my shopping experience?",
    "I would like to share my opinion about the {product} I purchased.",
    "Where can I write a customer review?",
    "want to rate the {product}",
    "I bought the {product} {date} and honestly it's been fantastic, I'd really like to "
    "leave a review so other people know how good it is, where can I do that?",
    "Can I edit the review I left on the {product}?",
    "feedback form?",
    "Is there a way to review the delivery service?",
    "I want to give the {product} a star rating",
    "How do I leave feedback for your support team?",
    "write a review",
    "where can i post my thoughts on the {product}",
]

T["check_invoice"] = [
    "Can I check my invoice for order {order}?",
    "I want to see what's on the invoice for my last purchase",
    "What's the total on invoice {inv}?",
    "Can you explain the charges on my invoice for {oref}?",
    "I want to go over the line items on my latest invoice",
    "Does my invoice include VAT?",
    "I'd like to review the details of the invoice from {date}.",
    "check invoice",
    "How much was I invoiced for {oref}?",
    "What items are listed on invoice {inv}?",
    "i need to look at my bill from {date}",
    "Is the shipping cost included on my invoice?",
    "Can you confirm the amount on my invoice is {amount}?",
    "Hello, I'm doing my expenses for work and I need to double-check what's on the "
    "invoice for the {product} I bought {date}, specifically whether the tax is broken "
    "down separately. Can you help me check it?",
    "show me the details of my invoice",
    "invoice details for {order}",
    "Is my company name shown on the invoice for {order}?",
    "what does invoice {inv} say i paid",
    "check the amount on my invoice please",
]

T["get_invoice"] = [
    "Can you send me the invoice for {oref}?",
    "I need a receipt for my purchase",
    "How do I download my invoice?",
    "please email the invoice to {email}",
    "I would like to obtain a copy of the invoice for my order placed {date}.",
    "get invoice",
    "send receipt pls",
    "Can I get a PDF invoice for order {order}?",
    "I lost my receipt for the {product}, can you send another one?",
    "Where can I download receipts?",
    "I need an invoice for my company's accounting, order {order}",
    "Could you issue an invoice with my company name for {oref}?",
    "Email me a copy of the receipt for {amount}",
    "download invoice",
    "My accountant is asking for invoices for everything I bought this quarter, including "
    "the {product} from {date}. Is there a way to download them all, or can you email them "
    "to {email}?",
    "Can I have a VAT invoice for my purchase?",
    "I never received an invoice for {oref}, please send one",
    "How do I get a receipt for my order?",
    "Resend the invoice please",
    "I need a copy of my invoice",
]

T["newsletter_subscription"] = [
    "I want to subscribe to your newsletter",
    "How do I unsubscribe from your emails?",
    "Please stop sending me marketing emails",
    "sign me up for the newsletter with {email}",
    "unsubscribe",
    "How can I opt out of promotional emails?",
    "I'd like to receive your newsletter",
    "Remove {email} from your mailing list",
    "stop spamming me with promo emails",
    "Is there a newsletter I can join?",
    "I would like to cancel my newsletter subscription.",
    "how do i get the weekly deals email",
    "newsletter signup",
    "I keep getting marketing emails even though I unsubscribed, please take me off the list",
    "Can I change how often I get your newsletter?",
    "Hi there, I get like three emails a day from you about sales and new arrivals and "
    "it's honestly too much, how do I unsubscribe from all the marketing stuff?",
    "subscribe me to the newsletter",
    "opt in to marketing emails",
    "unsubscribe {email} from the newsletter",
    "no more newsletters please",
]

T["check_payment_methods"] = [
    "What payment methods do you accept?",
    "Do you take {method}?",
    "can i pay with {method}",
    "Is {method} accepted?",
    "payment options?",
    "Which credit cards do you accept?",
    "Can I pay in installments?",
    "Do you accept payment by bank transfer?",
    "I would like to know which forms of payment are available.",
    "how can i pay",
    "Can I use {method} at checkout?",
    "Do you support {method} or only cards?",
    "Is cash on delivery possible?",
    "I don't have a credit card and I'd rather not use one anyway, so I'm wondering what "
    "other ways there are to pay on your site, like {method} or something similar?",
    "What are the accepted payment types?",
    "Can I split the payment between {method} and a card?",
    "ways to pay?",
    "Are there any payment methods besides {method}?",
    "accepted payment methods",
    "do you guys take {method}",
]

T["payment_issue"] = [
    "My payment failed",
    "My card was declined but I know it works",
    "I was charged twice for {oref}",
    "Payment didn't go through",
    "I have a problem paying for my order",
    "Why was my payment with {card} rejected?",
    "You charged me {amount} twice {date}",
    "checkout keeps failing at the payment step",
    "The payment went through at my bank but the order says unpaid",
    "payment error",
    "I'm unable to complete my payment with {card}.",
    "Money was taken from my account but I got an error message at checkout",
    "I was charged {amount} but my order total was less",
    "transaction declined again and again",
    "I've tried to pay for the {product} three times now with {card} and every single "
    "time it says 'transaction could not be processed', but my bank says there's nothing "
    "wrong on their side. What's going on?",
    "I'm experiencing an issue with my payment for order {order}.",
    "Double charge on my card for {order}!!",
    "why can't i pay",
    "the payment page just freezes",
    "My PayPal payment is stuck on pending",
    "payment not working",
    "{card} keeps getting declined on your site",
    "I got charged {amount} but the order never went through",
    "there's a problem with my payment",
]

T["check_refund_policy"] = [
    "What is your refund policy?",
    "How many days do I have to return an item?",
    "Can I return something after 30 days?",
    "return policy?",
    "Do you offer full refunds?",
    "Are sale items refundable?",
    "What's the return window for the {product}?",
    "Do I have to pay for return shipping?",
    "Can I get a refund if I've already opened the {product}?",
    "I would like to understand your refund and return conditions.",
    "how does returning stuff work in general",
    "Is the refund policy different for international orders?",
    "refund policy",
    "Can I return a gift without a receipt?",
    "Before I buy the {product}, I want to be sure: if it doesn't fit or I don't like it, "
    "what's your policy on returns and how long do I have to send it back?",
    "Do refunds go back to the original payment method?",
    "How long is the return period?",
    "what items can't be returned",
    "whats ur return policy",
    "is there a time limit for refunds",
]

T["get_refund"] = [
    "I want a refund",
    "refund?",
    "I want my money back for {oref}",
    "Please refund the {amount} for the {product}",
    "How do I request a refund?",
    "The {product} arrived broken, I want a refund",
    "I would like to request a refund for my recent purchase.",
    "can i get my money back",
    "Refund me please, order {order}",
    "Give me a refund for the {product}, it doesn't work",
    "I'd like to get reimbursed for {oref}",
    "How can I get a refund for a damaged item?",
    "i want to return the {product} and get a refund",
    "requesting a full refund of {amount}",
    "start a refund for order {order}",
    "I ordered the {product} {date} and it stopped working after two days. I don't want a "
    "replacement, I just want my {amount} back. How do I get a refund?",
    "refund my order",
    "I want my {amount} back",
    "Can you issue a refund for the {product} I bought?",
    "how to claim refund",
    "I'd like to be refunded for order {order}",
    "money back please",
    "please process a refund for {oref}, the item was not as described",
    "I demand a refund",
    "can I get a refund on the {product}",
]

T["track_refund"] = [
    "Where is my refund?",
    "When will I get my refund for {oref}?",
    "I requested a refund {date} and still haven't received it",
    "status of my refund",
    "Has my refund been processed yet?",
    "refund status for {order}",
    "It's been two weeks and my {amount} refund hasn't shown up",
    "How long until my refund arrives in my account?",
    "Can you check on the refund for the {product} I returned?",
    "I would like an update on the status of my refund request.",
    "still waiting on my refund",
    "refund not received yet",
    "Was my refund of {amount} sent?",
    "You said my refund was approved {date}, but I don't see the money",
    "I sent back the {product} over a week ago, got the email saying you received it, and "
    "was told the refund would be processed within 5 days. It's now been 10 days and "
    "nothing. Where is my money?",
    "Any update on my refund?",
    "track refund",
    "when does the refund hit my card",
    "my refund is taking forever, whats going on",
    "is my refund for {order} on its way",
]

T["change_shipping_address"] = [
    "I need to change the delivery address for {oref}",
    "Can I update my shipping address?",
    "Please send order {order} to {address} instead",
    "I moved, how do I change my address?",
    "wrong address on my order, can i change it",
    "change shipping address",
    "I would like to modify the shipping address on my account to {address}.",
    "Can you redirect my package to my work address?",
    "update delivery address to {address}",
    "how do i edit my shipping address",
    "I typed the wrong street when ordering, please change it to {address}",
    "Is it too late to change the address for order {order}?",
    "Hi, I'm going to be at my parents' place in {city} next week instead of home, so "
    "could you change the delivery address on order {order} to {address}? It hasn't "
    "shipped yet as far as I can see.",
    "change address on my order please",
    "My address has changed, please update it",
    "Can I switch the shipping address to {address}?",
    "Need to correct my delivery address",
    "How to change the ship-to address after ordering?",
    "the address on {oref} is wrong, it should be {address}",
]

T["set_up_shipping_address"] = [
    "How do I add a new shipping address?",
    "I want to save a shipping address to my account",
    "add address {address}",
    "Can I set up a delivery address for future orders?",
    "I'd like to add a second shipping address",
    "Where do I enter my shipping address for the first time?",
    "set up shipping address",
    "please add {address} as a new address in my account",
    "I don't have any address saved, how do I add one?",
    "Can I store multiple delivery addresses?",
    "How do I add my office as a shipping address?",
    "I would like to register a new delivery address on my profile.",
    "new shipping address",
    "save my address for next time",
    "I just created my account and there's no address in it yet, where exactly do I set up "
    "my shipping address so I don't have to type it in every single time?",
    "Can you add a shipping address to my account: {address}?",
    "How do I set a default shipping address?",
    "add another delivery address",
    "i want to add my new flat at {address} to my saved addresses",
]

T["faq"] = [
    # product care
    "How do I clean my {care}?",
    "Can the {care} go in the washing machine?",
    "how should i store leather boots over the winter",
    "What's the best way to care for the {care}?",
    # warranty
    "Does the {product} come with a warranty?",
    "How long is the warranty on electronics?",
    "is the warranty valid internationally",
    # sizing
    "Do your running shoes run true to size?",
    "Where can I find your size guide?",
    "I'm usually a {size} in other brands, what size should I get in your jackets?",
    "size chart for jeans?",
    # gift cards
    "Do you sell gift cards?",
    "How do I check my gift card balance?",
    "Do gift cards expire?",
    "what gift card values are available",
    # loyalty
    "How do loyalty points work?",
    "how many points do i earn per dollar spent",
    "do my reward points expire",
    "Can I use loyalty points on sale items?",
    # stores
    "Where is your nearest store to {city}?",
    "Do you have a physical shop in {city}?",
    "What are the opening hours of your {city} store?",
    # availability / restock
    "When will the {product} be back in stock?",
    "is the {product} available in {color}?",
    "Will you restock the {color} {product}?",
    "Is the {product} sold out for good?",
    # promotions
    "Do you have any discount codes right now?",
    "How do I use a promo code?",
    "Is there a student discount?",
    "When is your next sale?",
    "Do you do Black Friday deals?",
    # assembly
    "How do I assemble the {furniture}?",
    "Do you have assembly instructions for the {furniture}?",
    "Is the {furniture} hard to put together?",
    "what tools do i need to build the {furniture}",
    # privacy
    "How do you use my personal data?",
    "Do you share my data with third parties?",
    "Where can I read your privacy policy?",
    "Are you GDPR compliant?",
    # battery / charging
    "How long does the battery last on the {gadget}?",
    "What charger do I need for the {gadget}?",
    "my {gadget} won't charge, what should I try?",
    "Can I leave the {gadget} charging overnight?",
    # compatibility
    "Is the {gadget} compatible with iPhone?",
    "Does the {gadget} work with Android phones?",
    # materials
    "What material is the {product} made of?",
    "Is the yoga mat latex free?",
    "are your products vegan",
    # gift wrapping
    "Do you offer gift wrapping?",
    "Can I include a personal message with a gift?",
    # price match
    "Do you price match?",
    "Will you match a lower price from another store?",
    # sustainability
    "Is your packaging recyclable?",
    "what are you doing about sustainability",
    # app
    "Do you have a mobile app?",
    "Is there an app for Android?",
    # usage / how-to
    "How do I descale the {coffee}?",
    "How do I pair my {gadget} with my laptop?",
    "Does the coffee maker have an auto shut-off?",
    # careers
    "Are you hiring at the moment?",
    # safety / ingredients
    "Does the protein powder contain nuts?",
    "Is the {product} safe for kids to use?",
    # product comparison / specs
    "What's the difference between the {gadget} models?",
    "is the {product} waterproof",
]
FILLERS["coffee"] = pick(["coffee maker", "espresso machine", "kettle"])

# Social intents are composed from parts (greeting word x addressee x follow-up).
GREET_WORDS = [
    "hi",
    "hello",
    "hey",
    "good morning",
    "good afternoon",
    "good evening",
    "hiya",
    "howdy",
    "yo",
    "greetings",
    "morning",
    "hey hey",
    "helloooo",
    "heya",
    "hi hi",
    "evening",
    "hallo",
]
GREET_TO = [
    "",
    " there",
    " team",
    " support",
    " everyone",
    " guys",
    " folks",
    " all",
    " friend",
    " bot",
]
GREET_TAIL = [
    "",
    "",
    "",
    "!",
    " :)",
    ", how are you?",
    ", hope you're well",
    ", how's it going?",
    ", anyone there?",
    "!!",
    ", nice to meet you",
    ", how are you doing today?",
    " 👋",
]

BYE_WORDS = [
    "bye",
    "goodbye",
    "see you",
    "see ya",
    "talk later",
    "bye for now",
    "ok bye",
    "cya",
    "later",
    "take care",
    "good night",
    "catch you later",
    "i'm off, bye",
    "farewell",
    "bye bye",
    "so long",
    "until next time",
    "gotta go, bye",
    "ttyl",
    "have a nice day, bye",
    "that's all, bye",
    "have a good one",
]
BYE_TO = ["", "", "", " then", " everyone", " team", " guys", " all"]
BYE_TAIL = ["", "", "", "!", " :)", "!!", ".", " 👋"]

THANK_WORDS = [
    "thank you",
    "thanks",
    "thx",
    "cheers",
    "much appreciated",
    "thanks a lot",
    "thank you so much",
    "ty",
    "many thanks",
    "appreciate it",
    "thanks for your help",
    "great, thanks",
    "perfect, thank you",
    "awesome thx",
    "thanks a bunch",
    "thank you very much",
    "tysm",
    "thanks heaps",
    "really appreciate your help",
    "you've been very helpful, thank you",
    "that helps, thanks",
    "thank you kindly",
]
THANK_TO = [
    "",
    "",
    "",
    " again",
    " team",
    " guys",
    " for the quick reply",
    " for the info",
    " for sorting that out",
]
# phrases that read naturally with a THANK_TO addressee; the others get only a tail
THANK_TO_OK = [
    "thank you",
    "thanks",
    "thx",
    "thanks a lot",
    "thank you so much",
    "ty",
    "many thanks",
    "thanks a bunch",
    "thank you very much",
    "tysm",
]
THANK_TAIL = ["", "", "!", " :)", "!!", ".", " 🙏"]

PREAMBLES = [
    "Hi,",
    "Hello,",
    "Hi there,",
    "Hey,",
    "Good morning,",
    "Quick question:",
    "Sorry to bother you but",
    "ok so",
    "Hello team,",
    "Hi, I hope you can help.",
    "um",
    "Dear support,",
    "hey guys",
    "Question -",
    "Good afternoon.",
    "Excuse me,",
    "hello?",
]
SUFFIXES = [
    " please",
    " thanks",
    " thank you",
    " thx",
    " asap",
    " Thanks in advance.",
    " ty",
    " pls",
    " Regards.",
    " !!",
    " please help",
    " cheers",
]

# --------------------------------------------------------------------------- typos

CURATED = {
    "address": ["adress", "addres", "adresss", "addresss"],
    "password": ["pasword", "passwrod", "passowrd", "pssword"],
    "invoice": ["invocie", "invoce", "invoise", "invioce"],
    "invoices": ["invocies", "invoces"],
    "refund": ["refnud", "refudn", "refun", "refumd"],
    "refunded": ["refundded", "refnuded"],
    "delivery": ["delivry", "delievery", "deliverey", "dilevery"],
    "order": ["ordr", "ordedr", "oder", "orderr"],
    "ordered": ["orderd", "odered"],
    "cancel": ["cancle", "cancell", "cansel", "cacnel"],
    "cancelling": ["cancdling", "cancleing", "canceling", "cancellng"],
    "cancellation": ["cancelation", "cancellaton", "cancellatoin"],
    "receive": ["recieve", "recive"],
    "received": ["recieved", "recived"],
    "account": ["acount", "accout", "accuont", "acocunt"],
    "shipping": ["shiping", "shippping", "shippinh"],
    "payment": ["paymnet", "payemnt", "paymet"],
    "newsletter": ["newsleter", "newletter", "newsltter"],
    "tracking": ["trackign", "traking"],
    "package": ["pakage", "packge", "pacakge"],
    "receipt": ["reciept", "receit", "recipt"],
    "subscribe": ["subcribe", "suscribe"],
    "unsubscribe": ["unsubcribe", "unsuscribe", "unsubscibe"],
    "complaint": ["complant", "complaitn", "compliant"],
    "registration": ["registation", "regsitration", "registraion"],
    "register": ["regster", "registre"],
    "which": ["wich", "whihc"],
    "tomorrow": ["tommorow", "tomorow"],
    "available": ["availble", "avaliable"],
    "customer": ["custmer", "costumer", "cusotmer"],
    "service": ["servcie", "sevice", "serivce"],
    "business": ["buisness", "busines"],
    "warranty": ["waranty", "warrenty"],
    "review": ["reveiw", "reivew"],
    "delete": ["delte", "deleet"],
    "please": ["plese", "pleae", "pleas"],
    "because": ["becuase", "beacuse"],
    "shipped": ["shiped", "shippd"],
    "parcel": ["parcle", "parcell"],
    "verification": ["verfication", "verificaton"],
    "subscription": ["subscripton", "subcription"],
    "their": ["thier"],
    "definitely": ["definately"],
    "email": ["emial", "emal"],
    "change": ["chnage", "chang", "cahnge"],
    "agent": ["agnet", "aegnt"],
    "human": ["humna", "huamn"],
    "status": ["stauts", "staus"],
    "thanks": ["thnaks", "thansk", "tanks"],
    "hello": ["helo", "hellp"],
    "goodbye": ["goodbey", "godbye"],
}
IMPORTANT = {w: None for w in CURATED}
IMPORTANT.update(
    {
        w: None
        for w in [
            "orders",
            "refunds",
            "cancelled",
            "cancellations",
            "addresses",
            "profile",
            "login",
            "deliver",
            "express",
            "policy",
            "return",
            "returns",
            "charged",
            "declined",
            "fee",
            "track",
            "switch",
            "create",
            "close",
            "update",
            "contact",
            "support",
            "person",
            "newsletters",
            "unsubscribed",
            "methods",
            "shipment",
            "arrive",
            "purchase",
            "reset",
            "forgot",
            "signing",
            "sign",
            "charge",
            "penalty",
            "complain",
            "feedback",
            "rating",
            "coupon",
            "discount",
            "warranty",
            "assemble",
            "battery",
            "charging",
            "store",
            "gift",
            "points",
            "restock",
            "stock",
            "privacy",
            "size",
            "details",
            "phone",
            "number",
        ]
    }
)

KEYBOARD = {
    "q": "wa",
    "w": "qes",
    "e": "wrd",
    "r": "etf",
    "t": "ryg",
    "y": "tuh",
    "u": "yij",
    "i": "uok",
    "o": "ipl",
    "p": "ol",
    "a": "qsz",
    "s": "adwx",
    "d": "sfec",
    "f": "dgrv",
    "g": "fhtb",
    "h": "gjyn",
    "j": "hkum",
    "k": "jli",
    "l": "kop",
    "z": "asx",
    "x": "zsc",
    "c": "xdv",
    "v": "cfb",
    "b": "vgn",
    "n": "bhm",
    "m": "njk",
}


def match_case(src: str, new: str) -> str:
    if src.isupper():
        return new.upper()
    if src[0].isupper():
        return new[0].upper() + new[1:]
    return new


def mangle(word: str, rng: random.Random) -> str:
    low = word.lower()
    if low in CURATED and rng.random() < 0.6:
        return match_case(word, rng.choice(CURATED[low]))
    for _ in range(10):
        i = rng.randint(1, len(word) - 2)  # keep first and last letter most of the time
        op = rng.choice(["drop", "double", "swap", "key", "key"])
        if op == "drop":
            new = word[:i] + word[i + 1 :]
        elif op == "double":
            new = word[:i] + word[i] + word[i:]
        elif op == "swap":
            new = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:
            c = word[i]
            near = KEYBOARD.get(c.lower())
            if not near:
                continue
            r = rng.choice(near)
            new = word[:i] + (r.upper() if c.isupper() else r) + word[i + 1 :]
        if new.lower() != low:
            return new
    return word


WORD_RE = re.compile(r"[A-Za-z]{4,}")


def add_typos(text: str, rng: random.Random, n: int) -> str:
    cands = [
        m for m in WORD_RE.finditer(text) if not (m.start() > 0 and text[m.start() - 1] == "{")
    ]
    if not cands:
        return text
    important = [m for m in cands if m.group().lower() in IMPORTANT]
    chosen: list[re.Match[str]] = []
    for _ in range(n):
        pool = important if important and rng.random() < 0.7 else cands
        pool = [m for m in pool if m not in chosen]
        if not pool:
            pool = [m for m in cands if m not in chosen]
        if not pool:
            break
        chosen.append(rng.choice(pool))
    for m in sorted(chosen, key=lambda m: m.start(), reverse=True):
        text = text[: m.start()] + mangle(m.group(), rng) + text[m.end() :]
    return text


# --------------------------------------------------------------------------- rendering

SLOT_RE = re.compile(r"\{(\w+)\}")


def fill(text: str, rng: random.Random, case: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        val = FILLERS[name](rng)
        if case == "upper" and name not in ("email", "email2"):
            val = val.upper()
        elif case == "lower" and name not in ID_SLOTS:
            val = val.lower()
        return val

    return SLOT_RE.sub(sub, text)


def noisify(text: str, rng: random.Random, social: bool) -> tuple[str, str]:
    """Apply casing / punctuation noise. Returns (text, case_mode)."""
    r = rng.random()
    if r < 0.30:
        case = "lower"
    elif r < 0.35 and len(text) < 110:
        case = "upper"
    else:
        case = "keep"
    if case == "lower":
        text = SLOT_RE.sub(lambda m: "\0" + m.group(1) + "\1", text).lower()
        text = text.replace("\0", "{").replace("\1", "}")
    elif case == "upper":
        text = SLOT_RE.sub(lambda m: "\0" + m.group(1) + "\1", text).upper()
        text = re.sub(r"\x00(\w+)\x01", lambda m: "{" + m.group(1).lower() + "}", text)
    if rng.random() < 0.22:
        text = text.rstrip(".?! ")
    if rng.random() < 0.12:
        text = text.replace("'", "").replace("’", "")
    if not social and rng.random() < 0.06:
        text = text.replace(",", "")
    if not social and rng.random() < 0.04 and text.endswith("?"):
        text += "??"
    return text, case


def render(intent: str, template: str, rng: random.Random) -> tuple[str, bool]:
    social = intent in ("greeting", "goodbye", "thanks")
    text = template
    if not social:
        if len(text) < 120 and rng.random() < 0.18:
            if not text.startswith(("I ", "I'", "{")) and not text.isupper():
                text = text[0].lower() + text[1:]
            text = rng.choice(PREAMBLES) + " " + text
        if rng.random() < 0.14:
            text = text + rng.choice(SUFFIXES)
    text, case = noisify(text, rng, social)
    typo = rng.random() < TYPO_RATE
    if typo:
        before = text
        text = add_typos(text, rng, 1 if rng.random() < 0.65 else 2)
        typo = text != before
    text = fill(text, rng, case)
    text = re.sub(r"\s+", " ", text).strip()
    return text, typo


def social_templates(words: list[str], to: list[str], tail: list[str]) -> list[str]:
    out = []
    for w in words:
        for t in to:
            for e in tail:
                out.append(w + t + e)
    return out


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z@€£$]+", " ", text.lower()).split())


def main() -> None:
    rng = random.Random(SEED)
    social = {
        "greeting": (GREET_WORDS, GREET_TO, GREET_TAIL),
        "goodbye": (BYE_WORDS, BYE_TO, BYE_TAIL),
        "thanks": (THANK_WORDS, THANK_TO, THANK_TAIL),
    }
    intents = list(T) + list(social)
    for name, tpls in T.items():
        assert len(tpls) >= 12, name
        assert len(tpls) == len(dict.fromkeys(tpls)), f"duplicate template in {name}"
        for tpl in tpls:
            for slot in SLOT_RE.findall(tpl):
                assert slot in FILLERS, (name, slot)

    seen: dict[str, str] = {}
    dev: list[dict[str, str]] = []
    test: list[dict[str, str]] = []
    n_typo = 0
    for intent in intents:
        need = 2 * PER_SPLIT.get(intent, DEFAULT_PER_SPLIT)
        pools: list[list[str]] = []
        if intent in social:
            words, to, tail = social[intent]
            # one pool per base phrasing, each with every addressee/tail variant
            pools = [
                social_templates([w], to if intent != "thanks" or w in THANK_TO_OK else [""], tail)
                for w in words
            ]
        queue: list[str] = []
        got: list[tuple[str, bool]] = []
        attempts = 0
        while len(got) < need:
            attempts += 1
            assert attempts < 50000, f"cannot generate enough unique messages for {intent}"
            if not queue:
                queue = [rng.choice(p) for p in pools] if pools else list(T[intent])
                rng.shuffle(queue)
            tpl = queue.pop()
            text, typo = render(intent, tpl, rng)
            key = norm(text)
            if not key or key in seen:
                continue
            seen[key] = intent
            got.append((text, typo))
        rng.shuffle(got)
        half = len(got) // 2
        for i, (text, typo) in enumerate(got):
            n_typo += typo
            (dev if i < half else test).append({"text": text, "intent": intent})
    rng.shuffle(dev)
    rng.shuffle(test)
    for fname, rows in (("intents_dev.jsonl", dev), ("intents_test.jsonl", test)):
        with open(OUT_DIR / fname, "w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    total = len(dev) + len(test)
    print(
        f"wrote {len(dev)} dev + {len(test)} test messages to {OUT_DIR}; "
        f"{n_typo}/{total} ({100 * n_typo / total:.1f}%) contain typos"
    )


if __name__ == "__main__":
    main()
