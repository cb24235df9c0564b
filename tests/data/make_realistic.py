"""Generate the "how customers really write" intent evaluation set (tune and held-out).

Usage:  python tests/data/make_realistic.py

Writes ``realistic_tune.jsonl`` and ``realistic_heldout.jsonl`` next to this script, one
JSON object per line: {"text": ..., "intent": ...}.

Why a second set
----------------
``intents_dev/test.jsonl`` share one pool of phrasings, so their test split measures
robustness to typos and entities, not to wording never seen. Real support traffic
(the style of the Bitext customer-support corpus) is different: fragments ("need help
with the cancellation penalty"), indirect requests ("no idea how to get back into my
profile"), long rambling stories, business words and plain words for the same need
("reimbursement", "money back", "compensation"), missing apostrophes, several clauses,
and long numeric order numbers ("purchase 100234567891").

How it works
------------
* Per intent there are *cores*: verb phrases ("cancel my order", "call off purchase
  {order}") and whole messages (indirect requests, stories). They were written from how
  people talk, not from the engine's rule vocabulary.
* Verb-phrase cores are put into generic *frames* ("I don't know how to {vp}",
  "question about {ing}", "can u {vp} for me", ...); the gerund is derived.
* The split is by core: each intent's cores are shuffled and about 60% go to the tune
  part, the rest to the held-out part, so held-out messages use wordings the tuning never
  saw (frames, being generic English, are shared).
* Noise: lower case, dropped apostrophes and punctuation, a greeting or a sign-off, and
  for about a fifth of the messages one or two typos (dropped, doubled, swapped letters).
  Typos never touch entity values (order numbers, emails, amounts).
* Messages are de-duplicated on a folded form, within and across the parts.

Deterministic for the seed, stdlib only.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Dict, List, Tuple

SEED = 20260301
OUT_DIR = Path(__file__).resolve().parent
TYPO_RATE = 0.2
PER_INTENT = 64  # messages per request intent (both parts together)
PER_SMALL_TALK = 24
PER_FAQ = 90
TUNE_SHARE = 0.6

# --------------------------------------------------------------------------- fillers

PRODUCTS = ["headphones", "running shoes", "coffee machine", "yoga mat", "smartwatch",
            "blender", "backpack", "winter coat", "desk lamp", "speaker", "air fryer",
            "hiking boots", "phone case", "office chair", "toothbrush", "gaming mouse",
            "kettle", "sunglasses", "jeans", "vacuum", "mattress", "jacket", "sofa"]
PEOPLE = ["my wife", "my husband", "my mum", "my son", "my daughter", "my boss",
          "a friend", "my partner", "my dad", "my sister"]
CITIES = ["Lisbon", "Berlin", "Lyon", "Madrid", "Rotterdam", "Milan", "Vienna", "Dublin",
          "Leeds", "Austin", "Porto", "Graz"]
EMAILS = ["ana.perez@example.com", "j.smith@example.org", "kim88@example.net",
          "lucas.m@mailbox.example", "noor.h@example.org", "tom_b@example.co.uk"]
AMOUNTS = ["$45.99", "89 euros", "€120", "£30", "59.90 EUR", "$12", "210 dollars"]
WHEN = ["yesterday", "last week", "on Monday", "two weeks ago", "this morning",
        "a few days ago", "last month", "on the 3rd"]


def order_no(rng: random.Random) -> str:
    """An order number as customers paste it: the shop's letter form or a long digit run."""
    r = rng.random()
    if r < 0.45:  # the long numeric form of marketplace and ERP confirmations
        return str(rng.randint(10 ** 11, 10 ** 15 - 1))[: rng.choice([12, 13, 14, 15])]
    letter = rng.choice("ABCDEFGH")
    digits = "%06d" % rng.randrange(1000000)
    return rng.choice([letter + digits, letter.lower() + digits, "%s-%s" % (letter, digits)])


def order_ref(rng: random.Random) -> str:
    n = order_no(rng)
    return rng.choice(["order %s" % n, "order #%s" % n, "purchase %s" % n, "#%s" % n,
                       "order number %s" % n, "order no. %s" % n, "purchase #%s" % n,
                       "order nr %s" % n])


FILLERS = {
    "order": order_ref,
    "oid": lambda rng: rng.choice(["", "", "#"]) + order_no(rng),
    "product": lambda rng: rng.choice(PRODUCTS),
    "person": lambda rng: rng.choice(PEOPLE),
    "city": lambda rng: rng.choice(CITIES),
    "email": lambda rng: rng.choice(EMAILS),
    "amount": lambda rng: rng.choice(AMOUNTS),
    "when": lambda rng: rng.choice(WHEN),
}

# --------------------------------------------------------------------------- frames

# {vp}: a verb phrase ("cancel my order"); {ing}: its gerund form ("cancelling my order")
FRAMES = [
    "{vp}", "{vp}", "{vp} please", "I want to {vp}", "I need to {vp}", "I'd like to {vp}",
    "how do I {vp}?", "how can I {vp}", "how to {vp}", "can you help me {vp}?",
    "could you help me {vp}", "help me {vp}", "I don't know how to {vp}",
    "I'm trying to {vp}", "I have to {vp}", "is it possible to {vp}?",
    "where can I {vp}?", "where do I {vp}", "can u {vp} for me", "wanna {vp}",
    "I would like to {vp}, can you help", "what do I have to do to {vp}?",
    "can I {vp}?", "I need assistance to {vp}", "I was wondering if I could {vp}",
    "please tell me how to {vp}", "any way to {vp}?", "I'm not sure how to {vp}",
    "need help with {ing}", "question about {ing}", "help with {ing}",
    "I need help {ing}", "I have a question about {ing}", "info about {ing}",
    "assistance {ing}", "I want some information about {ing}",
]

PREAMBLES = ["hi,", "hello", "hey there,", "good morning,", "hi team,", "excuse me,",
             "sorry to bother you but", "quick one:", "ok so", "um", "dear support,",
             "hello, hope you're well.", "yo", "Hi!"]
SIGNOFFS = ["thanks", "thank you", "thx", "asap", "please", "pls help", "cheers",
            "thanks in advance", ":(", "!!", "??", "kind regards, Ana"]

GERUND_IRREGULAR = {"get": "getting", "set": "setting", "put": "putting", "stop": "stopping",
                    "ship": "shipping", "drop": "dropping", "swap": "swapping",
                    "plan": "planning", "sign": "signing", "shop": "shopping",
                    "be": "being", "see": "seeing", "opt": "opting", "chat": "chatting"}


def gerund(vp: str) -> str:
    verb, _, rest = vp.partition(" ")
    low = verb.lower()
    if low in GERUND_IRREGULAR:
        ing = GERUND_IRREGULAR[low]
    elif low.endswith("ie"):
        ing = low[:-2] + "ying"
    elif low.endswith("e") and not low.endswith("ee"):
        ing = low[:-1] + "ing"
    else:
        ing = low + "ing"
    return (ing + " " + rest).strip()


# --------------------------------------------------------------------------- cores

# Per intent: (verb phrases, whole messages). Whole messages are indirect requests,
# statements of a situation, fragments and long stories.
CORES: Dict[str, Tuple[List[str], List[str]]] = {
    "cancel_order": ([
        "cancel my order", "cancel {order}", "call off my purchase", "cancel purchase {oid}",
        "cancel the thing I bought {when}", "stop {order} from being sent",
        "undo my last purchase", "get rid of the order I placed {when}",
        "cancel an order I made by mistake", "call off {order}", "scrap my last order",
        "back out of my purchase", "cancel the {product} I ordered",
        "revoke purchase {oid}", "annul my order",
    ], [
        "I ordered the {product} by mistake, I don't want it anymore",
        "changed my mind about {order}, please don't send it",
        "i no longer need the stuff from {order}",
        "so I placed an order {when} for a {product} but then found it cheaper elsewhere, "
        "can you cancel it before it ships?",
        "dont ship my order please, I want to cancel",
        "order placed twice by accident, need to cancel one of them: {order}",
        "my order hasn't shipped yet and i'd rather not go through with it",
        "is it too late to cancel {order}?",
        "I want out of this purchase",
        "please void {order}",
    ]),
    "change_order": ([
        "change my order", "modify {order}", "edit my purchase", "add an item to {order}",
        "remove the {product} from my order", "swap the {product} in my order for another colour",
        "change the size in {order}", "update the items of my order",
        "put one more {product} in my order", "fix the quantity on my purchase",
        "replace an article in my order", "make changes to purchase {oid}",
        "switch the {product} in {order} to a bigger size", "take something out of my order",
        "amend my order",
    ], [
        "I ordered the wrong size of {product}, can I swap it before it ships?",
        "forgot to add a charger to {order}, can it still go in the same box",
        "i put 3 in the basket but only wanted 2, can you fix {order}",
        "is it possible to change what I ordered {when}?",
        "my order {order} has the wrong colour, I picked black but want white",
        "need to tweak my order a bit before it goes out",
        "can you add a gift wrap and one more {product} to my purchase",
        "accidentally ordered 10 instead of 1",
        "I want a different model than the one in {order}",
        "can I still make changes to an order that hasn't been sent",
    ]),
    "place_order": ([
        "buy a {product}", "place an order", "order a {product}", "purchase some items",
        "make a purchase", "buy something from you", "get a {product} from your shop",
        "order two {product}s for {person}", "buy the {product} I saw on your site",
        "acquire a few of your products", "purchase an article", "shop on your site",
        "order stuff online", "complete a purchase", "buy a gift card",
    ], [
        "I'd like to get the {product}, how does it work",
        "is the {product} available to order? I want one",
        "want to buy this for {person}, what do I do",
        "first time here, how does ordering work?",
        "can I order by phone instead of the website",
        "how does buying from you work",
        "i'm ready to buy, where do i go",
        "ok i've decided, I'll take the {product}",
        "can you sell me a {product}",
        "where do I pay for the things in my basket",
    ]),
    "track_order": ([
        "track my order", "track {order}", "check the status of my order",
        "find out where my package is", "see where {order} is", "check on my delivery",
        "follow my parcel", "locate my purchase", "check if {order} has shipped",
        "get an update on {order}", "know where my stuff is", "trace my shipment",
        "see the status of purchase {oid}", "check my order status",
        "find my package",
    ], [
        "where is my order?", "wheres my package", "any news on {order}?",
        "my {product} still hasn't shown up, it's been a week",
        "has {order} left the warehouse yet?",
        "I ordered {when} and have heard nothing since, what's going on with it",
        "the tracking hasn't moved in days for {order}",
        "is my parcel on its way or not",
        "what's happening with my order {order}",
        "order status?",
        "it says out for delivery since yesterday but nothing came",
        "been waiting ages for my delivery, where is it",
        "did you ship {order} already",
    ]),
    "create_account": ([
        "create an account", "open an account", "sign up", "register with you",
        "make a new profile", "set up an account", "become a member", "join your shop",
        "open a customer account with {email}", "get an account", "create a user",
        "register as a new customer", "make an account for {person}", "sign up for an account",
        "enrol as a customer",
    ], [
        "I'm new here, how do I get a login",
        "dont have an account yet, want one",
        "can I have an account with my work email {email}",
        "I want to be a registered customer",
        "new customer, how to join",
        "how does one become a member of your store",
        "need a profile so I can save my orders",
        "i'd like to start an account with you guys",
    ]),
    "delete_account": ([
        "delete my account", "close my account", "remove my profile",
        "get rid of my account", "deactivate my user", "cancel my account",
        "terminate my membership", "erase my data and my account",
        "shut down my account", "remove my account for good", "delete my user profile",
        "close my customer account", "remove all my personal data",
        "wipe my account", "delete the account linked to {email}",
    ], [
        "I don't want an account with you anymore",
        "please forget about me, remove everything you have on me",
        "I'm done with this shop, close everything",
        "I no longer use my account, please remove it",
        "want my profile gone",
        "how do i stop being a member",
        "I'd like to end my account, not just unsubscribe",
        "GDPR request: erase my account",
    ]),
    "edit_account": ([
        "edit my account", "update my personal details", "change my name on my profile",
        "change the phone number on my account", "update my profile",
        "modify my user info", "correct my date of birth", "change my email to {email}",
        "update the info in my account", "edit my profile details",
        "fix a typo in my name", "change my account details", "update my contact info",
        "change my surname after marriage", "modify my personal data",
    ], [
        "my name is spelled wrong in my account",
        "I got a new phone number, it needs updating in my profile",
        "the details on my account are out of date",
        "my profile still shows my old email",
        "where do I change my personal info",
        "I got married and need my last name updated",
        "my birthday is wrong on my profile",
        "need to update my info",
    ]),
    "recover_password": ([
        "reset my password", "recover my password", "get my password back",
        "change my forgotten password", "retrieve my account key", "restore my pwd",
        "get back into my account", "unlock my account", "reset my pin",
        "recover access to my account", "set a new password", "recover my login details",
        "reset my login", "get a new password", "regain access to my profile",
    ], [
        "I forgot my password", "forgot pw", "cant log in, i dont remember my password",
        "locked out of my account",
        "I can't remember my PIN and can't sign in",
        "password reset email never arrives",
        "lost my password and now I can't see my orders",
        "no idea what my password is anymore",
        "the site keeps saying wrong password but I'm sure it's right",
        "how do I get into my account if I don't know the password",
        "I typed the wrong password too many times and now I'm blocked",
    ]),
    "registration_problems": ([
        "report a problem with signing up", "fix an error during registration",
        "finish my registration", "get the sign up to work",
        "complete signing up, it keeps failing", "sort out a registration error",
        "solve a problem creating my account", "register, but the form gives an error",
    ], [
        "I can't sign up, the form keeps giving an error",
        "I tried to register but it says my email is already in use",
        "the confirmation email to finish signing up never came",
        "sign up page just spins and nothing happens",
        "error message when I try to open an account",
        "registration wont go through",
        "it won't let me create an account with {email}",
        "I get an error every time I try to register",
        "trying to make an account but the activation link doesn't work",
        "cant complete sign up, the verification code is invalid",
        "problem with the registration",
        "issues signing up",
        "signup broken?",
        "something went wrong while creating my account",
    ]),
    "switch_account": ([
        "switch to my other account", "switch accounts", "change to a different account",
        "use my business account", "log in with another account",
        "move to my second profile", "switch user", "go to my work account",
        "change to the premium account", "switch between my accounts",
        "swap to my personal profile", "upgrade to a gold account",
        "change my user account", "switch to the business profile", "use another user",
    ], [
        "I have two accounts, how do I jump between them",
        "logged in as my husband by mistake, need to get to mine",
        "how do I go from my personal account to my company one",
        "wrong account, want the other one",
        "can I swap to another user without logging out",
        "I'd like to move from the free plan account to the premium one",
        "how do i use my other profile",
        "I want to use a different account for this order",
    ]),
    "check_cancellation_fee": ([
        "check the cancellation fee", "see the early termination fee",
        "find out the withdrawal fee", "check the cancellation penalty",
        "know what it costs to cancel", "see how much cancelling costs",
        "check the early exit charges", "find out about cancellation charges",
        "see the termination penalties", "check if cancelling is free",
        "learn about the fees for cancelling an order", "check the exit fee",
    ], [
        "will I pay anything if I cancel?",
        "how much do you charge to cancel an order",
        "is cancelling free or do I get charged",
        "what's the penalty for cancelling",
        "do I lose money if I cancel {order}",
        "are there cancellation costs",
        "do you charge for cancellations",
        "is there a fee to back out of an order",
        "cancellation fee?",
        "if i cancel now will it cost me something",
        "what do you charge if i cancel after it ships",
    ]),
    "contact_customer_service": ([
        "contact customer service", "reach your support team", "call customer support",
        "get in touch with customer care", "email your help desk",
        "contact your service department", "talk to customer service",
        "speak with customer assistance", "reach you by phone", "contact the shop",
        "write to your support", "find your support email", "call your helpline",
        "contact customer support about {order}", "get hold of customer services",
    ], [
        "what are your customer service hours?",
        "whats the number for support",
        "how can I reach you guys",
        "is there a phone line I can call?",
        "when is customer support open",
        "what is your support email address",
        "do you have a hotline",
        "i need the customer care contact details",
        "how do I get in touch with the store",
        "is support available on weekends",
    ]),
    "contact_human_agent": ([
        "talk to a human", "speak to a real person", "chat with an agent",
        "speak with a representative", "talk to someone", "get a human on the line",
        "talk to an actual person", "speak with an operator", "be put through to a person",
        "talk with a live agent", "reach a real human", "speak to a manager",
        "get transferred to staff", "talk with somebody real", "speak to a rep",
    ], [
        "are you a bot? I want a person",
        "this bot is useless, get me a human",
        "can a real person help me please",
        "human please", "agent", "representative!!",
        "I don't want to talk to a machine",
        "is there anyone real I can talk to",
        "put me through to someone who can actually help",
        "stop, i need to speak to a person",
    ]),
    "delivery_options": ([
        "see the delivery options", "check the shipping methods",
        "know which delivery options you have", "see what shipping options exist",
        "choose express shipping", "find out the ways you ship",
        "see the shipment options", "get next day delivery", "pick up my order in store",
        "check the available delivery methods", "compare the shipping choices",
        "have it sent to a parcel locker", "ship internationally",
        "learn about your delivery types", "see the options for shipping to {city}",
    ], [
        "what shipping options do you have?",
        "do you do express?",
        "can I collect from a store instead of delivery",
        "which couriers do you use",
        "do you deliver to {city}?",
        "is there same day delivery",
        "what kind of shipping can I pick",
        "do you ship abroad",
        "can it be delivered on a saturday",
        "ways to get my order delivered?",
        "delivery options",
    ]),
    "delivery_period": ([
        "know how long delivery takes", "find out the delivery time",
        "check how long shipping takes", "know when my purchase will arrive",
        "check the estimated delivery date", "know how many days shipping takes to {city}",
        "find out how soon it gets here", "know the ETA of a new order",
        "see the shipping times", "check delivery times for {city}",
        "work out when the {product} would be delivered",
        "know the usual shipping duration",
    ], [
        "how long does shipping take?",
        "how many days until it gets here if I order today",
        "if I order now will it arrive before Friday",
        "whats the delivery time to {city}",
        "how quick is standard delivery",
        "I need the {product} for {person}'s birthday on Saturday, will it get here in time "
        "if I order tonight?",
        "how long do deliveries usually take",
        "how soon would I get it",
        "when would a {product} arrive if I buy it now",
        "typical delivery time?",
        "how many working days for shipping",
    ]),
    "complaint": ([
        "file a complaint", "make a complaint about your service", "lodge a complaint",
        "complain about the courier", "submit a formal complaint", "report bad service",
        "raise a complaint about {order}", "file a claim against your company",
        "complain about a member of staff", "register a complaint",
        "report a terrible experience", "make a formal complaint",
    ], [
        "I'm really unhappy with how I've been treated",
        "this is the worst service I've ever had",
        "your driver threw my parcel over the fence and it broke, I am furious",
        "very disappointed, nobody answers my emails",
        "I want to express my dissatisfaction",
        "i have been waiting three weeks and nobody cares, this is a joke",
        "the {product} arrived broken and the box was soaked, not acceptable",
        "your staff member was rude to me on the phone",
        "fed up with this company",
        "I want someone to know how bad this experience was",
        "this is ridiculous, second time my order is wrong",
        "not happy at all with your service",
    ]),
    "review": ([
        "leave a review", "write a review of the {product}", "give feedback",
        "rate my purchase", "share my opinion about your service",
        "post a comment about a product", "rate the {product}", "submit feedback",
        "leave some stars for the {product}", "tell you what I thought of the {product}",
        "share my experience with your store", "review my order",
    ], [
        "I loved the {product}, where can I say so",
        "want to tell others how good the {product} is",
        "I have some feedback about the website",
        "how do I rate a product",
        "where do reviews go",
        "can I give you my opinion on the delivery",
        "the {product} is great, 5 stars, how do I post that",
        "I'd like to give a testimonial",
    ]),
    "check_invoice": ([
        "check my invoice", "see my invoices", "look at the bill for {order}",
        "view my past invoices", "find my invoice from {when}", "check the invoice for {order}",
        "take a look at my bill", "see the details of my invoice",
        "review the charges on my invoice", "locate an invoice",
        "check an amount on my invoice", "see my billing history",
    ], [
        "the invoice for {order} shows the wrong amount",
        "why does my bill say {amount}",
        "what's this charge on my invoice",
        "my invoice doesn't match what I paid",
        "is VAT included on my invoice?",
        "there's an item on my bill I didn't order",
        "where can I see my invoices",
        "something looks off on my invoice",
    ]),
    "get_invoice": ([
        "get an invoice", "download my invoice", "get the invoice for {order}",
        "receive a copy of my bill", "have the receipt sent to {email}",
        "get a receipt for {order}", "download the bill for my purchase",
        "get an invoice for my company", "get a VAT invoice", "print my receipt",
        "request an invoice for {order}", "get a copy of the invoice",
    ], [
        "I need a receipt for my taxes",
        "can you email me the invoice for {order}",
        "send me my bill please",
        "no invoice came with the parcel, can I have one",
        "my employer needs an invoice for the {product}",
        "invoice for {order} please",
        "I need proof of purchase for the warranty",
        "where's the pdf of my invoice",
    ]),
    "newsletter_subscription": ([
        "subscribe to the newsletter", "unsubscribe from your emails",
        "sign up for the newsletter", "stop the marketing emails",
        "cancel my newsletter subscription", "get your offers by email",
        "join the mailing list", "opt out of promotional emails",
        "stop getting your promo emails", "add {email} to the newsletter",
        "get off your mailing list", "receive your weekly deals",
    ], [
        "you send me too many emails, make it stop",
        "how do I get your deals in my inbox",
        "i keep getting spam from you",
        "I'd like to hear about your sales",
        "please take me off the email list",
        "newsletter?",
        "I never signed up for these emails",
        "I want to stop all the marketing messages",
    ]),
    "check_payment_methods": ([
        "see the payment methods", "check the payment options", "pay with PayPal",
        "know which payment methods you accept", "pay by bank transfer",
        "pay in instalments", "use Apple Pay", "pay with a credit card",
        "see the ways I can pay", "pay cash on delivery", "use Klarna",
        "find out which cards you take",
    ], [
        "what payment options do you accept?",
        "do you take amex",
        "how can I pay for my order",
        "can I pay later?",
        "is paypal ok",
        "which cards are accepted",
        "do you accept gift cards as payment",
        "can I split the payment over a few months",
        "what forms of payment are there",
        "can I pay with my debit card",
    ]),
    "payment_issue": ([
        "report a payment problem", "sort out a failed payment", "fix my payment",
        "solve a problem with my card payment", "pay, it keeps failing",
        "report a double charge", "get help with a declined card",
        "report an issue with a payment", "complete my payment, it errors",
        "fix an error at checkout",
    ], [
        "my card got declined but it works everywhere else",
        "I was charged twice for {order}",
        "payment failed but the money left my account",
        "checkout gives me an error when I pay",
        "you took {amount} from my card but there's no order",
        "paypal keeps rejecting the payment",
        "I cant pay, it just says something went wrong",
        "my bank says the payment went through, your site says it didn't",
        "I got billed {amount} more than the total",
        "the payment won't go through",
        "trouble paying",
        "problem with my payment",
    ]),
    "check_refund_policy": ([
        "check the refund policy", "read your return policy",
        "see the money back guarantee", "know the conditions for a refund",
        "find out in what cases I can get a refund", "check the reimbursement policy",
        "know how many days I have to return something", "understand your returns rules",
        "see the terms for returns", "learn how refunds work",
        "check if I can return a sale item", "check the return window",
    ], [
        "what's your refund policy?",
        "can I return something if I've opened it",
        "how long do I have to send stuff back",
        "do you give full refunds?",
        "are returns free?",
        "in which cases do I get my money back",
        "is there a time limit on refunds",
        "can I return the {product} if I've worn it once",
        "what are the rules for sending things back",
        "return policy?",
        "would I get a refund if it doesn't fit",
    ]),
    "get_refund": ([
        "get a refund", "get my money back", "request a refund for {order}",
        "ask for a reimbursement", "claim a refund for the {product}",
        "get reimbursed for {order}", "get compensation for the broken {product}",
        "return the {product} and get my money back", "get a refund of {amount}",
        "receive a refund", "request my money back", "obtain a refund for {order}",
    ], [
        "I want my money back",
        "refund please",
        "the {product} broke after two days, I want a refund",
        "I returned the {product} {when}, please refund me",
        "I was charged for an item that never came, give me my money back",
        "I sent the parcel back, now I need the refund",
        "want a refund for {order}, it was the wrong item",
        "can I have my {amount} back",
        "the product doesn't work, I'd like to be reimbursed",
        "I'd like my money returned for {order}",
    ]),
    "track_refund": ([
        "track my refund", "check the status of my refund", "see if my refund was processed",
        "check on my reimbursement", "find out where my refund is",
        "follow up on the refund for {order}", "check the progress of my money back",
        "know when I get the refund", "see if the refund went through",
        "check whether you sent my refund", "get an update on my refund",
        "know when the money will be back on my card",
    ], [
        "where is my refund?",
        "still no refund for {order}",
        "I returned it two weeks ago and haven't got my money",
        "has my reimbursement been processed yet",
        "when will the {amount} be back in my account",
        "you said refund approved but nothing on my card",
        "refund status?",
        "how long does the refund take to show up",
        "any news on my money back?",
        "the refund you promised hasn't arrived",
        "waiting for my refund since {when}",
    ]),
    "change_shipping_address": ([
        "change my shipping address", "update the delivery address",
        "change the address on {order}", "send {order} to a different address",
        "correct my address", "fix the street name on my order",
        "change where my parcel goes", "update my address, I moved",
        "edit the delivery address of my order", "send it to my work instead",
        "change the postcode on my order", "redirect my parcel to {city}",
    ], [
        "I put the wrong address on my order",
        "I moved last week, the order needs to go to my new place",
        "my address has a typo, the house number is wrong",
        "can you deliver {order} to my office instead of home",
        "the address on my order is my old one",
        "wrong address!!",
        "I won't be home, can it go to my neighbour's address",
        "address on {order} needs fixing",
    ]),
    "set_up_shipping_address": ([
        "add a new shipping address", "set up a delivery address",
        "save an address to my account", "add a second address", "enter a new address",
        "create a shipping address", "add my work address", "set a default address",
        "register a new delivery address", "add an address in {city}",
        "store another address for deliveries", "add {person}'s address to my account",
    ], [
        "I want to save my office as a delivery address",
        "where do I put in a new address",
        "there's no address on my account yet",
        "can I keep more than one address on file",
        "I need a new address for deliveries added",
        "how do I add an address",
        "my account has no delivery address, how do I put one",
        "I'd like to have a couple of addresses saved",
    ]),
}

SMALL_TALK: Dict[str, List[str]] = {
    "greeting": ["hi", "hello", "hey", "good morning", "good afternoon", "hello there",
                 "hi team", "hey guys", "morning!", "hiya", "hello? anyone there",
                 "good evening", "heyyy", "hi bot", "greetings", "howdy"],
    "goodbye": ["bye", "goodbye", "see you", "thats all, bye", "have a nice day", "ok bye",
                "talk later", "cya", "bye for now", "that's everything, goodbye",
                "have a good one", "good night", "take care", "gotta go, bye"],
    "thanks": ["thanks", "thank you", "thx", "thanks a lot", "cheers", "much appreciated",
               "great, thanks", "thank you so much", "ty", "perfect thanks", "ok thank you",
               "thanks for your help", "brilliant, cheers", "appreciate it"],
}

FAQ: List[str] = [
    "is the {product} waterproof", "does the {product} come in other colours",
    "how do I wash the {product}", "what warranty comes with the {product}",
    "do you sell gift cards", "can I use two discount codes", "is there a student discount",
    "do you have a loyalty programme", "are your prices including VAT",
    "how do I find my size", "do you have a store in {city}", "is the {product} vegan",
    "what batteries does the {product} use", "how do I redeem a voucher",
    "does the {product} have a warranty", "what is the {product} made of",
    "are the {product} true to size", "can I gift wrap something",
    "do you price match", "when do the sales start", "do you have a size chart",
    "how many points do I get per euro", "is the {product} dishwasher safe",
    "does the {product} work with iphone", "what's the difference between the two {product}s",
    "is the {product} suitable for kids", "do you restock sold out items",
    "how do I assemble the {product}", "are you hiring", "where are your products made",
    "do you have a physical shop", "can I reserve an item", "is the {product} in stock",
    "how heavy is the {product}", "do you offer a military discount",
    "can I use my gift card online", "what are the store opening hours in {city}",
    "how do I check my gift card balance", "do you test on animals",
    "is the packaging recyclable",
]

# --------------------------------------------------------------------------- noise

KEYBOARD = {"a": "qs", "s": "ad", "d": "sf", "e": "wr", "r": "et", "t": "ry", "o": "ip",
            "i": "uo", "n": "bm", "m": "n", "l": "k", "c": "xv", "u": "yi", "p": "o",
            "h": "gj", "g": "fh", "y": "tu", "v": "cb", "b": "vn", "k": "jl", "w": "qe"}
WORD_RE = re.compile(r"[A-Za-z]{5,}")
SLOT_RE = re.compile(r"\{(\w+)\}")


def mangle(word: str, rng: random.Random) -> str:
    for _ in range(10):
        i = rng.randint(1, len(word) - 2)
        op = rng.choice(["drop", "double", "swap", "key"])
        if op == "drop":
            new = word[:i] + word[i + 1:]
        elif op == "double":
            new = word[:i] + word[i] + word[i:]
        elif op == "swap":
            new = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        else:
            near = KEYBOARD.get(word[i].lower())
            if not near:
                continue
            new = word[:i] + rng.choice(near) + word[i + 1:]
        if new.lower() != word.lower():
            return new
    return word


def add_typos(text: str, rng: random.Random, n: int) -> str:
    cands = [m for m in WORD_RE.finditer(text)
             if not (m.start() > 0 and text[m.start() - 1] == "{")]
    rng.shuffle(cands)
    for m in sorted(cands[:n], key=lambda m: m.start(), reverse=True):
        text = text[:m.start()] + mangle(m.group(), rng) + text[m.end():]
    return text


def fill(text: str, rng: random.Random) -> str:
    return SLOT_RE.sub(lambda m: FILLERS[m.group(1)](rng), text)


def noisify(text: str, rng: random.Random, small_talk: bool) -> str:
    if not small_talk:
        if rng.random() < 0.25:
            text = rng.choice(PREAMBLES) + " " + text[0].lower() + text[1:]
        if rng.random() < 0.2:
            text = text.rstrip("?!. ") + rng.choice([", ", " ", ". "]) + rng.choice(SIGNOFFS)
    r = rng.random()
    if r < 0.4:
        text = SLOT_RE.sub(lambda m: "\0" + m.group(1) + "\1", text).lower()
        text = text.replace("\0", "{").replace("\1", "}")
    elif r < 0.5:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.3:
        text = text.replace("'", "")
    if rng.random() < 0.3:
        text = text.rstrip("?!. ")
    if not small_talk and rng.random() < TYPO_RATE:
        text = add_typos(text, rng, 1 if rng.random() < 0.7 else 2)
    return text


def fold(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z@€£$]+", " ", text.lower()).split())


# --------------------------------------------------------------------------- assembly


def messages_for(cores: List[str], vps: List[str], n: int, rng: random.Random,
                 small_talk: bool, seen: Dict[str, str], label: str) -> List[str]:
    """``n`` distinct messages from whole-message ``cores`` and verb phrases ``vps``."""
    out: List[str] = []
    attempts = 0
    while len(out) < n and attempts < 40 * n + 400:
        attempts += 1
        use_vp = vps and (not cores or rng.random() < 0.55)
        if use_vp:
            vp = rng.choice(vps)
            frame = rng.choice(FRAMES)
            text = frame.replace("{vp}", vp).replace("{ing}", gerund(vp))
        else:
            text = rng.choice(cores)
        text = noisify(text, rng, small_talk)
        text = re.sub(r"\s+", " ", fill(text, rng)).strip()
        key = fold(text)
        if not key or key in seen:
            continue
        seen[key] = label
        out.append(text)
    return out


def split_cores(items: List[str], rng: random.Random) -> Tuple[List[str], List[str]]:
    items = list(items)
    rng.shuffle(items)
    k = max(1, round(len(items) * TUNE_SHARE))
    return items[:k], items[k:]


def main() -> None:
    rng = random.Random(SEED)
    seen: Dict[str, str] = {}
    tune: List[Dict[str, str]] = []
    held: List[Dict[str, str]] = []
    groups: List[Tuple[str, List[str], List[str], int, bool]] = []
    for intent, (vps, whole) in CORES.items():
        groups.append((intent, vps, whole, PER_INTENT, False))
    for intent, texts in SMALL_TALK.items():
        groups.append((intent, [], texts, PER_SMALL_TALK, True))
    groups.append(("faq", [], FAQ, PER_FAQ, False))
    for intent, vps, whole, n, small in groups:
        vp_t, vp_h = split_cores(vps, rng)
        wh_t, wh_h = split_cores(whole, rng)
        n_t = round(n * TUNE_SHARE)
        for part, (v, w, k) in ((tune, (vp_t, wh_t, n_t)), (held, (vp_h, wh_h, n - n_t))):
            for text in messages_for(w, v, k, rng, small, seen, intent):
                part.append({"text": text, "intent": intent})
    rng.shuffle(tune)
    rng.shuffle(held)
    for name, rows in (("realistic_tune.jsonl", tune), ("realistic_heldout.jsonl", held)):
        with open(OUT_DIR / name, "w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print("wrote %d tune + %d held-out messages to %s" % (len(tune), len(held), OUT_DIR))


if __name__ == "__main__":
    main()
