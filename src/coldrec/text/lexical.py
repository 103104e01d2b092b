"""Lexical (TF-IDF) item representations, serialisable as plain arrays.

Exact words matter in product search and cold-start: model numbers, brands, sizes. This
complements the sentence encoders, whose vectors blur such tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

__all__ = ["fit_tfidf", "transform_tfidf"]

NGRAMS = (1, 2)


def fit_tfidf(texts: Sequence[str], min_df: int = 1) -> tuple[sp.csr_matrix, np.ndarray,
                                                                np.ndarray]:
    """TF-IDF (English stop words, sublinear tf, uni+bigrams, L2 rows) of ``texts``.

    Returns the float32 CSR matrix, the vocabulary (term per column) and the idf weights.
    """
    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=NGRAMS,
                          min_df=min_df, dtype=np.float32)
    try:
        matrix = vec.fit_transform(list(texts))
    except ValueError:  # every text empty or only stop words
        return (sp.csr_matrix((len(texts), 0), dtype=np.float32),
                np.asarray([], dtype=str), np.asarray([], dtype=np.float32))
    vocab = np.empty(len(vec.vocabulary_), dtype=object)
    for term, col in vec.vocabulary_.items():
        vocab[col] = term
    return (sp.csr_matrix(matrix, dtype=np.float32), vocab.astype(str),
            vec.idf_.astype(np.float32))


def transform_tfidf(texts: Sequence[str], vocabulary: np.ndarray,
                    idf: np.ndarray) -> sp.csr_matrix:
    """TF-IDF rows of new texts in a fitted vocabulary (unknown words are ignored)."""
    if len(vocabulary) == 0:
        return sp.csr_matrix((len(texts), 0), dtype=np.float32)
    counter = CountVectorizer(stop_words="english", ngram_range=NGRAMS,
                              vocabulary={t: i for i, t in enumerate(vocabulary)})
    counts = sp.csr_matrix(counter.transform(list(texts)), dtype=np.float32)
    counts.data = 1.0 + np.log(counts.data)
    weighted = counts @ sp.diags(np.asarray(idf, dtype=np.float32))
    return sp.csr_matrix(normalize(weighted), dtype=np.float32)
