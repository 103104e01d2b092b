"""Language-model text understanding: encoders, an embedding cache, text templates."""

from coldrec.text.cache import EmbeddingCache, default_cache_path, embed_texts
from coldrec.text.encoders import ENCODERS, TextEncoder, get_encoder
from coldrec.text.templates import (
    ItemTemplate,
    catalog_texts,
    embed_items,
    item_texts,
    price_bands,
    user_texts,
)

__all__ = [
    "ENCODERS",
    "EmbeddingCache",
    "ItemTemplate",
    "TextEncoder",
    "catalog_texts",
    "default_cache_path",
    "embed_items",
    "embed_texts",
    "get_encoder",
    "item_texts",
    "price_bands",
    "user_texts",
]
