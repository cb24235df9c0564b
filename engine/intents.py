"""Rule-based intent classification: weighted regular expressions per intent.

Messages are normalised (lower case, spelling corrected against VOCABULARY)
before matching, so patterns are written for correct spelling only. Each rule
carries a weight; an intent scores the highest weight among its matching
rules plus a small bonus per extra match. Specific rules ("cancel" + "fee")
outweigh generic ones ("cancel"), and small talk weighs less than any request,
so "hi, where is my parcel?" is track_order. Below MIN_SCORE the message is
left to FAQ retrieval (intent ``faq``).
Python 3.9-compatible.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from .concepts import ConceptScorer
from .matching import Matcher
from .prefilter import RuleIndex
from .types import FAQ_INTENT, INTENTS

MIN_SCORE = 0.5
EXTRA_MATCH_BONUS = 0.05

# Building blocks, expanded into the rules below with str.format.
M = {
    "ORDER": r"(?:orders?|purchases?|packages?|parcels?|shipments?|deliver(?:y|ies)|items?"
             r"|stuff|goods|products?|box|things?|ordernum)",
    "MY": r"(?:my|our|the|this|that|an?|me)",
    "WANT": r"(?:want|wanna|need|would like|would love|like|wish|trying|try|have to|must"
            r"|going|gonna|plan|planning|intend|please|pls|can you|could you|can i|could i"
            r"|how (?:do|can|could|should) (?:i|we)|how to|help me|let me|i'd like|id like)",
    "ACCOUNT": r"(?:account|acct|profile|login|user ?name|membership)",
    "ADDRESS": r"(?<!email )(?<!mail )(?<!emailaddr )(?:address|addresses|addr|adress)",
    "INVOICE": r"(?:invoices?|invoiced|receipts?|bills?|billing statement|vat (?:invoice"
               r"|receipt))",
    "REFUND": r"(?:refunds?|refunded|refunding|reimburse(?:ment|d)?|money back|my money)",
    "PAY": r"(?:pay|paid|paying|payment|payments|charge[ds]?|charging|card|transaction"
           r"|checkout)",
    "CANCEL": r"(?:cancel|cancels|cancelled|canceled|cancelling|canceling|cancellation"
              r"|cancelation)",
    "PROBLEM": r"(?:problems?|issues?|error|errors|trouble|troubles|fail(?:s|ed|ing|ure)?"
               r"|not working|doesn't work|does not work|won't|wont|can't|cannot|can not"
               r"|unable|isn't working|stuck|broken|bug|keeps?|nothing happens|difficult(?:y|ies)"
               r"|went wrong|doesn't let me|won't let me|impossible|struggling|crash(?:ed|es)?"
               r"|already in use|already exists|already registered|never (?:got|received"
               r"|came|arrived)|didn't (?:get|receive)|not accept(?:ed|ing)?)",
}


def _r(template: str) -> str:
    return template.format(**M)


# (intent, pattern, weight). Patterns see normalised text: lower case, tokens
# separated by single spaces, punctuation removed.
RULES: List[Tuple[str, str, float]] = [
    # --- orders ---
    ("cancel_order", _r(r"\b{CANCEL}\b"), 1.0),
    ("cancel_order", _r(r"\b{CANCEL}\b.*\b{ORDER}\b|\b{ORDER}\b.*\b{CANCEL}\b"), 1.2),
    ("cancel_order", _r(r"\b(?:call off|abort|stop|revoke|withdraw|void|scrap)\b.*\b{ORDER}\b"),
     1.1),
    ("cancel_order", _r(r"\b(?:don't|do not|dont|no longer) (?:want|need)\b.*\b{ORDER}\b"), 1.0),
    ("change_order", _r(r"\b(?:change|modify|edit|update|alter|adjust|amend|correct|swap"
                        r"|replace|switch)\b.*\b{ORDER}\b"), 1.1),
    ("change_order", _r(r"\b(?:add|remove|take out|take|drop|delete)\b.*\b(?:to|from|in|off)"
                        r" (?:{MY} )?{ORDER}\b"), 1.3),
    ("change_order", r"\b(?:change|swap|exchange|switch) (?:it|them|this|that|the size|the colou?r)"
                     r" (?:to|for|into) (?:a |the |an )?(?:bigger|smaller|larger|different"
                     r"|another|other)\b|\b(?:bigger|smaller|larger) size\b", 1.3),
    ("change_order", r"\b(?:different|another|other|wrong) (?:size|colou?r|quantity|model)\b", 1.1),
    ("change_order", _r(r"\b(?:increase|decrease|reduce|raise|lower|upgrade|downgrade)\b.*"
                        r"\b{ORDER}\b"), 1.2),
    ("change_order", r"\b(?:size|colou?r|quantity|qty)\b.*\b(?:change|instead|different"
                     r"|modify|update|wrong)\b", 1.0),
    ("place_order", _r(r"\b(?:place|make|put|submit|create|start) (?:a |an |my |the )?"
                       r"(?:new )?(?:order|purchase)\b"), 1.3),
    ("place_order", r"\b(?:how|where) (?:do|can|could|should|would) (?:i|we) (?:buy|purchase"
                    r"|order|place an order)\b|\b(?:want|like|need|looking|trying|wish)"
                    r" to (?:buy|purchase|order)\b|\b(?:could|can|may) i (?:buy|purchase"
                    r"|order)\b|\bhow to (?:buy|order|purchase)\b|\bready to (?:order|buy"
                    r"|purchase)\b|\bhelp me (?:buy|purchase|order)\b", 1.1),
    ("place_order", r"\b(?:buy|purchase)\b", 0.8),
    ("place_order", r"\b(?:i'll take|add to (?:my )?(?:cart|basket)|check ?out|shopping cart"
                    r"|make a purchase)\b", 0.9),
    ("track_order", _r(r"\b(?:track|tracking|trace|locate)\b"), 1.0),
    ("track_order", _r(r"\bwhere(?:'s| is| are|s)?\b.*\b{ORDER}\b"), 1.2),
    ("track_order", _r(r"\b(?:status|update|news|eta|whereabouts|happening)\b.*\b{ORDER}\b"),
     1.1),
    ("track_order", _r(r"\b(?:update|news|info|information|status) (?:on|about|regarding|of)\b.*"
                       r"\b{ORDER}\b|\bwhereabouts\b|\bout for delivery\b"
                       r"|\b{ORDER}\b.*\bon (?:its|the|their) way\b"), 1.3),
    ("track_order", _r(r"\b(?:has|have|did)\b.*\b(?:shipped|dispatched|been sent|sent out"
                       r"|left the warehouse|arrived)\b|\bwhen (?:will|does|is|should|can i"
                       r" expect) ordernum\b"), 1.15),
    ("track_order", _r(r"\b{ORDER}\b.*\b(?:not|never|hasn't|has not|haven't|didn't|still"
                       r"|yet)\b.*\b(?:arrived?|come|came|received?|delivered|shipped|here"
                       r"|show(?:n|ed)? up)\b"), 1.2),
    ("track_order", _r(r"\b(?:has|did|was|is) (?:{MY} )?{ORDER}(?: number| no)?(?: ordernum)?"
                       r" (?:been )?(?:ship|shipped|sent|dispatched|arrived?|delivered|left)\b"),
     1.2),
    ("track_order", _r(r"\bwhen (?:will|does|do|is|can i expect|should) (?:{MY} )?{ORDER}\b"),
     1.15),
    ("track_order", r"\btrackingnum\b", 1.2),
    # --- accounts ---
    ("create_account", _r(r"\b(?:create|open|make|set ?up|register|start|get|new)\b.*"
                          r"\b{ACCOUNT}\b"), 1.0),
    ("create_account", r"\b(?:sign ?up|signup|register|join|become a (?:member|customer))\b",
     1.0),
    ("create_account", r"\bnew (?:account|customer account|user)\b", 1.1),
    ("create_account", r"\b(?:don't|dont|do not) (?:have|own) an? (?:account|login)\b", 1.3),
    ("delete_account", _r(r"\b(?:delete|close|remove|deactivate|terminate|erase|get rid of"
                          r"|shut down|{CANCEL})\b.*\b{ACCOUNT}\b"), 1.3),
    ("delete_account", _r(r"\b{ACCOUNT}\b.*\b(?:deleted|closed|removed|deactivated"
                          r"|terminated|erased)\b"), 1.3),
    ("delete_account", r"\b(?:delete|erase|remove) (?:all )?(?:my|of my) (?:personal )?"
                       r"(?:data|information|details)\b", 1.1),
    ("delete_account", _r(r"\b(?:closure|closing|deletion|removal|termination) of\b.*"
                          r"\b{ACCOUNT}\b|\b{ACCOUNT}\b.*\b(?:delete|remove|close|erase)"
                          r"\b|\b(?:don't|dont|do not) (?:want|need) (?:an |my |the |this )?"
                          r"{ACCOUNT}\b"), 1.3),
    ("edit_account", _r(r"\bprofile\b.*\b(?:change|update|edit|correct|still shows"
                        r"|outdated|old)\b"), 1.2),
    ("edit_account", _r(r"\b(?:edit|update|change|modify|correct|amend)\b.*\b(?:{ACCOUNT}"
                        r"|personal (?:details|info|information|data)|phone(?: number)?"
                        r"|name|surname|email(?: address)?|birthday|date of birth"
                        r"|contact details)\b"), 1.25),
    ("recover_password", r"\b(?:password|passwords|passwd|pwd|pass word|passcode)\b", 1.2),
    ("recover_password", _r(r"\b(?:can't|cannot|can not|unable to|won't let me|locked out"
                            r"|forgot|forgotten)\b.*\b(?:log ?in|sign ?in|login|access"
                            r"|{ACCOUNT})\b"), 1.0),
    ("recover_password", r"\blocked out\b|\breset (?:my )?(?:login|credentials)\b", 1.1),
    ("registration_problems", _r(r"\b(?:sign ?up|signup|register|registering|registration"
                                 r"|create (?:an |my |a )?account|creating (?:an |my |a )?"
                                 r"account|account creation)\b.*\b{PROBLEM}\b"), 1.4),
    ("registration_problems", _r(r"\b{PROBLEM}\b.*\b(?:sign ?up|signup|register|registering"
                                 r"|registration|create (?:an |my |a )?account|creating"
                                 r" (?:an |my |a )?account)\b"), 1.4),
    ("registration_problems", r"\b(?:verification|activation|verify|activate)\b"
                              r".*\b(?:email|mail|link|code|emailaddr|account)\b", 1.35),
    ("registration_problems", _r(r"\b{PROBLEM}\b.*\b(?:confirmation|verification|activation)"
                                 r" (?:email|mail|link|code)\b"), 1.4),
    ("registration_problems", _r(r"\b(?:signing up|sign ?up|register|registering|registration)"
                                 r"\b.*\b(?:page|form|site|website)\b.*\b{PROBLEM}\b"
                                 r"|\b{PROBLEM}\b.*\b(?:finish|complete|completing"
                                 r"|finishing)\b.*\b(?:signing up|sign ?up|registration"
                                 r"|registering)\b|\btried to (?:register|sign ?up)\b"), 1.45),
    ("registration_problems", r"\bregistration\b", 0.95),
    ("switch_account", _r(r"\b(?:switch|swap|toggle|move|change|go|log ?in|sign ?in|jump)\b.*"
                          r"\b(?:another|other|different|second|business|personal|work"
                          r"|family|old|new|wife's|husband's)\b.*\b(?:{ACCOUNT}|accounts"
                          r"|profiles)\b"), 1.4),
    ("switch_account", _r(r"\bswitch(?:ing)?\b.*\b(?:{ACCOUNT}|accounts|profiles|users)\b"),
     1.4),
    ("switch_account", r"\b(?:multiple|two|several|both) (?:accounts|profiles)\b", 1.2),
    ("switch_account", _r(r"\bbetween (?:my |the |two |our )?(?:accounts|profiles)\b|\b(?:use"
                          r"|log into|login to|sign into|sign in with|log in with|access|get into"
                          r"|open) (?:another|a different|my other|the other|other|a second)"
                          r" {ACCOUNT}\b|\buse my (?:work|business|personal|other|second"
                          r"|old|new) {ACCOUNT}\b|\b(?:her|his|their|someone else's|partner's"
                          r"|wife's|husband's) {ACCOUNT}\b"), 1.4),
    # --- fees, contact ---
    ("check_cancellation_fee", _r(r"\b{CANCEL}\b.*\b(?:fee|fees|charge|charges|cost|costs"
                                  r"|penalty|penalties|pay|free|price|money|expensive)\b"),
     1.5),
    ("check_cancellation_fee", _r(r"\b(?:fee|fees|charge|charged|cost|penalty|pay)\b.*"
                                  r"\b{CANCEL}\b"), 1.5),
    ("check_cancellation_fee", r"\b(?:cancellation|cancelation) (?:fee|fees|charge|cost"
                               r"|penalty|policy)\b", 1.6),
    ("contact_customer_service", r"\b(?:customer (?:service|support|care|services)"
                                 r"|support team|help ?desk|service team|hotline"
                                 r"|helpline|call center|call centre)\b", 1.1),
    ("contact_customer_service", r"\b(?:contact|reach|call|phone|ring|email|write to"
                                 r"|get in touch|get hold)\b.*\b(?:you|support|service|team"
                                 r"|company|store|shop|someone|staff)\b", 1.0),
    ("contact_customer_service", r"\b(?:phone|telephone|contact) (?:number|details|info"
                                 r"|information)\b", 0.9),
    ("contact_customer_service", r"\b(?:opening|office|business|support|working) hours\b"
                                 r"|\bnumber (?:do i|to|should i|can i) call\b|\bsupport"
                                 r" (?:calls?|line|phone|chat|email)\b|\b(?:your|support"
                                 r"|customer service) (?:phone|telephone) (?:number)?\b", 1.2),
    ("contact_human_agent", r"\b(?:human|real person|live person|actual person|a person"
                            r"|real human|agent|representative|rep|operator|someone real"
                            r"|live agent|live chat|staff member|employee|not a bot"
                            r"|no bot|talk to someone|speak to someone|speak with someone"
                            r"|talk with someone|real people|manager|supervisor)\b", 1.3),
    ("contact_human_agent", r"\b(?:bot|robot|machine|automated)\b.*\b(?:useless|stop|enough"
                            r"|don't want|talk|speak)\b", 1.2),
    # --- delivery ---
    ("delivery_options", r"\b(?:delivery|shipping|shipment) (?:options?|methods?|choices"
                         r"|types?|services?|carriers?|providers?|companies)\b", 1.3),
    ("delivery_options", r"\b(?:express|next day|same day|overnight|standard|priority"
                         r"|economy|click and collect|pick ?up|pickup|collect in store"
                         r"|parcel locker|international)\b.*\b(?:delivery|shipping|ship"
                         r"|available|option|offer|possible)\b", 1.2),
    ("delivery_options", r"\bdo you (?:ship|deliver) (?:to|internationally|abroad|overseas"
                         r"|outside)\b|\b(?:ship|deliver) (?:to|internationally|abroad"
                         r"|overseas)\b", 1.1),
    ("delivery_options", r"\b(?:express|next day|same day|overnight) (?:delivery|shipping)\b"
                         r"|\b(?:deliver|delivery|ship|shipping) on (?:saturdays?|sundays?"
                         r"|weekends?|holidays?)\b|\b(?:pickup|pick up|collection|parcel"
                         r" shop) (?:point|points|location|locations)\b|\bparcel lockers?\b",
     1.3),
    ("delivery_period", r"\bhow (?:long|many days|many weeks|fast|quickly|soon)\b.*"
                        r"\b(?:deliver|delivery|deliveries|delivered|ship|shipping|shipped"
                        r"|arrive|arrival|take|get here|receive)\b", 1.35),
    ("delivery_period", r"\b(?:delivery|shipping|transit|dispatch|processing) "
                        r"(?:time|times|period|duration|estimate|timeframe|window)\b", 1.3),
    ("delivery_options", r"\b(?:kinds?|types?|sorts?) of (?:shipping|delivery)\b|\bcouriers?\b"
                         r"|\bwhich (?:carrier|carriers|shipping company)\b", 1.3),
    ("delivery_period", r"\bif i (?:order|buy|purchase|place (?:the|an|my) order)\b"
                        r"|\bget here in time\b", 1.35),
    ("delivery_period", r"\b(?:when|how long) (?:will|would|does|do|can i expect)\b(?!.*ordernum).*"
                        r"\b(?:it|items?|things|goods|products?|stuff|an order|orders)\b.*"
                        r"\b(?:arrive|deliver(?:ed)?|ship(?:ped)?|get here|be here)\b", 1.1),
    # --- feedback ---
    ("complaint", r"\b(?:complain|complaint|complaints|complaining|grievance|unacceptable"
                  r"|terrible|awful|horrible|disgusting|disgusted|outraged|furious"
                  r"|ridiculous|appalling|worst|fed up|sick of|unhappy|dissatisfied"
                  r"|disappointed|disappointing|angry|rude|shocking|pathetic|lousy)\b", 1.05),
    ("complaint", r"\bbad experience\b|\breport\b.*\b(?:experience|staff|employee|store"
                  r"|service|behaviou?r)\b", 1.2),
    ("complaint", r"\b(?:file|lodge|make|submit|raise|register) (?:a |an )?(?:formal )?"
                  r"(?:complaint|grievance)\b", 1.5),
    ("review", r"\b(?:review|reviews|reviewing|feedback|rate|rating|ratings|testimonial"
               r"|stars|star rating|opinion|recommend)\b", 1.05),
    ("review", r"\b(?:leave|write|give|post|submit|share|add) (?:a |an |my |some )?"
               r"(?:review|feedback|rating|opinion|comment|testimonial|thoughts|experience"
               r"|comments)\b|\b(?:review|rate) (?:the|your|a|my|this|an)\b(?!.*invoice)", 1.4),
    # --- invoices ---
    ("get_invoice", _r(r"\b(?:get|download|send|need|copy|obtain|request|print|email|mail"
                       r"|find|want|give|generate|resend|issue|where)\b.*\b{INVOICE}\b"), 1.1),
    ("get_invoice", _r(r"\b{INVOICE}\b.*\b(?:pdf|download|copy|sent|send|email|mail"
                       r"|for my records|for my taxes|for tax)\b"), 1.15),
    ("check_invoice", _r(r"\b(?:check|see|view|look|show|review|verify|explain|understand"
                         r"|what|wrong|error|mistake|incorrect|details|amount|total|why)\b"
                         r".*\b{INVOICE}\b"), 1.1),
    ("check_invoice", _r(r"\b{INVOICE}\b.*\b(?:wrong|incorrect|says|shows|amount|total"
                         r"|details|mistake|error|correct|right|what|explain|charges?|tax)"
                         r"\b"), 1.12),
    ("check_invoice", _r(r"\b(?:check|see|view|look at|show me|verify) (?:my |the |an )?"
                         r"{INVOICE}\b"), 1.3),
    ("check_invoice", _r(r"\b{INVOICE}\b.*\b(?:include|included|includes|including|shown"
                         r"|show|vat|line items|cost|listed|mention)\b|\b(?:included|include"
                         r"|shown|go over|line items|listed|review the details)\b.*"
                         r"\b{INVOICE}\b|\bhow much\b.*\binvoiced\b"), 1.45),
    ("get_invoice", _r(r"\b{INVOICE}\b.*\b(?:download|email them|send them|email it|send it"
                       r"|email me|send me)\b"), 1.5),
    ("get_invoice", _r(r"\b(?:get|download|send|obtain|request|resend|copy of) (?:me )?"
                       r"(?:my |the |an |a )?(?:copy of )?(?:my |the )?{INVOICE}\b"), 1.3),
    # --- newsletter ---
    ("newsletter_subscription", r"\b(?:newsletter|newsletters|mailing list|subscribe"
                                r"|subscribed|unsubscribe|subscription|opt ?out|opt ?in"
                                r"|promotional (?:emails?|mails?)|marketing (?:emails?"
                                r"|mails?|messages)|promo emails?|spam me|sign me up"
                                r"|(?:deals|offers|promotions?) (?:email|emails|newsletter)"
                                r"|weekly (?:deals|email|emails|newsletter))\b", 1.2),
    # --- payments ---
    ("check_payment_methods", r"\b(?:payment|paying) (?:methods?|options?|types?"
                              r"|forms?)\b", 1.3),
    ("check_payment_methods", r"\b(?:paypal|klarna|apple pay|google pay|credit card"
                              r"|debit card|bank transfer|visa|mastercard|amex"
                              r"|american express|crypto|bitcoin|cash on delivery|ideal"
                              r"|maestro|sofort|prepaid card|installments?|instalments?"
                              r"|afterpay|diners club|discover)\b", 1.0),
    ("check_payment_methods", r"\bdo you (?:accept|take|support)\b|\bsplit (?:the |my )?(?:payment"
                              r"|bill)\b|\bcan i (?:pay|use)\b.*\b(?:at checkout|to pay"
                              r"|for payment|card|paypal|klarna|cash)\b", 1.2),
    ("check_payment_methods", r"\bhow (?:can|do) i pay\b|\bways to pay\b|\bpay (?:with|by"
                              r"|using|in)\b", 1.05),
    ("payment_issue", _r(r"\b{PAY}\b.*\b(?:fail(?:s|ed|ing)?|declined?|rejected|refused"
                         r"|error|problem|issue|not go(?:ing)? through|didn't go through"
                         r"|did not go through|won't go through|not work(?:ing)?|denied"
                         r"|bounced|blocked)\b"), 1.35),
    ("payment_issue", _r(r"\b(?:fail(?:s|ed|ing)?|declined?|rejected|refused|error|problem"
                         r"|issue|can't|cannot|unable to|trouble)\b.*\b{PAY}\b"), 1.3),
    ("payment_issue", r"\b(?:charged|billed|debited|paid) (?:twice|double|two times|2 times"
                      r"|too much|wrong|more|again|incorrectly|multiple times)\b"
                      r"|\bdouble (?:charge|charged|payment|billing)\b|\bovercharged\b", 1.5),
    ("payment_issue", r"\bcharged\b.*\b(?:but|more than|less|wrong|never|didn't|did not"
                      r"|without)\b", 1.4),
    ("payment_issue", r"\b(?:card|mastercard|visa|paypal|amex|klarna|maestro|bank)\b.*"
                      r"\b(?:declined|rejected|refused|failed|not working|doesn't work|error"
                      r"|denied|blocked)\b", 1.45),
    # --- refunds ---
    ("check_refund_policy", r"\b(?:refund|return|returns|money back|exchange) (?:policy"
                            r"|policies|rules|conditions|terms|window|period|guarantee"
                            r"|process|deadline|time limit)\b", 1.5),
    ("check_refund_policy", r"\bhow (?:many|much time|long)\b.*\b(?:return|refund)\b"
                            r"|\b(?:can|could|may) i (?:return|exchange|send back)\b"
                            r"|\b(?:are|is) (?:returns?|refunds?) (?:free|possible"
                            r"|allowed)\b", 1.2),
    ("check_refund_policy", r"\b(?:return|refund|exchange)\b.*\b(?:policy|days|allowed"
                            r"|eligible|possible|conditions|within|rules)\b", 1.1),
    ("check_refund_policy", r"\b(?:returning|returns?|refunds?)\b.*\b(?:time limit"
                            r"|limit|original payment|go back|opened|used|worn|sale items)\b"
                            r"|\bhow (?:do|does) (?:returns?|refunds?|returning|refunding)\b.*"
                            r"\bwork\b"
                            r"|\b(?:can|cant)(?:'t| ?not)? be returned\b|\b(?:refundable"
                            r"|returnable|non returnable|non refundable)\b|\b(?:time limit"
                            r"|deadline)\b.*\b(?:refunds?|returns?)\b|\breturn (?:shipping|label"
                            r" cost|costs)\b|\bdo you (?:offer|give|do|accept|allow) (?:full )?"
                            r"(?:refunds?|returns?|exchanges?)\b|\b(?:refund|return) if\b", 1.35),
    ("get_refund", _r(r"\b(?:want|need|get|request|claim|demand|like|ask for|apply for"
                      r"|give me|expect|entitled to)\b.*\b{REFUND}\b"), 1.2),
    ("get_refund", _r(r"\b{REFUND}\b.*\b(?:please|asap|now|request)\b|\brefund me\b"
                      r"|\bi want a refund\b"), 1.25),
    ("get_refund", _r(r"\b(?:return|send back)\b.*\b(?:for a|and get (?:a|my)) {REFUND}\b"),
     1.3),
    ("get_refund", _r(r"^{REFUND}$"), 1.0),
    ("get_refund", r"\brefund (?:my|the|for|me|this|that|it)\b|\b(?:issue|process|give|send"
                   r"|requesting|request|start|initiate) (?:me )?(?:a |my |the )?(?:full )?"
                   r"refund\b|\bwant (?:my|the) .{0,30}\bback\b", 1.25),
    ("track_refund", _r(r"\b(?:where|status|when|track|tracking|still|yet|waiting|haven't"
                        r"|have not|not received|didn't get|did not get|not get|received"
                        r"|arrived?|processed|progress|update)\b.*\b{REFUND}\b"), 1.3),
    ("track_refund", _r(r"\bhow long\b.*\b{REFUND}\b"), 1.4),
    ("track_refund", _r(r"\b{REFUND}\b.*\b(?:status|yet|arrived?|processed|received|still"
                        r"|pending|progress|update|where|when|been|back yet|taking)\b"), 1.25),
    ("track_refund", _r(r"\b(?:status|update|progress) (?:of|on) (?:my |the )?{REFUND}"
                        r"|\b{REFUND}\b.*\b(?:shown up|show up|showed up|see the money|see it"
                        r"|seen|approved|appeared|hit my)\b|\bcheck on (?:the |my )?{REFUND}"
                        r"\b"), 1.4),
    # --- addresses ---
    ("change_shipping_address", _r(r"\b(?:change|update|edit|modify|correct|amend|fix"
                                   r"|replace|wrong|different|moved|move|switch)\b.*"
                                   r"\b{ADDRESS}\b"), 1.5),
    ("change_shipping_address", r"\b(?:send|ship|deliver)\b.*\bto\b.*\binstead\b|\bredirect\b"
                                r"|\bwrong (?:street|house number|postcode|post code|zip"
                                r"|zip code|city|flat number)\b", 1.4),
    ("change_shipping_address", _r(r"\b{ADDRESS}\b.*\b(?:wrong|incorrect|changed|outdated"
                                   r"|old|mistake|typo)\b|\bship (?:it )?to (?:a )?"
                                   r"(?:different|another|new) (?:address|place"
                                   r"|location)\b"), 1.5),
    ("set_up_shipping_address", _r(r"\b(?:add|set ?up|save|create|register|enter|put in"
                                   r"|store|new|another|second|first|default)\b.*"
                                   r"\b{ADDRESS}\b"), 1.45),
    ("set_up_shipping_address", _r(r"\b{ADDRESS} (?:book|to my account)\b|\b{ADDRESS}\b.*"
                                   r"\b(?:saved|add|save)\b|\b(?:saved|multiple|several)"
                                   r" (?:shipping |delivery )?{ADDRESS}\b"), 1.5),
    # --- small talk: light weights so any request wins ---
    ("greeting", r"^(?:hi|hello|hey|heya|hiya|howdy|yo|greetings|good (?:morning|afternoon"
                 r"|evening|day)|hallo|hola|bonjour|sup|what's up|whats up|morning|evening"
                 r"|afternoon)\b", 0.75),
    ("greeting", r"\b(?:hi|hello|hey) (?:there|team|all|everyone|guys|folks|bot)\b"
                 r"|\bhow are you\b|^hel+o+\b|\banyone (?:there|here)\b", 0.8),
    ("goodbye", r"\b(?:bye|goodbye|good bye|bye bye|byebye|see you|see ya|cya|farewell"
                r"|take care|have a (?:nice|good|great|lovely) (?:day|evening|night|weekend)"
                r"|talk (?:to you )?later|catch you later|later|ciao|adios|that's all"
                r"|that is all|i'm done|im done|good night|have a good one|ttyl|gotta go"
                r"|got to go|gtg)\b", 0.7),
    ("thanks", r"\b(?:thanks|thank you|thank u|thx|thnx|ty|tysm|cheers|appreciate|appreciated"
               r"|grateful|many thanks|much obliged|you're a star|you rock|great help"
               r"|helpful)\b", 0.72),
]

# Every word the patterns rely on; unknown tokens are corrected towards these.
VOCABULARY: Tuple[str, ...] = tuple(sorted(set("""
    order orders ordered purchase purchases package packages parcel parcels shipment
    shipments delivery deliveries deliver delivered item items goods product products
    cancel cancels cancelled canceled cancelling canceling cancellation cancelation
    change modify edit update alter adjust amend correct swap replace switch switching
    different another wrong size color colour quantity instead place submit create start
    buy purchase checkout cart basket shopping track tracking trace locate where status
    news arrived arrive arrival received receive shipped dispatched sent expect
    account accounts profile profiles login username membership register registering
    registration signup sign join member customer delete close remove deactivate terminate
    erase personal details information phone number name surname email address birthday
    password passwords passcode forgot forgotten locked access reset credentials unable
    problem problems issue issues error errors trouble fail fails failed failing failure
    working broken verification confirmation activation verify confirm link code
    business family multiple several both fee fees charge charges charged cost costs
    penalty penalties price expensive free contact reach call telephone opening office
    hours support service services team helpdesk hotline helpline center centre staff
    human person agent representative operator live chat employee manager supervisor
    robot machine automated useless options option methods method choices types carriers
    providers companies express overnight standard priority economy collect pickup
    locker international internationally abroad overseas available offer possible
    long days weeks fast quickly soon take transit dispatch processing period duration
    estimate timeframe window complain complaint complaints complaining grievance
    unacceptable terrible awful horrible disgusting disgusted outraged furious ridiculous
    appalling worst unhappy dissatisfied disappointed disappointing angry rude shocking
    pathetic lousy formal lodge raise review reviews reviewing feedback rate rating ratings
    testimonial stars opinion recommend leave write share comment invoice invoices receipt
    receipts billing statement download copy obtain request print generate resend issue
    check view verify explain understand mistake incorrect amount total records taxes
    newsletter newsletters mailing subscribe subscribed unsubscribe subscription
    promotional marketing messages promo spam payment payments paying paid pay card
    transaction paypal klarna apple google credit debit bank transfer visa mastercard amex
    american crypto bitcoin cash gift installments ideal maestro diners discover
    redirect invoiced refundable returnable courier couriers street postcode increase
    decrease crashed adress whereabouts instalments afterpay accept declined
    decline rejected refused denied bounced blocked twice double billed debited
    overcharged refund refunds refunded refunding reimburse reimbursement reimbursed money
    return returns exchange policy policies rules conditions terms guarantee process
    deadline limit eligible allowed within claim demand entitled waiting pending progress
    shipping shipment address addresses moved outdated typo default save store enter
    hello greetings morning afternoon evening howdy goodbye farewell care weekend later
    ciao adios thanks thank appreciate appreciated grateful obliged helpful
""".split())))


SMALL_TALK = frozenset(("greeting", "goodbye", "thanks"))
_SMALL_TALK_WORDS = frozenset("""
    hi hello hey heya hiya howdy yo greetings good morning afternoon evening day night hallo
    hola bonjour sup what's up whats there team all everyone guys folks bot friend friends
    bye goodbye see you ya cya later farewell take care have a nice great lovely weekend talk
    to catch ciao adios that's that is i'm im done one thanks thank u thx thnx ty tysm cheers
    appreciate appreciated it grateful many much obliged you're star rock help helpful so
    very lot again for your the and ok okay cool awesome perfect wonderful brilliant great
    all good that's all really again kind of you me how are doing today well
    heaps gotta go ttyl gtg anyone
""".split())


def _has_content(normalized: str) -> bool:
    """More than two words besides greetings, thanks and farewells."""
    return sum(1 for t in normalized.split() if t not in _SMALL_TALK_WORDS) > 2


class IntentClassifier:
    """Scores every intent's rules against the normalised message."""

    def __init__(self, precompile: bool) -> None:
        self.rules: List[Tuple[str, Matcher, float]] = [
            (intent, Matcher(pattern, 0, precompile), weight)
            for intent, pattern, weight in RULES
        ]
        unknown = {intent for intent, _, _ in RULES} - set(INTENTS)
        if unknown:
            raise ValueError("rules name unknown intents: %s" % sorted(unknown))
        self.concepts = ConceptScorer()
        self.index = RuleIndex(pattern for _, pattern, _ in RULES)

    def scores(self, normalized: str, exhaustive: bool = False) -> Dict[str, float]:
        """Intent -> score, for intents with at least one matching rule.

        Only the rules whose first words the message contains are tried (``RuleIndex``);
        ``exhaustive`` tries every rule (the same scores, for the test that says so).
        """
        best: Dict[str, float] = {}
        extra: Dict[str, int] = {}
        rules = self.rules
        tried = rules if exhaustive else [rules[n] for n in self.index.candidates(normalized)]
        for intent, matcher, weight in tried:
            if matcher.search(normalized) is not None:
                prev = best.get(intent)
                if prev is None:
                    best[intent] = weight
                else:
                    extra[intent] = extra.get(intent, 0) + 1
                    if weight > prev:
                        best[intent] = weight
        return {i: s + EXTRA_MATCH_BONUS * extra.get(i, 0) for i, s in best.items()}

    def classify(self, normalized: str) -> Tuple[str, float]:
        """(intent, confidence); ``faq`` when no rule scores MIN_SCORE."""
        scores = self.scores(normalized)
        for intent, weight in self.concepts.scores(normalized).items():
            if weight > scores.get(intent, 0.0):
                scores[intent] = weight
        if scores and SMALL_TALK.intersection(scores) and _has_content(normalized):
            # "hi, is the jacket waterproof?" is a question, not a greeting
            scores = {i: s for i, s in scores.items() if i not in SMALL_TALK}
        if not scores:
            return FAQ_INTENT, 0.5
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        intent, top = ranked[0]
        if top < MIN_SCORE:
            return FAQ_INTENT, 0.5
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = min(0.99, 0.55 + 0.44 * (top - runner_up) / top + 0.1 * min(top, 1.5))
        return intent, round(confidence, 3)

    @property
    def matchers(self) -> List[Matcher]:
        return [m for _, m, _ in self.rules]
