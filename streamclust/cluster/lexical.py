"""The lexical side of each cluster: a TF-IDF profile over hashed unigrams, beside its latent centroid.

Every featurizer gives each post its hashed unigram counts (``FeatureBatch.terms``). Here they are weighted with
a sublinear TF-IDF whose document frequencies are learned online (they halve every ``idf_half_life_posts``), so
a word the stream has never seen counts as rare the moment it appears: a new topic's own vocabulary separates
it at once, which a frozen vocabulary or an encoder trained before the topic existed cannot do. A cluster's
profile is the sum of its members' unit TF-IDF rows, so ``cosine(post, profile)`` is the cosine to their mean.

Profiles are rows of a sparse matrix aligned with the cluster table. Each keeps at most ``terms_per_cluster``
entries (the smallest are pruned by ``prune``), so memory stays bounded however long a cluster lives.

>>> import numpy as np
>>> from streamclust.featurize.base import SparseRows
>>> profiles = LexicalProfiles(n_columns=8)
>>> posts = SparseRows(np.array([0, 2, 4, 5]), np.array([1, 2, 1, 3, 6]), np.ones(5, np.float32), 8)
>>> weighted = profiles.weigh(posts)
>>> profiles.append(weighted[:1])
>>> [round(float(value), 2) for value in profiles.similarity(weighted).ravel()]
[1.0, 0.37, 0.0]

Post 1 shares one of two words with cluster 0, but word 1 is in two of three posts, so it weighs less.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, vstack

from streamclust.featurize.base import SparseRows


class LexicalProfiles:
    def __init__(
        self, n_columns: int, idf_half_life_posts: int = 50_000, terms_per_cluster: int = 64
    ) -> None:
        self.n_columns = n_columns
        self.idf_half_life_posts = idf_half_life_posts
        self.terms_per_cluster = terms_per_cluster
        self.document_frequency = np.zeros(n_columns, dtype=np.float64)
        self.documents = 0.0
        self._keys: np.ndarray | None = None  # entry_keys() of the current profiles
        self._profiles = csr_matrix((0, n_columns), dtype=np.float32)
        self.norms = np.zeros(0, dtype=np.float64)

    def __len__(self) -> int:
        return int(self.profiles.shape[0])

    # -- posts ------------------------------------------------------------------------------------------------

    def weigh(self, terms: SparseRows, learn: bool = True) -> csr_matrix:
        """Unit sublinear TF-IDF rows of ``terms``; ``learn`` first counts them in the document frequencies."""
        if learn and terms.n_rows:
            decay = 0.5 ** (terms.n_rows / self.idf_half_life_posts)
            self.document_frequency *= decay
            self.document_frequency += np.bincount(terms.indices, minlength=self.n_columns)
            self.documents = self.documents * decay + terms.n_rows
        idf = np.log((1.0 + self.documents) / (1.0 + self.document_frequency[terms.indices])) + 1.0
        weights = (1.0 + np.log(np.maximum(terms.values, 1.0))) * idf
        rows = csr_matrix(
            (weights.astype(np.float32), terms.indices, terms.indptr), shape=(terms.n_rows, self.n_columns)
        )
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
        return csr_matrix(rows.multiply(1.0 / np.maximum(norms, 1e-12)[:, None]), dtype=np.float32)

    def similarity(self, weighted: csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine of each weighted post to each profile (or to the profiles of ``rows``), float32 [n, k]."""
        profiles, norms = (
            (self.profiles, self.norms) if rows is None else (self.profiles[rows], self.norms[rows])
        )
        if profiles.shape[0] == 0 or weighted.shape[0] == 0:
            return np.zeros((weighted.shape[0], profiles.shape[0]), dtype=np.float32)
        dots = (weighted @ profiles.T).toarray()
        return (dots / np.maximum(norms, 1e-12)[None, :]).astype(np.float32)

    def similarity_of_pairs(self, weighted: csr_matrix, rows: np.ndarray) -> np.ndarray:
        """Cosine of each weighted post ``i`` to the profiles of ``rows[i]`` (one row of candidates per post),
        float64 [n, k]. Only the batch's own words in its candidates' profiles are read: they are laid out
        densely (candidates x words of the batch, in the profiles' own dtype: half the memory of float64, and
        widened exactly), then each post's words are looked up in its candidates."""
        n, k = rows.shape
        if n == 0 or k == 0 or len(self) == 0 or weighted.nnz == 0:
            return np.zeros((n, k), dtype=np.float64)
        words, word_of_entry = np.unique(weighted.indices, return_inverse=True)
        clusters, cluster_of_pair = np.unique(rows, return_inverse=True)
        profiles = self.profiles[clusters]
        column = np.full(self.n_columns, -1, dtype=np.int64)
        column[words] = np.arange(len(words))
        stored = column[profiles.indices]
        kept = stored >= 0
        dense = np.zeros((len(clusters), len(words)), dtype=profiles.dtype)
        owner = np.repeat(np.arange(len(clusters)), np.diff(profiles.indptr))
        dense[owner[kept], stored[kept]] = profiles.data[kept]
        lengths = np.diff(weighted.indptr)
        post_of_entry = np.repeat(np.arange(n), lengths)
        # [entries, k]: where in ``dense`` each entry's word is for each of its post's candidates
        at = cluster_of_pair.reshape(n, k)[post_of_entry] * len(words) + word_of_entry[:, None]
        products = np.take(dense, at).astype(np.float64) * weighted.data[:, None].astype(np.float64)
        dots = np.zeros((n, k), dtype=np.float64)
        dots[lengths > 0] = np.add.reduceat(products, weighted.indptr[:-1][lengths > 0], axis=0)
        return dots / np.maximum(self.norms[rows], 1e-12)

    @property
    def profiles(self) -> csr_matrix:
        return self._profiles

    @profiles.setter
    def profiles(self, matrix: csr_matrix) -> None:
        """Profiles are kept canonical (sorted columns, no duplicates), so entries can be looked up by key."""
        matrix.sum_duplicates()
        matrix.sort_indices()
        self._profiles = matrix
        self._keys = None

    def entry_keys(self) -> np.ndarray:
        """``row * n_columns + column`` of every stored entry, ascending."""
        if self._keys is None:
            rows = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.profiles.indptr))
            self._keys = rows * self.n_columns + self.profiles.indices.astype(np.int64)
        return self._keys

    # -- clusters ---------------------------------------------------------------------------------------------

    def append(self, sums: csr_matrix) -> None:
        """Profiles of new clusters (each the sum of its members' weighted rows), after the existing ones."""
        self.profiles = csr_matrix(vstack([self.profiles, csr_matrix(sums, dtype=np.float32)]))
        self.norms = np.concatenate([self.norms, row_norms(csr_matrix(sums))])

    def add(self, rows: np.ndarray, weighted: csr_matrix) -> None:
        """Add each weighted post to the profile of its cluster row."""
        if len(rows) == 0:
            return
        one_hot = csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))),
            shape=(len(self), len(rows)),
        )
        self.profiles = csr_matrix(self.profiles + one_hot @ weighted)
        touched = np.unique(rows)
        self.norms[touched] = row_norms(self.profiles[touched])

    def merge(self, absorbed: int, survivor: int) -> None:
        """Fold the profile of row ``absorbed`` into row ``survivor`` (the caller removes ``absorbed``)."""
        n = len(self)
        targets = np.arange(n)
        targets[absorbed] = survivor
        fold = csr_matrix((np.ones(n, dtype=np.float32), (targets, np.arange(n))), shape=(n, n))
        self.profiles = csr_matrix(fold @ self.profiles)
        self.norms = row_norms(self.profiles)

    def remove(self, rows: np.ndarray) -> None:
        keep = np.ones(len(self), dtype=bool)
        keep[rows] = False
        self.profiles = csr_matrix(self.profiles[np.flatnonzero(keep)])
        self.norms = self.norms[keep]

    def prune(self) -> None:
        """Keep the ``terms_per_cluster`` largest entries of each profile, once the profiles hold twice as many
        entries as that on average (so pruning is rare and memory stays within twice the bound)."""
        profiles = self.profiles
        lengths = np.diff(profiles.indptr)
        if len(lengths) == 0 or profiles.nnz <= 2 * self.terms_per_cluster * len(lengths):
            return
        row_of = np.repeat(np.arange(len(lengths)), lengths)
        order = np.lexsort((-profiles.data, row_of))  # by row, largest first
        rank = np.empty(profiles.nnz, dtype=np.int64)
        rank[order] = np.arange(profiles.nnz) - profiles.indptr[row_of[order]]
        keep = rank < self.terms_per_cluster
        self.profiles = csr_matrix(
            (profiles.data[keep], (row_of[keep], profiles.indices[keep])), shape=profiles.shape
        )
        self.norms = row_norms(self.profiles)

    # -- state ------------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "n_columns": self.n_columns,
            "idf_half_life_posts": self.idf_half_life_posts,
            "terms_per_cluster": self.terms_per_cluster,
            "document_frequency": self.document_frequency.copy(),
            "documents": float(self.documents),
            "indptr": self.profiles.indptr.astype(np.int64),
            "indices": self.profiles.indices.astype(np.int64),
            "values": self.profiles.data.astype(np.float32),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.document_frequency = np.asarray(state["document_frequency"], dtype=np.float64).copy()
        self.documents = float(state["documents"])
        indptr = np.asarray(state["indptr"], dtype=np.int64)
        self.profiles = csr_matrix(
            (np.asarray(state["values"], dtype=np.float32), np.asarray(state["indices"]), indptr),
            shape=(len(indptr) - 1, self.n_columns),
        )
        self.norms = row_norms(self.profiles)

    @classmethod
    def from_snapshot(cls, state: dict[str, Any]) -> LexicalProfiles:
        profiles = cls(
            int(state["n_columns"]), int(state["idf_half_life_posts"]), int(state["terms_per_cluster"])
        )
        profiles.restore(state)
        return profiles


def row_norms(matrix: csr_matrix) -> np.ndarray:
    return np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float64).ravel())
