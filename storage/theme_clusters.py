"""The text work behind themes: TF-IDF, latent semantic analysis and k-means, all local."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

MIN_ANSWERS = 10  # fewer answers with words than this are read one by one, not clustered
MAX_DIMENSIONS = 64
SAMPLE = 2000  # answers used to choose how many themes there are
TRIES = 8  # k-means starts per choice of k: short answers have many poor local optima
FIT = 0.2  # cosine similarity to a theme's centre an answer needs to belong to it
CLOSE_CENTRES = 0.3  # centres this similar share their words: one theme, not two
GOOD_ENOUGH = 0.9  # the fewest themes whose silhouette is this close to the best one wins


@dataclass
class Clustering:
    """Which cluster each answer fits (-1: none) and how close it is to every cluster."""

    count: int
    assigned: np.ndarray
    similarity: np.ndarray
    closeness: np.ndarray
    weights: sparse.csr_matrix | None = None
    vocabulary: np.ndarray | None = None

    @classmethod
    def empty(cls, size: int) -> Clustering:
        return cls(
            count=0,
            assigned=np.full(size, -1),
            similarity=np.zeros(size),
            closeness=np.zeros((size, 0)),
        )

    def nearest_similarity(self, clusters: list[int]) -> np.ndarray:
        """For each answer, its similarity to the closest of `clusters` (0 when none)."""
        if not clusters:
            return np.zeros(len(self.assigned))
        return self.closeness[:, clusters].max(axis=1)

    def top_terms(self, cluster: int, count: int) -> list[str]:
        """The words that most set this cluster's answers apart from the rest."""
        assert self.weights is not None and self.vocabulary is not None
        inside = self.assigned == cluster
        with_words = np.asarray(self.weights.getnnz(axis=1) > 0)
        outside = with_words & ~inside
        score = np.asarray(self.weights[inside].mean(axis=0)).ravel()
        if outside.any():
            score = score - np.asarray(self.weights[outside].mean(axis=0)).ravel()
        ranked = sorted(range(len(score)), key=lambda i: (-score[i], self.vocabulary[i]))
        chosen: list[str] = []
        for index in ranked[: count * 4]:
            if score[index] <= 0 or len(chosen) == count:
                break
            _add_term(chosen, str(self.vocabulary[index]))
        return chosen


def _add_term(chosen: list[str], term: str) -> None:
    """Add `term`, letting a pair ("play park") stand in for its words already chosen."""
    parts = term.split()
    if len(parts) == 1:
        if not any(term in existing.split() for existing in chosen):
            chosen.append(term)
        return
    present = [word for word in parts if word in chosen]
    if not present:
        if not any(set(parts) <= set(existing.split()) for existing in chosen):
            chosen.append(term)
        return
    chosen[chosen.index(present[0])] = term
    for word in present[1:]:
        chosen.remove(word)


def _same(doc: list[str]) -> list[str]:
    return doc


def cluster_answers(documents: list[list[str]], *, max_themes: int, seed: int) -> Clustering:
    """Cluster answers given as their terms; answers sharing no term with another fit none."""
    # One thread: OpenMP workers spin-wait and slow k-means down many times on a busy machine.
    with threadpool_limits(limits=1):
        return _cluster(documents, max_themes=max_themes, seed=seed)


def _cluster(documents: list[list[str]], *, max_themes: int, seed: int) -> Clustering:
    size = len(documents)
    if sum(1 for doc in documents if doc) < MIN_ANSWERS or max_themes < 1:
        return Clustering.empty(size)
    vectorizer = TfidfVectorizer(analyzer=_same, min_df=2, sublinear_tf=True, dtype=np.float32)
    try:
        weights = vectorizer.fit_transform(documents).tocsr()
    except ValueError:  # no word is shared by two answers
        return Clustering.empty(size)
    rows = np.flatnonzero(weights.getnnz(axis=1) > 0)
    if len(rows) < MIN_ANSWERS:
        return Clustering.empty(size)
    if weights.shape[1] <= MAX_DIMENSIONS:  # few words: they are the dimensions already
        reduced = normalize(weights[rows].toarray().astype(np.float64))
    else:
        svd = TruncatedSVD(n_components=MAX_DIMENSIONS, random_state=seed)
        reduced = normalize(svd.fit_transform(weights[rows]))
    with warnings.catch_warnings():
        # Repeated answers ("more buses please" forty times) are fewer points than clusters.
        warnings.simplefilter("ignore", ConvergenceWarning)
        centres = normalize(_choose_centres(reduced, max_themes, seed))
    groups = _merge_close(centres)
    to_centres = reduced @ centres.T
    closeness = np.zeros((size, len(groups)), dtype=np.float64)
    for theme, members in enumerate(groups):
        closeness[rows, theme] = to_centres[:, members].max(axis=1)
    best = closeness.argmax(axis=1)
    similarity = closeness[np.arange(size), best]
    assigned = np.where(similarity >= FIT, best, -1)
    return Clustering(
        count=len(groups),
        assigned=assigned,
        similarity=similarity,
        closeness=closeness,
        weights=weights,
        vocabulary=vectorizer.get_feature_names_out(),
    )


def _choose_centres(points: np.ndarray, max_themes: int, seed: int) -> np.ndarray:
    """Pick how many themes by silhouette on a sample, then settle the centres on all answers."""
    rng = np.random.default_rng(seed)
    sample = points
    if len(points) > SAMPLE:
        sample = points[np.sort(rng.choice(len(points), SAMPLE, replace=False))]
    distinct = len(np.unique(sample.round(6), axis=0))
    most = min(max_themes, len(sample) // 5, distinct)
    scored: list[tuple[float, np.ndarray]] = []
    for k in range(2, most + 1):
        model = KMeans(n_clusters=k, n_init=TRIES, random_state=seed).fit(sample)
        if len(set(model.labels_)) < 2:
            continue
        score = float(silhouette_score(sample, model.labels_, metric="cosine"))
        scored.append((score, model.cluster_centers_))
    if not scored:
        return points.mean(axis=0, keepdims=True)
    best = max(score for score, _ in scored)
    chosen = next(centres for score, centres in scored if score >= GOOD_ENOUGH * best)
    final = KMeans(n_clusters=len(chosen), init=chosen, n_init=1, random_state=seed)
    return final.fit(points).cluster_centers_


def _merge_close(centres: np.ndarray) -> list[list[int]]:
    """Group centres that are all close to one another (complete link), so themes never chain."""
    similar = centres @ centres.T
    groups = [[index] for index in range(len(centres))]
    pairs = sorted(
        ((similar[i, j], i, j) for i in range(len(centres)) for j in range(i + 1, len(centres))),
        key=lambda pair: (-pair[0], pair[1], pair[2]),
    )
    for value, first, second in pairs:
        if value < CLOSE_CENTRES:
            break
        home = next(group for group in groups if first in group)
        other = next(group for group in groups if second in group)
        if home is not other and all(similar[i, j] >= CLOSE_CENTRES for i in home for j in other):
            home.extend(other)
            groups.remove(other)
    return sorted(sorted(group) for group in groups)
