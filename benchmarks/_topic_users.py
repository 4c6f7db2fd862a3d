"""Topic users for ``recommend_quality.py --user-kind topic``: a mined phrase defines a user, and
the phrase is removed from every paper's text before any method sees it.

**Mining** (:func:`mine_phrases`; no phrase is chosen by hand): the 2- and 3-word n-grams of the
lower-cased title + abstract, words being runs of ``[a-z0-9]``, every word of the n-gram
alphabetic, at least 3 letters long and not one of the product's stop words
(``enrich.words.STOP_WORDS``, which also holds abstracts' boilerplate: "approach", "achieve",
...). A singular n-gram absorbs its plurals (the last word + "s", + "es", "y" -> "ies"); a 2-gram that
is mostly (80 %) a fragment of one 3-gram is dropped for it. A phrase qualifies when, among the
papers first announced before the first test week, its document frequency lies in
``BAND`` (0.2 %-2 %) and at least ``MIN_TITLES`` (3) titles contain it (a topic names papers;
boilerplate such as "extensive experiments demonstrate" names none). Qualifying phrases are
split into tune / report by the first byte of SHA-1(phrase) (``split_of``, as for authors'
names) and visited in the order of SHA-1("order:" + phrase) — a deterministic sample; a phrase
containing, or contained in, one already taken (as the pattern finds it) is skipped.
The document frequencies are counted on the n-grams; which papers *contain* a phrase is then
decided by its pattern (:func:`pattern`), and the band and title rules are checked again on it.

**Users** (:func:`topic_users`): for a phrase and a test week W with at least ``MIN_TARGETS``
(5) candidates containing it, the library is ``LIBRARY`` (10) papers sampled (seeded by the
phrase and W) from the papers before W containing it — 10: the median author user's library is
5-6 papers and the author users range from 3 to 100; 10 is a modest library that the 0.2 % band
(>= ~50 papers before W) always fills — and the targets are every candidate of W containing it.
Phrases are taken in the order above until ``--users`` users exist (a phrase gives one user
per week it qualifies in, up to 4).

**Stripping** (:func:`strip`): every occurrence of the phrase, case-insensitive, bounded by
non-alphanumeric characters, its words separated by any run of non-alphanumeric characters
("self-supervised", "graph\\nneural network", across a full stop too), its plurals
too, is replaced by a space, repeatedly until none is left (removing one can join two halves
into a new one).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dailypapers.enrich.words import STOP_WORDS

BAND = (0.002, 0.02)  # document frequency among the papers before the first test week
MIN_TITLES = 3
FRAGMENT = 0.8
MIN_TARGETS = 5
LIBRARY = 10
SIZES = (2, 3)

_WORD = re.compile(r"[a-z0-9]+")


def split_of(phrase: str) -> str:
    return "tune" if hashlib.sha1(phrase.encode()).digest()[0] % 2 else "report"


def _order(phrase: str) -> bytes:
    return hashlib.sha1(f"order:{phrase}".encode()).digest()


def grams(text: str) -> set[str]:
    """The 2- and 3-word n-grams of ``text`` that may be phrases (see the module docstring)."""
    words = _WORD.findall(text.lower())
    good = [len(w) >= 3 and w.isalpha() and w not in STOP_WORDS for w in words]
    found: set[str] = set()
    for n in SIZES:
        for i in range(len(words) - n + 1):
            if all(good[i : i + n]):
                found.add(" ".join(words[i : i + n]))
    return found


def plurals(phrase: str) -> list[str]:
    """The phrase's plurals formed by a suffix on its last word: + "s", + "es", "y" -> "ies"."""
    found = [f"{phrase}s", f"{phrase}es"]
    if phrase.endswith("y"):
        found.append(f"{phrase[:-1]}ies")
    return found


def singulars(gram: str) -> list[str]:
    """The n-grams of which ``gram`` would be a plural (:func:`plurals`)."""
    found = []
    if gram.endswith("s"):
        found.append(gram[:-1])
    if gram.endswith("es"):
        found.append(gram[:-2])
    if gram.endswith("ies"):
        found.append(f"{gram[:-3]}y")
    return found


def pattern(phrase: str) -> re.Pattern[str]:
    """Matches the phrase or a plural of it (:func:`plurals`) in any case, word-bounded, its
    words separated by any run of characters other than letters and digits."""
    *head, last = phrase.split()
    ending = re.escape(last) + "(?:e?s)?"
    if last.endswith("y"):
        ending = f"(?:{ending}|{re.escape(last[:-1])}ies)"
    body = r"[^a-z0-9]+".join([*(re.escape(w) for w in head), ending])
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])", re.IGNORECASE)


def strip(text: str, compiled: re.Pattern[str]) -> str:
    """``text`` without the phrase (every occurrence, until none is left)."""
    while True:
        stripped = compiled.sub(" ", text)
        if stripped == text:
            return text
        text = stripped


def near_duplicate(phrase: str, taken: Iterable[str]) -> bool:
    """Whether ``phrase`` contains, or is contained in, one of ``taken`` (as :func:`pattern`
    finds it: "neural network" is in "graph neural networks")."""
    compiled = pattern(phrase)
    return any(compiled.search(t) or pattern(t).search(phrase) for t in taken)


def candidate_phrases(texts: Sequence[str], titles: Sequence[str]) -> list[str]:
    """Every n-gram of ``texts`` (the papers before the first test week) whose document frequency
    (its plurals counted with it) lies in ``BAND``, which ``MIN_TITLES`` titles contain and
    which is no fragment (a 2-gram, most of whose papers — ``FRAGMENT`` — have the same 3-gram
    around it: "artificial general" of "artificial general intelligence"), in the sampling
    order."""
    df: Counter[str] = Counter()
    for text in texts:
        df.update(grams(text))
    title_df: Counter[str] = Counter()
    for title in titles:
        title_df.update(grams(title))
    low, high = BAND[0] * len(texts), BAND[1] * len(texts)

    def with_plurals(gram: str) -> int:
        return df.get(gram, 0) + sum(df.get(g, 0) for g in plurals(gram))

    fragments = set()
    for gram in df:
        words = gram.split()
        if len(words) == 3 and not any(g in df for g in singulars(gram)):
            count = with_plurals(gram)
            for part in (" ".join(words[:2]), " ".join(words[1:])):
                if part in df and count >= FRAGMENT * with_plurals(part):
                    fragments.add(part)
    found = []
    for gram in df:
        if gram in fragments or any(g in df for g in singulars(gram)):
            continue  # (a plural is counted with its singular)
        # a paper with both forms counts twice in the sum: the exact count is between the
        # largest form's and the sum (and is checked again on the pattern)
        largest = max(df.get(g, 0) for g in (gram, *plurals(gram)))
        titled = title_df.get(gram, 0) + sum(title_df.get(g, 0) for g in plurals(gram))
        if with_plurals(gram) >= low and largest <= high and titled >= MIN_TITLES:
            found.append(gram)
    found.sort(key=_order)
    return found


@dataclass
class Topic:
    phrase: str
    rows: np.ndarray  # corpus rows whose text contains it, sorted


def mine_phrases(
    texts: Sequence[str],
    titles: Sequence[str],
    day: np.ndarray,
    first_week_start: int,
    split: str,
    enough: int,
    week_counts: Iterable[tuple[int, int]] = (),
) -> list[Topic]:
    """Phrases of ``split`` in the sampling order, near-duplicates skipped, each with the rows
    containing it, until ``enough`` (phrase, week) pairs qualify in ``week_counts`` (the test
    weeks' (start, end) days; none given: ``enough`` phrases)."""
    before = np.flatnonzero(day < first_week_start)
    weeks = list(week_counts)
    low, high = BAND[0] * len(before), BAND[1] * len(before)
    taken: list[Topic] = []
    pairs = 0
    for phrase in candidate_phrases([texts[i] for i in before], [titles[i] for i in before]):
        if split_of(phrase) != split or near_duplicate(phrase, (t.phrase for t in taken)):
            continue
        compiled = pattern(phrase)
        rows = np.array([i for i, t in enumerate(texts) if compiled.search(t)], dtype=np.int64)
        early = rows[day[rows] < first_week_start]
        titled = sum(1 for i in early if compiled.search(titles[i]))
        if not low <= len(early) <= high or titled < MIN_TITLES:
            continue
        taken.append(Topic(phrase, rows))
        if weeks:
            pairs += sum(
                1
                for start, end in weeks
                if ((day[rows] >= start) & (day[rows] <= end)).sum() >= MIN_TARGETS
            )
        else:
            pairs += 1
        if pairs >= enough:
            break
    return taken


def library(topic: Topic, day: np.ndarray, week: int, start: int) -> np.ndarray | None:
    """``LIBRARY`` rows sampled from the topic's papers before ``start`` (oldest first), seeded
    by the phrase and the week; None when there are fewer."""
    pool = topic.rows[day[topic.rows] < start]
    if len(pool) < LIBRARY:
        return None
    seed = int.from_bytes(hashlib.sha1(f"{topic.phrase}|{week}".encode()).digest()[:4], "little")
    picked = np.random.default_rng(seed).choice(pool, LIBRARY, replace=False)
    return np.sort(picked)


# --- What the methods see: tf-idf rows recomputed from the stripped text (the phrase's own
# n-gram columns dropped), the embeddings of the affected papers recomputed.


def phrase_columns(phrase: str, lookup: dict[str, int]) -> list[int]:
    """The columns of a vocabulary that are the phrase itself or its plural (a 2-word phrase
    under a 1-2-gram vocabulary; none for a 3-word one)."""
    return [lookup[g] for g in (phrase, *plurals(phrase)) if g in lookup]


def replace_rows(x: Any, rows: np.ndarray, new: Any, drop: Sequence[int]) -> Any:
    """SciPy CSR ``x`` with ``rows`` replaced by the rows of ``new`` and the columns ``drop``
    zeroed (each row touched by that renormalised to unit length)."""
    from scipy.sparse import csr_matrix, diags
    from sklearn.preprocessing import normalize

    keep = np.ones(x.shape[0])
    keep[rows] = 0.0
    scatter = csr_matrix(
        (np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(x.shape[0], len(rows))
    )
    out = (diags(keep) @ x + scatter @ new).tocsr()
    if drop:
        mask = np.ones(x.shape[1])
        mask[list(drop)] = 0.0
        out = normalize((out @ diags(mask)).tocsr(), norm="l2", copy=False)
    out.eliminate_zeros()
    out.sort_indices()
    assert all(out[:, c].nnz == 0 for c in drop)
    return out.astype(np.float32)


def listing_texts(ids: Sequence[str]) -> list[str]:
    """The text each paper's cached embedding was computed from (``embed_cache.py``: the latest
    listing's ``paper_text(title, abstract)``)."""
    from embed_cache import listing_papers

    from dailypapers.embeddings import paper_text

    papers = listing_papers()
    return [paper_text(*papers[i]) for i in ids]


def reembed(
    topics: Sequence[Topic], ids: Sequence[str], cache: Any, cached: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """phrase -> (rows, unit vectors): every paper whose text or embedded text contains the
    phrase, embedded again from its embedded text with the phrase stripped, by the cache's model
    (ONNX all-MiniLM-L6-v2). Kept in ``cache / topic-embeddings-<digest>.npy`` (+ ``.keys.json``)."""
    import json
    import os
    import time

    embedded = listing_texts(ids)
    plan: list[tuple[str, np.ndarray]] = []
    texts: list[str] = []
    for topic in topics:
        compiled = pattern(topic.phrase)
        also = [i for i, t in enumerate(embedded) if compiled.search(t)]
        rows = np.union1d(topic.rows, np.array(also, dtype=np.int64)).astype(np.int64)
        plan.append((topic.phrase, rows))
        for i in rows:
            texts.append(strip(embedded[i], compiled))
            assert not compiled.search(texts[-1])
    keys = [[phrase, [ids[i] for i in rows]] for phrase, rows in plan]
    digest = hashlib.sha1(json.dumps(["all-MiniLM-L6-v2 onnx", keys]).encode()).hexdigest()[:12]
    path = cache / f"topic-embeddings-{digest}.npy"
    if path.is_file():
        vectors = np.load(path)
        print(f"re-embedded rows from {path.name} ({len(vectors)} rows)")
    else:
        os.environ["DAILYPAPERS_EMBEDDING_BACKEND"] = "onnx"
        from dailypapers.config import Settings
        from dailypapers.embeddings import load_embedder

        settings = Settings(data_dir=cache / "data")
        assert settings.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
        embedder = load_embedder(settings)
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = embedder.encode(texts, batch_size=32).astype(np.float32)
        print(
            f"re-embedded {len(texts)} rows with the phrase stripped in "
            f"{time.perf_counter() - wall:.0f} s ({time.process_time() - cpu:.0f} s CPU)"
        )
        # the control: the same model on the unstripped text of some rows, against the cache
        # (int8 dynamic quantisation makes a row depend a little on its batch)
        some = np.concatenate([rows for _, rows in plan])[:64]
        again = embedder.encode([embedded[i] for i in some], batch_size=32)
        cosine = (again * cached[some]).sum(axis=1)
        print(f"control: unstripped text re-embedded vs the cache, cosine min {cosine.min():.4f}")
        np.save(path, vectors)
        path.with_suffix(".keys.json").write_text(json.dumps(keys))
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    at = 0
    for phrase, rows in plan:
        found[phrase] = (rows, vectors[at : at + len(rows)])
        at += len(rows)
    return found


def topic_methods(
    methods_class: type, base: Any, topics: dict[str, Topic], embedded: dict[str, Any]
) -> Any:
    """``recommend_quality.Methods`` over the corpus with the current user's phrase stripped:
    ``prepare(user)`` switches phrase (the users come grouped by phrase); the text, the
    embeddings, the product's tf-idf and arxiv-sanity-lite's are the stripped corpus's (the
    vocabularies are the ones fitted on the original text: their IDF has seen the phrase, but
    the phrase's own n-gram columns are dropped)."""
    from dataclasses import replace as _replace

    from dailypapers.ranking.sparse import Csr

    class TopicMethods(methods_class):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(base.corpus, base.weeks)
            self.phrase = ""

        def prepare(self, user: Any) -> None:
            if user.name == self.phrase:
                return
            topic, compiled = topics[user.name], pattern(user.name)
            text = list(base.corpus.text)
            for i in topic.rows:
                text[i] = strip(text[i], compiled)
            assert not any(compiled.search(t) for t in text)
            rows, vectors = embedded[user.name]
            assert set(topic.rows.tolist()) <= set(rows.tolist())
            matrix = base.corpus.vectors.copy()
            matrix[rows] = vectors
            self.corpus = _replace(base.corpus, text=text, vectors=matrix)
            self.phrase, self.topic = user.name, topic
            self.terms, self.tfidf = {}, {}

        def product_terms(self, week: int) -> Any:
            from scipy.sparse import csr_matrix

            if week not in self.terms:
                vocabulary, x = base.product_terms(week)
                width = len(vocabulary.terms)
                rows = self.topic.rows
                new = vocabulary.transform([self.corpus.text[i] for i in rows])
                full = csr_matrix((x.data, x.indices, x.indptr), shape=(x.rows, width))
                part = csr_matrix((new.data, new.indices, new.indptr), shape=(new.rows, width))
                drop = phrase_columns(self.phrase, vocabulary.index())
                out = replace_rows(full, rows, part, drop)
                matrix = Csr(out.indptr.astype(np.int64), out.indices.astype(np.int32), out.data)
                self.terms[week] = (vocabulary, matrix)
            return self.terms[week]

        def _tfidf(self, week: int) -> Any:
            if week not in self.tfidf:
                rows, x = base._tfidf(week)
                vectorizer = base.vectorizers[week]
                affected = np.intersect1d(self.topic.rows, rows)
                at = np.searchsorted(rows, affected)
                new = vectorizer.transform([self.corpus.text[i] for i in affected])
                drop = phrase_columns(self.phrase, vectorizer.vocabulary_)
                self.tfidf[week] = (rows, replace_rows(x, at, new.astype(np.float32), drop))
            return self.tfidf[week]

    return TopicMethods()


def topic_users(
    texts: Sequence[str],
    titles: Sequence[str],
    day: np.ndarray,
    weeks: Sequence[tuple[int, int]],
    split: str,
    limit: int,
) -> tuple[list[tuple[str, int, np.ndarray, set[int]]], dict[str, Topic]]:
    """(phrase, week index, library rows, target rows) for up to ``limit`` users, grouped by
    phrase in the sampling order, and the phrases used."""
    topics = mine_phrases(texts, titles, day, weeks[0][0], split, limit, weeks)
    users: list[tuple[str, int, np.ndarray, set[int]]] = []
    for topic in topics:
        for w, (start, end) in enumerate(weeks):
            during = topic.rows[(day[topic.rows] >= start) & (day[topic.rows] <= end)]
            positives = library(topic, day, w, start)
            if len(during) >= MIN_TARGETS and positives is not None:
                users.append((topic.phrase, w, positives, set(during.tolist())))
    users = users[:limit]
    used = {u[0] for u in users}
    return users, {t.phrase: t for t in topics if t.phrase in used}


def bootstrap_groups(
    values: np.ndarray, groups: list[str], rounds: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """The 95% CI of the mean over users when whole groups (a topic user's phrase: its weeks'
    users are not independent) are resampled."""
    names = sorted(set(groups))
    at = np.array([names.index(g) for g in groups])
    sums = np.bincount(at, weights=values, minlength=len(names))
    counts = np.bincount(at, minlength=len(names)).astype(np.float64)
    picks = np.random.default_rng(seed).integers(0, len(names), (rounds, len(names)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def by_phrase(results: dict[str, np.ndarray], phrases: list[str]) -> None:
    """The shipped model minus each method with the CIs of a bootstrap over phrases."""
    print(
        f"\nthe same differences, bootstrap over the {len(set(phrases))} phrases (a phrase's "
        "users resampled together):"
    )
    for name, values in results.items():
        if name != "shipped":
            diff = results["shipped"] - values
            p_lo, p_hi = bootstrap_groups(diff[:, 0], phrases)
            n_lo, n_hi = bootstrap_groups(diff[:, 1], phrases)
            print(
                f"  vs {name:20} P@10 {diff[:, 0].mean():+.4f} [{p_lo:+.4f}, {p_hi:+.4f}]"
                f"  nDCG@10 {diff[:, 1].mean():+.4f} [{n_lo:+.4f}, {n_hi:+.4f}]"
            )


def topic_setup(methods: Any, user_class: type, split: str, limit: int) -> tuple[Any, list[Any]]:
    """Topic users (``_topic_users.py``) and the methods over the corpus each one's phrase is
    stripped from."""
    import time

    from embed_cache import CACHE

    corpus = methods.corpus
    wall, cpu = time.perf_counter(), time.process_time()
    found, topics = topic_users(corpus.text, corpus.titles, corpus.day, methods.weeks, split, limit)
    users = [user_class(phrase, w, positives, targets) for phrase, w, positives, targets in found]
    if not users:
        return methods, users
    print(
        f"{len(topics)} phrases mined in {time.perf_counter() - wall:.0f} s "
        f"({time.process_time() - cpu:.0f} s CPU): " + "; ".join(sorted(topics))
    )
    print(
        "targets per user: median "
        f"{np.median([len(u.targets) for u in users]):.0f}, "
        f"min {min(len(u.targets) for u in users)}, max {max(len(u.targets) for u in users)}"
    )
    embedded = reembed(list(topics.values()), corpus.ids, CACHE, corpus.vectors)
    return topic_methods(type(methods), methods, topics, embedded), users
