"""Concept scoring: the second opinion beside the regular expressions of ``intents``.

Why: the weighted patterns are word-order-bound and know one or two words per idea, so
real messages ("assistance deactivating my user", "where do I see the early exit
charges", "no idea how to get back into my profile") fell through to ``faq``. Here each
message becomes a *set of concepts*: its tokens are lemmatised ("deactivating" ->
"deactivate", "charges" -> "charge") and looked up, one to three words at a time, in a
lexicon that lists the business words and the plain words for each idea side by side
(REFUND: refund, reimbursement, compensation, rebate, money back, ...). An intent is a
few concept combinations with weights (CANCEL + FEE is check_cancellation_fee; REFUND +
POLICY is check_refund_policy); the more specific combination weighs more. Order does
not matter, so "the cancellation charges, where do I see them" works as well.

Cost: a dict look-up per token and n-gram (a few microseconds a message), no regex.
Python 3.9-compatible.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Set, Tuple

# concept -> phrases (lemmas, space separated). A phrase may belong to several concepts.
LEXICON: Dict[str, str] = {
    "ORDER": "order purchase package parcel shipment item article stuff goods product thing "
             "box ordernum basket delivery it them",
    "CANCEL": "cancel cancellation cancelation call_off annul revoke void undo back_out "
              "scrap abort withdraw",
    "NOT_WANT": "don't_want dont_want do_not_want no_longer_want no_longer_need "
                "change_my_mind changed_my_mind rather_not want_out",
    "FEE": "fee charge penalty cost price how_much free expensive pay lose_money "
           "charge_me cost_me",
    "TERMINATION": "early_termination termination early_exit exit withdrawal",
    "CHANGE": "change modify edit update alter adjust amend correct fix swap replace tweak "
              "make_change different instead",
    "ADD_REMOVE": "add remove take_out put_in one_more",
    "BUY": "buy acquire place_order place_an_order make_a_purchase make_an_order sell_me "
           "shop_on shop_online checkout i'll_take how_does_ordering ordering purchase_some "
           "purchase_an purchase_a order_a order_two order_some order_by ready_to_buy "
           "get_the_product",
    "WHERE": "where where's wheres news update any_news",
    "TRACK": "track trace locate follow status on_its_way "
             "on_the_way what's_happening whats_happening eta shipped dispatch "
             "dispatched left_the_warehouse show_up shown_up heard_nothing hear_nothing "
             "out_for_delivery has_shipped ship_already tracking",
    "ACCOUNT": "account profile user login membership member acct user_account",
    "CREATE": "create open make set_up setup register sign_up signup join become start "
              "new enrol enroll get_an_account have_an_account registered",
    "NEW_USER": "new_here new_customer i'm_new first_time dont_have_an_account "
                "don't_have_an_account no_account",
    "DELETE": "delete close remove deactivate terminate erase get_rid_of shut_down wipe "
              "end gone forget_about_me stop_being done_with erasure",
    "PERSONAL": "name surname phone_number phone email personal_detail detail personal_info "
                "personal_data info information data birthday date_of_birth contact_info "
                "last_name spelled married out_of_date",
    "PASSWORD": "password pwd pw pin passcode account_key access_key profile_key "
                "credential login_detail",
    "RECOVER": "recover reset retrieve restore forget lose remember get_back regain unlock "
               "locked_out lock_out blocked back_into get_into",
    "SIGNUP": "sign_up signup register registration create_account creating_account "
              "open_an_account make_an_account activation activation_link verification "
              "verification_code confirmation_email registering",
    "PROBLEM": "problem issue error trouble fail not_work doesn't_work doesnt_work won't "
               "wont can't cant cannot unable broken stuck went_wrong invalid "
               "nothing_happen spin already_in_use never_come never_arrive keep_fail "
               "won't_let wont_let not_go_through won't_go_through wont_go_through reject "
               "decline",
    "SWITCH": "switch swap toggle jump_between go_from move_from move_to change_to "
              "upgrade downgrade go_to get_to use log_in_with logged_in_as",
    "OTHER": "other another different second both two business work personal company "
             "premium gold platinum free_plan standard mine",
    "CUSTOMER_SERVICE": "customer_service customer_support customer_care "
                        "help_desk helpdesk hotline helpline service_department "
                        "customer_assistance customer_services support_team phone_line "
                        "contact_support your_support support_email support_hour "
                        "support_number support_line reach_support call_support",
    "CONTACT": "contact reach call phone get_in_touch get_hold write_to number hour "
               "email_address open available",
    "HUMAN": "human real_person a_person actual_person agent representative rep operator "
             "manager supervisor live_agent anyone_real someone_real somebody_real "
             "real_human talk_to_someone speak_to_someone speak_with_someone "
             "talk_with_someone talk_to_somebody speak_to_somebody not_a_bot "
             "talk_to_a_machine real_people",
    "BOT": "bot machine robot automated",
    "DELIVERY": "delivery deliver shipping ship shipment courier carrier send post sent "
                "deliveries arrive get_here",
    "OPTIONS": "option method type kind way choice",
    "OPTIONS_STRONG": "express next_day same_day overnight pick_up collect locker "
                      "parcel_locker abroad internationally international courier "
                      "saturday weekend collect_from",
    "TIME": "how_long time period duration how_many_day how_many_working_day how_soon "
            "how_quick how_fast eta estimated in_time working_day usual_delivery "
            "delivery_time shipping_time",
    "COMPLAINT": "complaint complain claim_against dissatisfaction dissatisfied unhappy "
                 "disappointed disappointing furious angry rude terrible worst awful "
                 "ridiculous unacceptable not_happy not_acceptable fed_up joke "
                 "bad_service horrible nobody_care",
    "REVIEW": "review feedback rate rating opinion comment testimonial star say_so "
              "tell_others",
    "INVOICE": "invoice bill receipt billing proof_of_purchase vat_invoice",
    "GET": "get download receive send email print request copy pdf need have want "
           "send_me email_me came_with",
    "CHECK": "check see view look find locate review show wrong doesn't_match doesnt_match "
             "why what amount look_off include past history detail",
    "NEWSLETTER": "newsletter mailing_list email_list subscribe unsubscribe subscription "
                  "marketing_email promo_email promotional_email spam your_email "
                  "these_email in_my_inbox too_many_email marketing_message "
                  "offers_by_email weekly_deal hear_about_your_sale",
    "PAYMENT": "payment pay paid card paypal bank charged billed transaction amex visa "
               "klarna apple_pay debit_card credit_card checkout",
    "METHOD": "method option way form type which_card accept take pay_later instalment "
              "installment split pay_with pay_by pay_in ok",
    "DOUBLE_CHARGE": "charged_twice billed_twice charge_twice more_than_the_total "
                     "double_charge took_my_money",
    "REFUND": "refund reimbursement reimburse reimbursed money_back compensation rebate "
              "restitution repayment my_money be_reimbursed money_return",
    "POLICY": "policy rule condition term guarantee window time_limit in_what_case "
              "which_case eligible allowed how_long_do_i_have full_refund how_refund_work "
              "how_return_work how_do_refund how_do_return",
    "RETURN": "return send_back send_stuff_back send_thing_back returns",
    "STATUS": "status progress processed go_through went_through yet still haven't_got "
              "havent_got not_arrive hasn't_arrive hasnt_arrive approved show_up "
              "where when any_news update waiting promised back_in_my_account whether you_sent "
              "did_you_send check_on "
              "back_on_my_card track",
    "ADDRESS": "address postcode street house_number zip_code zip new_place my_place",
    "SETUP": "add set_up save enter create register store new second default put_in "
             "keep on_file another couple_of no_address",
    "WRONG": "wrong typo incorrect old moved instead different fixing neighbour",
}

# (intent, concepts that must all be present, weight). Specific combinations weigh more.
COMBOS: List[Tuple[str, FrozenSet[str], float]] = [
    (intent, frozenset(concepts.split()), weight) for intent, concepts, weight in (
        ("cancel_order", "CANCEL", 1.0),
        ("cancel_order", "CANCEL ORDER", 1.2),
        ("cancel_order", "NOT_WANT", 0.95),
        ("check_cancellation_fee", "CANCEL FEE", 1.55),
        ("check_cancellation_fee", "TERMINATION FEE", 1.55),
        ("change_order", "CHANGE ORDER", 1.1),
        ("change_order", "ADD_REMOVE ORDER", 1.15),
        ("place_order", "BUY", 0.9),
        ("track_order", "TRACK ORDER", 1.15),
        ("track_order", "WHERE ORDER", 0.95),
        ("track_order", "TRACK", 0.85),
        ("create_account", "CREATE ACCOUNT", 1.0),
        ("create_account", "SIGNUP", 0.95),
        ("create_account", "NEW_USER", 1.0),
        ("delete_account", "DELETE ACCOUNT", 1.3),
        ("delete_account", "CANCEL ACCOUNT", 1.35),
        ("edit_account", "CHANGE PERSONAL", 1.2),
        ("edit_account", "CHANGE ACCOUNT", 1.1),
        ("recover_password", "PASSWORD", 1.2),
        ("recover_password", "RECOVER ACCOUNT", 1.15),
        ("registration_problems", "SIGNUP PROBLEM", 1.45),
        ("switch_account", "SWITCH ACCOUNT", 1.3),
        ("switch_account", "SWITCH OTHER ACCOUNT", 1.45),
        ("switch_account", "CHANGE OTHER ACCOUNT", 1.4),
        ("contact_customer_service", "CUSTOMER_SERVICE", 1.1),
        ("contact_customer_service", "CONTACT CUSTOMER_SERVICE", 1.2),
        ("contact_human_agent", "HUMAN", 1.3),
        ("delivery_options", "DELIVERY OPTIONS", 1.3),
        ("delivery_options", "OPTIONS_STRONG", 1.0),
        ("delivery_period", "TIME DELIVERY", 1.35),
        ("complaint", "COMPLAINT", 1.1),
        ("review", "REVIEW", 1.05),
        ("get_invoice", "INVOICE", 0.9),
        ("get_invoice", "INVOICE GET", 1.15),
        ("check_invoice", "INVOICE CHECK", 1.2),
        ("newsletter_subscription", "NEWSLETTER", 1.2),
        ("check_payment_methods", "PAYMENT METHOD", 1.3),
        ("payment_issue", "PAYMENT PROBLEM", 1.4),
        ("payment_issue", "DOUBLE_CHARGE", 1.5),
        ("check_refund_policy", "REFUND POLICY", 1.5),
        ("check_refund_policy", "RETURN POLICY", 1.45),
        ("get_refund", "REFUND", 1.0),
        ("track_refund", "REFUND STATUS", 1.4),
        ("change_shipping_address", "ADDRESS CHANGE", 1.5),
        ("change_shipping_address", "ADDRESS WRONG", 1.5),
        ("set_up_shipping_address", "ADDRESS SETUP", 1.45),
    )
]

IRREGULAR = {"bought": "buy", "sent": "send", "paid": "pay", "got": "get", "gotten": "get",
             "made": "make", "took": "take", "forgot": "forget", "forgotten": "forget",
             "lost": "lose", "came": "come", "went": "go", "gone": "gone", "kept": "keep",
             "told": "tell", "sold": "sell", "wrote": "write", "written": "write",
             "cancelled": "cancel", "canceled": "cancel", "cancelling": "cancel",
             "canceling": "cancel", "shipped": "ship", "shipping": "shipping",
             "ordering": "ordering", "billing": "billing", "setting": "set",
             "putting": "put", "stopping": "stop", "swapping": "swap", "signing": "sign",
             "logging": "log", "logged": "log", "dropping": "drop", "getting": "get",
             "address": "address", "status": "status", "news": "news", "access": "access",
             "yes": "yes", "this": "this", "us": "us", "is": "is", "was": "was",
             "has": "has", "does": "does", "its": "its", "plus": "plus"}

MAX_PHRASE = 4


def _build() -> Tuple[Dict[str, Tuple[str, ...]], FrozenSet[str]]:
    table: Dict[str, List[str]] = {}
    words: Set[str] = set()
    for concept, phrases in LEXICON.items():
        for phrase in phrases.split():
            key = phrase.replace("_", " ")
            table.setdefault(key, []).append(concept)
            words.update(key.split())
    return {k: tuple(v) for k, v in table.items()}, frozenset(words)


PHRASES, WORDS = _build()
_INTENT_NAMES = frozenset(i for i, _, _ in COMBOS)


class ConceptScorer:
    """Intent scores from the concepts a normalised message mentions."""

    def __init__(self) -> None:
        self._lemmas: Dict[str, str] = {}
        self.combos = COMBOS

    def lemma(self, token: str) -> str:
        """The lexicon word ``token`` inflects ("deactivating" -> "deactivate"), or itself."""
        hit = self._lemmas.get(token)
        if hit is not None:
            return hit
        out = _lemma(token)
        if len(self._lemmas) < 100000:
            self._lemmas[token] = out
        return out

    def concepts(self, normalized: str) -> Set[str]:
        lemma = self.lemma
        toks = [lemma(t) for t in normalized.split()]
        found: Set[str] = set()
        phrases = PHRASES
        n = len(toks)
        for i in range(n):
            key = toks[i]
            hit = phrases.get(key)
            if hit is not None:
                found.update(hit)
            for j in range(i + 1, min(n, i + MAX_PHRASE)):
                key = key + " " + toks[j]
                hit = phrases.get(key)
                if hit is not None:
                    found.update(hit)
        return found

    def scores(self, normalized: str) -> Dict[str, float]:
        """Intent -> the weight of its most specific combination present."""
        found = self.concepts(normalized)
        out: Dict[str, float] = {}
        if not found:
            return out
        for intent, need, weight in self.combos:
            if need <= found and weight > out.get(intent, 0.0):
                out[intent] = weight
        return out


def _lemma(token: str) -> str:
    irregular = IRREGULAR.get(token)
    if irregular is not None:
        return irregular
    if token in WORDS or len(token) <= 3:
        return token
    cands: List[str] = []
    if token.endswith("ies"):
        cands.append(token[:-3] + "y")
    if token.endswith("ing"):
        base = token[:-3]
        cands += [base, base + "e"]
        if len(base) > 2 and base[-1] == base[-2]:
            cands.append(base[:-1])
    if token.endswith("ed"):
        base = token[:-2]
        cands += [base, token[:-1]]
        if len(base) > 2 and base[-1] == base[-2]:
            cands.append(base[:-1])
    if token.endswith("es"):
        cands.append(token[:-2])
    if token.endswith("s"):
        cands.append(token[:-1])
    if token.endswith("'s"):
        cands.append(token[:-2])
    for cand in cands:
        if cand in WORDS:
            return cand
    return token
