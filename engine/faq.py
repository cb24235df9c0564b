"""FAQ retrieval: BM25 over the help-centre corpus, with the FAQ_LOADING toggle.

Both modes build the same inverted index by streaming the corpus once; they
differ only in where article bodies live:

* ``eager`` (the guide's "Current"): every ``Article`` is kept in memory.
* ``lazy``: no bodies are kept; ``get()`` loads the batch of ``batch_size``
  consecutive article ids that contains the article with one query and keeps
  at most ``cache_batches`` batches in an LRU.

Postings are compact: per term, an ``array('I')`` of document numbers and a
parallel ``array('d')`` of precomputed BM25 term weights (idf and length norm
folded in at build time), so a query is a sum over a few arrays. Scoring is
exact BM25 (k1=1.2, b=0.75) with the title counted twice.

Python 3.9-compatible on purpose (the PyPy toggle runs this code).
"""

from __future__ import annotations

import heapq
import json
import math
import re
import sqlite3
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from engine.config import FAQ_LOADINGS
from engine.types import Article, FaqHit

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3  # title terms count twice: a title is the question the article answers

STOPWORDS = frozenset(
    """
    a about above after again all also am an and any are as at be been being before both
    but by can could did do does doing don done for from had has have having he her here
    hers him his how i if im in into is it its itself just me more most my myself no nor
    not now of off on once only or other our ours out own please same she should so some
    such than that the their theirs them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours hi hello hey thanks thank s t ll ve d m re
    """.split()
)

_TOKEN = re.compile(r"[a-z0-9]+")
_STEMS: Dict[str, str] = {}
_STEM_MEMO_MAX = 200000


def _undouble(w: str) -> str:
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiousy":
        return w[:-1]
    return w


def _stem(w: str) -> str:
    """A tiny, deterministic suffix stripper: plurals, -ing, -ed, final -e.

    Not Porter: just enough that "returning items" and "return item" meet, and
    the same function runs on queries and documents, so odd stems still match.
    """
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    return _undouble(w)


def stem(word: str) -> str:
    """Memoised ``_stem`` (vocabularies are small; the memo is cleared if it grows)."""
    s = _STEMS.get(word)
    if s is None:
        if len(_STEMS) >= _STEM_MEMO_MAX:
            _STEMS.clear()
        s = _STEMS[word] = _stem(word)
    return s


def tokenize(text: str) -> List[str]:
    """Lower-case, split on non-alphanumerics, drop stopwords, stem."""
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def _article(row: Tuple[Any, ...]) -> Article:
    tags = row[4]
    try:
        parsed = json.loads(tags) if tags else []
    except ValueError:
        parsed = [t.strip() for t in str(tags).split(",") if t.strip()]
    return Article(int(row[0]), row[1], row[2], row[3], tuple(str(t) for t in parsed))


_COLUMNS = "article_id, title, body, category, tags"
_LOOKUP_COST = 4  # a bisect look-up costs about as much as scanning 4 postings (CPython)
_EPS = 1e-9  # slack for float rounding in the pruning bounds, so pruning never changes results


class FaqIndex:
    """BM25 search and article look-up over the FAQ SQLite corpus."""

    def __init__(self, faq_db: Path, loading: str = "eager", batch_size: int = 64,
                 cache_batches: int = 16, pooling: bool = True) -> None:
        if loading not in FAQ_LOADINGS:
            raise ValueError("loading=%r; allowed: %s" % (loading, ", ".join(FAQ_LOADINGS)))
        if batch_size < 1 or cache_batches < 1:
            raise ValueError("batch_size and cache_batches must be >= 1")
        self.faq_db = Path(faq_db)
        if not self.faq_db.is_file():
            raise FileNotFoundError(str(self.faq_db))
        self.loading = loading
        self.batch_size = batch_size
        self.cache_batches = cache_batches
        self.pooling = pooling
        self._uri = self.faq_db.resolve().as_uri() + "?mode=ro"
        self._lock = threading.Lock()
        self._conn: Optional[sqlite3.Connection] = None
        self.titles: List[str] = []  # by document number (kept in both modes: small)
        self._ids = array("I")  # document number -> article_id (ascending)
        self._articles: Dict[int, Article] = {}  # eager only
        self._batches: OrderedDict[int, Dict[int, Article]] = OrderedDict()  # lazy only
        self.batches_loaded = 0
        self.batch_hits = 0
        self.batch_misses = 0
        self._postings: Dict[str, Tuple[array, array]] = {}
        self._max_weight: Dict[str, float] = {}
        self.idf: Dict[str, float] = {}
        self._build()
        if pooling and loading == "lazy":
            self._conn = self._connect(check_same_thread=False)

    # ---- building ----
    def _connect(self, check_same_thread: bool = True) -> sqlite3.Connection:
        return sqlite3.connect(self._uri, uri=True, check_same_thread=check_same_thread)

    def _build(self) -> None:
        """Stream the corpus once: document lengths, term frequencies, then BM25 weights."""
        eager = self.loading == "eager"
        docs: Dict[str, array] = {}
        tfs: Dict[str, array] = {}
        lengths = array("I")
        conn = self._connect()
        try:
            cursor = conn.execute("SELECT %s FROM articles ORDER BY article_id" % _COLUMNS)
            for row in cursor:
                n = len(self._ids)
                article_id, title, body = int(row[0]), row[1], row[2]
                counts: Dict[str, int] = {}
                for t in tokenize(title):
                    counts[t] = counts.get(t, 0) + TITLE_WEIGHT
                for t in tokenize(body):
                    counts[t] = counts.get(t, 0) + 1
                for t, c in counts.items():
                    posting = docs.get(t)
                    if posting is None:
                        posting = docs[t] = array("I")
                        tfs[t] = array("I")
                    posting.append(n)
                    tfs[t].append(c)
                lengths.append(sum(counts.values()))
                self._ids.append(article_id)
                self.titles.append(title)
                if eager:
                    self._articles[article_id] = _article(row)
        finally:
            conn.close()
        n_docs = len(self._ids)
        avgdl = (sum(lengths) / n_docs) if n_docs else 1.0
        norms = [K1 * (1.0 - B + B * dl / avgdl) for dl in lengths]
        for t, posting in docs.items():
            df = len(posting)
            idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            weights = array("d", [idf * tf * (K1 + 1.0) / (tf + norms[d])
                                  for d, tf in zip(posting, tfs[t])])
            self._postings[t] = (posting, weights)
            self.idf[t] = idf
            self._max_weight[t] = max(weights)
        self.n_docs = n_docs
        self.avgdl = avgdl

    # ---- search ----
    def search(self, query: str, k: int = 3) -> List[FaqHit]:
        """Top-k articles by BM25; ties go to the lower article_id; [] if no term is known.

        Exact, but prunes like MaxScore: terms are scored highest-weight first;
        once the weights still to come cannot lift an unseen article to the
        current k-th score, the remaining (common, low-idf) terms only update
        the candidates that can still make the top k, found by bisection.
        """
        terms = self._query_terms(query)
        if not terms or k < 1:
            return []
        postings = self._postings
        total = remaining = sum(self._max_weight[t] for t in terms)
        acc: Dict[int, float] = {}
        get = acc.get
        cands: List[int] = []
        i = 0
        while i < len(terms):
            t = terms[i]
            i += 1
            remaining -= self._max_weight[t]
            docs, weights = postings[t]
            for d, w in zip(docs, weights):
                acc[d] = get(d, 0.0) + w
            # the k-th score is at most what was scored so far: only then is a check worth it
            if i < len(terms) and len(acc) >= k and remaining < total - remaining:
                kth = heapq.nlargest(k, acc.values())[-1]
                if remaining + _EPS < kth:  # no unseen article can reach the top k any more
                    cands = [d for d, s in acc.items() if s + remaining + _EPS >= kth]
                    rest = sum(len(postings[u][0]) for u in terms[i:])
                    if len(cands) * (len(terms) - i) * _LOOKUP_COST < rest:
                        break  # cheaper to look the few candidates up than to scan postings
        else:
            return self._top(acc, k)
        cands.sort()
        for t in terms[i:]:
            docs, weights = postings[t]
            n = len(docs)
            lo = 0
            for d in cands:
                j = bisect_left(docs, d, lo, n)
                if j < n and docs[j] == d:
                    acc[d] += weights[j]
                lo = j
        return self._top({d: acc[d] for d in cands}, k)

    def search_exhaustive(self, query: str, k: int = 3) -> List[FaqHit]:
        """Reference BM25 without pruning (same term order, so identical scores); for tests."""
        terms = self._query_terms(query)
        if not terms or k < 1:
            return []
        acc: Dict[int, float] = {}
        get = acc.get
        for t in terms:
            docs, weights = self._postings[t]
            for d, w in zip(docs, weights):
                acc[d] = get(d, 0.0) + w
        return self._top(acc, k)

    def _query_terms(self, query: str) -> List[str]:
        """Known distinct query terms, highest possible contribution first (deterministic)."""
        mw = self._max_weight
        return sorted({t for t in tokenize(query) if t in mw}, key=lambda t: (-mw[t], t))

    def _top(self, acc: Dict[int, float], k: int) -> List[FaqHit]:
        if len(acc) > k:
            kth = heapq.nlargest(k, acc.values())[-1]
            top = [(-s, d) for d, s in acc.items() if s >= kth]
        else:
            top = [(-s, d) for d, s in acc.items()]
        top.sort()
        ids, titles = self._ids, self.titles
        return [FaqHit(ids[d], titles[d], -neg) for neg, d in top[:k]]

    # ---- articles ----
    def _known(self, article_id: int) -> bool:
        i = bisect_left(self._ids, article_id)
        return i < len(self._ids) and self._ids[i] == article_id

    def get(self, article_id: int) -> Optional[Article]:
        """The full article (body included), or None for an unknown id."""
        if self.loading == "eager":
            return self._articles.get(article_id)
        if not self._known(article_id):
            return None
        key = article_id // self.batch_size
        with self._lock:
            batch = self._batches.get(key)
            if batch is not None:
                self._batches.move_to_end(key)
                self.batch_hits += 1
                return batch.get(article_id)
            self.batch_misses += 1
        batch = self._load_batch(key)  # outside the lock: other threads keep hitting
        with self._lock:
            self.batches_loaded += 1
            self._batches[key] = batch
            self._batches.move_to_end(key)
            while len(self._batches) > self.cache_batches:
                self._batches.popitem(last=False)
        return batch.get(article_id)

    def _load_batch(self, key: int) -> Dict[int, Article]:
        sql = "SELECT %s FROM articles WHERE article_id >= ? AND article_id < ?" % _COLUMNS
        args = (key * self.batch_size, (key + 1) * self.batch_size)
        conn = self._conn
        if conn is not None:
            with self._lock:
                rows = conn.execute(sql, args).fetchall()
        else:
            conn = self._connect()
            try:
                rows = conn.execute(sql, args).fetchall()
            finally:
                conn.close()
        return {int(r[0]): _article(r) for r in rows}

    def snippet(self, article: Article, query: str, max_chars: int = 240) -> str:
        """``snippet`` with this corpus's idf weights (rare query words count more)."""
        return snippet(article, query, max_chars, self.idf)

    # ---- bookkeeping ----
    def stats(self) -> Dict[str, Any]:
        """Memory and cache figures; batch_* keys only in lazy mode (eager has no batches)."""
        out: Dict[str, Any] = {
            "loading": self.loading, "articles": self.n_docs, "terms": len(self._postings),
            "postings": sum(len(p[0]) for p in self._postings.values()),
        }
        if self.loading == "eager":
            out["articles_in_memory"] = len(self._articles)
        else:
            with self._lock:
                out["articles_in_memory"] = sum(len(b) for b in self._batches.values())
                out["batches_in_memory"] = len(self._batches)
                out["batches_loaded"] = self.batches_loaded
                out["batch_hits"] = self.batch_hits
                out["batch_misses"] = self.batch_misses
        return out

    def close(self) -> None:
        """Close the pooled connection (lazy mode); safe to call twice."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def snippet(article: Article, query: str, max_chars: int = 240,
            weights: Optional[Mapping[str, float]] = None) -> str:
    """The body sentence that best matches the query, then other matching ones that fit.

    A sentence scores the sum of the weights (1 each by default) of the distinct
    query terms it contains; ties go to the earlier sentence. The best one leads;
    further matching sentences follow in body order while ``max_chars`` allows.
    No match gives the opening sentences. Over-long text is cut at a word
    boundary with an ellipsis.
    """
    sentences = [x.strip() for x in _SENTENCE_SPLIT.split(article.body) if x.strip()]
    if not sentences:
        return ""
    qterms = set(tokenize(query))
    scores: List[float] = []
    for sentence in sentences:
        common = qterms.intersection(tokenize(sentence)) if qterms else set()
        scores.append(sum(weights.get(t, 0.0) for t in common) if weights is not None
                      else float(len(common)))
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    if scores[best] > 0:
        ranked = sorted((i for i in range(len(sentences)) if scores[i] > 0 and i != best),
                        key=lambda i: (-scores[i], i))
    else:
        best, ranked = 0, list(range(1, len(sentences)))  # the opening and what follows
    chosen: List[int] = []
    size = len(sentences[best])
    for i in ranked:
        if size + 1 + len(sentences[i]) <= max_chars:
            chosen.append(i)
            size += 1 + len(sentences[i])
        elif scores[best] == 0:
            break  # keep the opening contiguous
    text = " ".join([sentences[best]] + [sentences[i] for i in sorted(chosen)])
    if len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars - 1)
        text = text[:cut if cut > 0 else max_chars - 1].rstrip(" ,;:") + "…"
    return text
