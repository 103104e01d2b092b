"""Request and response bodies of the HTTP API (kept apart from the engine's types)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CatalogPage", "Event", "EventBatch", "EventsAccepted", "Health", "ItemIn",
           "ItemOut", "Product", "RecommendRequest", "Recommendation", "Recommendations",
           "ShopInfo", "UserIn"]

#: "impression" logs what a shopper was shown (for experiment reports; not an interaction)
EventType = Literal["impression", "view", "click", "cart", "purchase", "rating"]
Id = Field(min_length=1, max_length=200)


class Event(BaseModel):
    """One interaction of a shopper with a product."""

    model_config = ConfigDict(extra="forbid")
    user_id: str = Id
    item_id: str = Id
    event_type: EventType = "view"
    value: float | None = Field(None, allow_inf_nan=False, description="rating or amount")
    timestamp: float | None = Field(None, ge=0, allow_inf_nan=False,
                                    description="epoch seconds (default: now)")
    variant: str | None = Field(None, max_length=100, description="A/B variant shown")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[Event] = Field(min_length=1)


class EventsAccepted(BaseModel):
    accepted: int


class ItemIn(BaseModel):
    """A product; every field optional, the title is what the language model reads first."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=20000)
    category: str | None = Field(None, max_length=2000)
    brand: str | None = Field(None, max_length=500)
    price: float | None = Field(None, ge=0, allow_inf_nan=False)
    in_stock: bool | None = None


class ItemOut(BaseModel):
    item_id: str
    created: bool
    recommendable: bool


class UserIn(BaseModel):
    """Profile attributes of a shopper (age, income, location, ...)."""

    model_config = ConfigDict(extra="forbid")
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict,
                                                             max_length=100)


class RecommendRequest(BaseModel):
    """A new or anonymous shopper: attributes, the items of the session, a search phrase."""

    model_config = ConfigDict(extra="forbid")
    user_id: str | None = Field(None, min_length=1, max_length=200)
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict,
                                                             max_length=100)
    items: list[str] = Field(default_factory=list, max_length=1000)
    query: str | None = Field(None, min_length=1, max_length=1000)
    k: int = Field(10, ge=1, le=200)
    in_stock_only: bool = False
    exclude_categories: list[str] = Field(default_factory=list, max_length=100)
    price_min: float | None = Field(None, ge=0, allow_inf_nan=False)
    price_max: float | None = Field(None, ge=0, allow_inf_nan=False)
    rerank: str | None = Field(None, max_length=200)


class Product(BaseModel):
    item_id: str
    title: str | None = None
    category: str | None = None
    brand: str | None = None
    price: float | None = None


class Recommendation(Product):
    score: float
    reason: str


class Recommendations(BaseModel):
    user_id: str | None
    model_version: int
    items: list[Recommendation]
    experiment: str | None = Field(None, description="the experiment answering this shopper")
    variant: str | None = Field(None, description="their variant: attach it to the "
                                "impression, click and purchase events of these items")


class CatalogPage(BaseModel):
    total: int
    offset: int
    items: list[Product]


class ShopInfo(BaseModel):
    """What the demo page needs to draw its forms."""

    data: str
    model: str
    categories: list[str]
    attributes: dict[str, list[str]]
    experiment: dict[str, object] | None
    open_writes: bool


class Health(BaseModel):
    status: Literal["ok"]
    model: str
    model_version: int
    items: int
    users: int
