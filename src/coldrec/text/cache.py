"""On-disk embedding cache keyed by encoder and text hash.

Re-running on an unchanged catalogue encodes nothing; a changed product re-encodes only
itself; identical texts are encoded once. Entries live in one SQLite file (default
``$COLDREC_CACHE`` or ``~/.cache/coldrec/embeddings.sqlite``), safe to share between runs.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coldrec.progress import progress_bar
from coldrec.text.encoders import CombinedEncoder, TextEncoder

__all__ = ["EmbeddingCache", "default_cache_path", "embed_texts"]


def default_cache_path() -> Path:
    """``$COLDREC_CACHE`` or ``~/.cache/coldrec/embeddings.sqlite``."""
    env = os.environ.get("COLDREC_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "coldrec" / "embeddings.sqlite"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A persistent map (encoder key, text hash) → float32 vector."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.encoded = 0  # texts sent to an encoder by this cache object (for tests/reports)
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS embeddings (encoder TEXT, key TEXT, "
                        "vector BLOB, PRIMARY KEY (encoder, key))")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def get(self, encoder_key: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._connect() as con:
            for start in range(0, len(keys), 900):
                chunk = list(keys[start:start + 900])
                marks = ",".join("?" * len(chunk))
                rows = con.execute(f"SELECT key, vector FROM embeddings WHERE encoder = ? AND "
                                   f"key IN ({marks})", [encoder_key, *chunk])
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, encoder_key: str, items: dict[str, np.ndarray]) -> None:
        with self._connect() as con:
            con.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                            [(encoder_key, k, np.asarray(v, np.float32).tobytes())
                             for k, v in items.items()])

    def embed(self, encoder: TextEncoder, texts: Sequence[str], *, query: bool = False,
              progress: bool = True, desc: str = "encoding") -> np.ndarray:
        """Embeddings of ``texts`` (one row each), encoding only what the cache lacks.
        A combined encoder is embedded member by member, so each member's entries serve."""
        if isinstance(encoder, CombinedEncoder):
            return encoder.join([self.embed(m, texts, query=query, progress=progress,
                                            desc=desc) for m in encoder.members])
        space = encoder.cache_key + (":query" if query else "")
        keys = [text_key(t) for t in texts]
        unique = dict(zip(keys, texts, strict=True))
        found = self.get(space, list(unique))
        missing = [k for k in unique if k not in found]
        if missing:
            bar = progress_bar(total=len(missing), desc=f"{desc} ({encoder.name})",
                               enabled=progress, unit="text")
            for start in range(0, len(missing), encoder.batch_size):
                batch = missing[start:start + encoder.batch_size]
                batch_texts = [unique[k] for k in batch]
                vecs = (encoder.encode_queries(batch_texts) if query
                        else encoder.encode(batch_texts))
                new = dict(zip(batch, vecs, strict=True))
                self.put(space, new)
                found.update(new)
                self.encoded += len(batch)
                bar.update(len(batch))
            bar.close()
        if not keys:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)


def embed_texts(encoder: TextEncoder, texts: Sequence[str], cache: EmbeddingCache | None = None,
                *, query: bool = False, progress: bool = True) -> np.ndarray:
    """Embed through ``cache`` when given (else directly, deduplicating identical texts)."""
    if cache is not None:
        return cache.embed(encoder, texts, query=query, progress=progress)
    unique = list(dict.fromkeys(texts))
    vecs = encoder.encode_queries(unique) if query else encoder.encode(unique)
    pos = {t: i for i, t in enumerate(unique)}
    return vecs[[pos[t] for t in texts]] if len(texts) else vecs
