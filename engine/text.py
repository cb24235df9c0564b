"""Text normalisation and spelling correction for casual, misspelt messages.

Customers write "cancdling my ordedr". Intent patterns are written against a
domain vocabulary; before matching, each unknown token is corrected to the
closest vocabulary word (symmetric-delete look-up, as in SymSpell, verified by
Damerau-Levenshtein distance). Corrections are memoised per token in a
bounded dict: shoppers reuse the same few thousand words.
Python 3.9-compatible.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_APOS = re.compile(r"[\u2018\u2019`´]")

# Common English words that must never be "corrected" into a domain word
# ("older" is not a typo of "order", "bill" is not "till").
COMMON_WORDS: FrozenSet[str] = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he her here hers herself him himself his how i i'm i've if in into is
    isn't it it's its itself just let's me more most mustn't my myself no nor not now of off
    on once only or other ought our ours ourselves out over own same she should shouldn't so
    some such than that that's the their theirs them themselves then there there's these they
    this those through to too under until up very was wasn't we were weren't what what's when
    where which while who whom why will with won't would wouldn't you you're your yours
    yourself yourselves yes yeah yep nope ok okay please pls plz hi hey hello thanks thank
    older bill bills till still will well wall tell sell call all ball later late letter
    better never ever even order orders ordered ordering week weeks day days month months
    year years today tomorrow yesterday time times good great bad nice new old big small
    one two three four five six seven eight nine ten first second last next same other
    get got give gave go going gone come came make made take took put see saw look looked
    know knew think thought want wanted need needed like liked try tried use used work
    worked say said ask asked find found keep kept help way thing things stuff guy guys
    man people person someone something anything nothing everything everyone anyone
    really actually just already again also maybe probably definitely still yet soon
    back home house store shop online website site app phone mail email post box
    rack shoe shoes boot boots card cards code codes size sizes fit fits work works
    charge charges charged plan plans deal deals offer offers point points price prices
    send sends sending stop stops stopped list lists lost lose open opened opens near
    sure read ready real reply told tell sold hold held full fill fine find mind kind
    wait waited wants wanted need needs last least left right wrong less more most much
    many any each every some none once twice both either neither instead also only just
    after before since until while during about above below under over into onto from
    than then them they their there here where when what which who whom whose why how
    able about across again against almost alone along already always among another
    around asked away became become becomes began begin being believe best better between
    bring brought build built came care case cases cause change check child children city
    close color come comes coming company could country course cover cut dark date dear
    does done door draw drive early earth easy else end enough even ever face fact fall
    family far fast father feel feet felt few field figure final first five food foot form
    four free friend friends front gave girl given glad goes gold gone govern green ground
    group grow half hand hands happen happened hard head hear heard heart heavy high him
    hope hour hours idea important inside keep kept land large late later lead learn leave
    life light line little live lived living local long looking loved low made main major
    mark matter may mean means men might miles mile minute minutes miss money morning mother
    move much music must name names nation near never night note notice number numbers
    often once open other others page paper part parts pass past pay people perhaps picture
    piece place plain plan play point possible power present pretty problem pull quite
    rather reach reason red rest river road rock room round rule run running said same saw
    school sea seem seemed seen sent set several shall short should show side since sing
    size sleep slow small snow so soft soon sound south space speak special stand start
    state stay step still story street strong study such sun sure table tail talk teach
    tell test than that thing think third those though thought thousand three through thus
    today together told took top toward town tree true turn type under unit upon usual
    very voice walk wall warm watch water ways week weight went were west whether white
    whole wide wife wind window wish within without woman women wonder word words world
    write written year young yours zero via per etc item tried trying sure mine yours
    shipped shipping shop shops sale sales size sizes fit fits gift gifts cost costs paid
    bought buy buying sold send sent sign signed signing login logged logging email emails
    mail mails box boxes bag bags pack packed label labels link links page pages site
    form forms field code codes error errors issue issues help helps helped team staff
    store stores brand brands model models color colors colour colours blue black white
    green red grey gray pink brown large medium small tall short wide narrow long
    night nights tonight weekend weekends monday tuesday wednesday thursday friday saturday
    sunday january february march april may june july august september october november
    december berlin paris london austin leeds
    ordernum trackingnum emailaddr compliant compliance gdpr privacy waterproof anyone
    activate activated active
    employer employers placed places placing
    """.split()
)


class SpellCorrector:
    """Corrects tokens to a vocabulary within a small edit distance."""

    def __init__(self, vocabulary: Iterable[str], max_distance: int = 2,
                 memo_size: int = 50000) -> None:
        self.vocabulary: FrozenSet[str] = frozenset(w for w in vocabulary if w)
        # ordinary words are correction targets too ("frrom" -> "from")
        targets = self.vocabulary | frozenset(w for w in COMMON_WORDS if "'" not in w)
        self.max_distance = max_distance
        self._deletes: Dict[str, List[str]] = {}
        for word in sorted(targets):
            for d in _deletes(word, self._limit(len(word))):
                self._deletes.setdefault(d, []).append(word)
        self._memo: Dict[str, str] = {}
        self._memo_size = memo_size

    def _limit(self, length: int) -> int:
        # short words have too many one-edit neighbours ("rack" -> "track"): 3 letters are
        # left alone, 4 letters get one edit that keeps the first letter ("trak" -> "track")
        if length <= 3:
            return 0
        if length <= 7:
            return min(1, self.max_distance)
        return self.max_distance

    def correct(self, token: str) -> str:
        """The vocabulary word closest to ``token``, or ``token`` itself."""
        memo = self._memo
        hit = memo.get(token)
        if hit is not None:
            return hit
        fixed = self._correct(token)
        if len(memo) >= self._memo_size:
            memo.clear()  # cheap bound; the working set refills in a few messages
        memo[token] = fixed
        return fixed

    def _correct(self, token: str) -> str:
        if token in self.vocabulary or token in COMMON_WORDS or not token.isalpha():
            return token
        limit = self._limit(len(token))
        if limit == 0:
            return token
        best: Optional[Tuple[int, int, str]] = None
        seen: Set[str] = set()
        for d in _deletes(token, limit):
            for cand in self._deletes.get(d, ()):
                if cand in seen:
                    continue
                seen.add(cand)
                if abs(len(cand) - len(token)) > limit:
                    continue
                if len(token) == 4 and cand[0] != token[0]:
                    continue
                dist = osa_distance(token, cand, limit)
                if dist <= min(limit, max(1, self._limit(len(cand)))):
                    # prefer: smaller distance, same first letter, then alphabetical
                    key = (dist, 0 if cand[0] == token[0] else 1, cand)
                    if best is None or key < best:
                        best = key
        return best[2] if best is not None else token


def _deletes(word: str, depth: int) -> Set[str]:
    """All strings made by deleting up to ``depth`` characters (the word itself included)."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        nxt: Set[str] = set()
        for w in frontier:
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1:])
        out |= nxt
        frontier = nxt
    return out


def osa_distance(a: str, b: str, limit: int = 99) -> int:
    """Optimal-string-alignment distance (Damerau-Levenshtein with adjacent swaps)."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if abs(la - lb) > limit:
        return limit + 1
    prev2: List[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ai = a[i - 1]
        row_min = cur[0]
        for j in range(1, lb + 1):
            cost = 0 if ai == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            if v < row_min:
                row_min = v
        if row_min > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[lb]


def tokenize(text: str) -> List[str]:
    """Lower-cased word tokens; apostrophes kept inside words ("don't")."""
    return _TOKEN.findall(_APOS.sub("'", text.lower()))


class Normalizer:
    """Turns a raw message into the canonical lower-case, corrected form patterns see."""

    def __init__(self, corrector: SpellCorrector) -> None:
        self.corrector = corrector

    def normalize(self, text: str) -> str:
        correct = self.corrector.correct
        return " ".join(correct(t) for t in tokenize(text))

    def normalize_with_placeholders(self, text: str,
                                    spans: Sequence[Tuple[int, int, str]]) -> str:
        """Normalise, with each (start, end, token) span replaced by its placeholder token.

        Order numbers become "ordernum" so rules can say "when will ordernum arrive"
        without the digits splitting into stray tokens.
        """
        if not spans:
            return self.normalize(text)
        parts: List[str] = []
        pos = 0
        for start, end, token in sorted(spans):
            if start < pos:
                continue
            parts.append(text[pos:start])
            parts.append(" %s " % token)
            pos = end
        parts.append(text[pos:])
        return self.normalize("".join(parts))
