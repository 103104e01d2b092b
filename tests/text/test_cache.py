"""The embedding cache: nothing encoded twice, changed products re-encoded alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coldrec.text import EmbeddingCache, get_encoder

CATALOG = ["red apple 1 kg", "green tea 20 bags", "oat milk 1 l", "dark chocolate 100 g"]


def test_unchanged_catalog_encodes_nothing(tmp_path: Path) -> None:
    encoder = get_encoder("use-multilingual")
    first = EmbeddingCache(tmp_path / "c.sqlite")
    a = first.embed(encoder, CATALOG, progress=False)
    assert first.encoded == 4 and a.shape == (4, 512)
    again = EmbeddingCache(tmp_path / "c.sqlite")  # a new process would open the same file
    b = again.embed(encoder, CATALOG, progress=False)
    assert again.encoded == 0
    np.testing.assert_array_equal(a, b)


def test_changed_product_reencodes_only_itself(tmp_path: Path) -> None:
    encoder = get_encoder("use-multilingual")
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    cache.embed(encoder, CATALOG, progress=False)
    changed = [*CATALOG[:2], "oat milk barista edition 1 l", CATALOG[3]]
    out = cache.embed(encoder, changed, progress=False)
    assert cache.encoded == 5  # 4 the first time, then only the changed one
    np.testing.assert_allclose(out[2], encoder.encode([changed[2]])[0], atol=1e-5)


def test_identical_texts_are_encoded_once(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    out = cache.embed(get_encoder("use-multilingual"), ["same", "same", "other", "same"],
                      progress=False)
    assert cache.encoded == 2
    np.testing.assert_array_equal(out[0], out[3])


def test_queries_and_documents_are_separate_spaces(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    encoder = get_encoder("e5-multilingual")
    doc = cache.embed(encoder, ["protein bar"], progress=False)
    query = cache.embed(encoder, ["protein bar"], query=True, progress=False)
    assert cache.encoded == 2 and not np.allclose(doc, query)  # e5 prefixes differ


def test_combined_encoder_reuses_each_members_cache(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    single = cache.embed(get_encoder("use-multilingual"), CATALOG, progress=False)
    assert cache.encoded == 4
    combined = cache.embed(get_encoder("use-multilingual+minilm"), CATALOG, progress=False)
    assert cache.encoded == 8  # only the MiniLM vectors were missing
    np.testing.assert_allclose(combined[:, :512], single / np.sqrt(2), atol=1e-6)
    cache.embed(get_encoder("minilm+use-multilingual"), CATALOG, progress=False)
    assert cache.encoded == 8

