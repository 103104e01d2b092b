"""Request and response bodies of the HTTP API (kept apart from the engine's types)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from coldrec.data.ids import ID_PATTERN, MAX_ID_LENGTH, clean_id
from coldrec.rerank import SPEC_PATTERN

__all__ = ["CatalogPage", "Erased", "Event", "EventBatch", "EventsAccepted", "Health", "ItemIn",
           "ItemOut", "Product", "RecommendRequest", "Recommendation", "Recommendations",
           "ShopInfo", "UserIn"]

#: "impression" logs what a shopper was shown (for experiment reports; not an interaction)
EventType = Literal["impression", "view", "click", "cart", "purchase", "rating"]
#: a shopper or product id: trimmed, not empty, no control characters (coldrec.data.ids)
ShopId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH,
                             json_schema_extra={"pattern": ID_PATTERN}),
                   AfterValidator(clean_id)]
def _integral(value: object) -> object:
    """JSON Schema counts 3.0 as an integer; so does the API (strict otherwise)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


RERANK_HELP = ("re-rankers NAME[:value[:value]][,NAME...] or a preset, e.g. mmr:0.3 or "
               "popularity:1.5,tail:3 (values and their ranges: the pattern)")
#: a profile attribute: a short name and a finite value
AttributeName = Annotated[str, Field(min_length=1, max_length=100,
                                    json_schema_extra={"pattern": ID_PATTERN}),
                          AfterValidator(clean_id)]
AttributeValue = Annotated[str, StringConstraints(max_length=1000)] | bool | int | \
    Annotated[float, Field(allow_inf_nan=False)]
Attributes = Annotated[dict[AttributeName, AttributeValue], Field(max_length=100),
                       WithJsonSchema({
                           "type": "object", "maxProperties": 100,
                           "propertyNames": {"minLength": 1, "maxLength": 100,
                                             "pattern": ID_PATTERN},
                           "additionalProperties": {"anyOf": [
                               {"type": "string", "maxLength": 1000}, {"type": "boolean"},
                               {"type": "integer"}, {"type": "number"}]}})]


class Event(BaseModel):
    """One interaction of a shopper with a product."""

    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: ShopId
    item_id: ShopId
    event_type: EventType = "view"
    value: float | None = Field(None, allow_inf_nan=False, description="rating or amount")
    timestamp: float | None = Field(None, ge=0, allow_inf_nan=False,
                                    description="epoch seconds (default: now)")
    variant: str | None = Field(None, max_length=100, description="A/B variant shown")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    events: list[Event] = Field(min_length=1)


class EventsAccepted(BaseModel):
    accepted: int


class ItemIn(BaseModel):
    """A product; every field optional, the title is what the language model reads first."""

    model_config = ConfigDict(extra="forbid", strict=True)
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

    model_config = ConfigDict(extra="forbid", strict=True)
    attributes: Attributes = Field(default_factory=dict)


class Erased(BaseModel):
    """What an erasure did."""

    user_id: str
    events_removed: int
    retrain: Literal["scheduled"] = Field(description="item-side state the shopper helped "
                                          "learn goes with this retrain")


class RecommendRequest(BaseModel):
    """A new or anonymous shopper: attributes, the items of the session, a search phrase."""

    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: ShopId | None = None
    attributes: Attributes = Field(default_factory=dict)
    items: list[ShopId] = Field(default_factory=list, max_length=1000)
    query: str | None = Field(None, min_length=1, max_length=1000)
    k: Annotated[int, BeforeValidator(_integral)] = Field(10, ge=1, le=200)
    in_stock_only: bool = False
    exclude_categories: list[str] = Field(default_factory=list, max_length=100)
    price_min: float | None = Field(None, ge=0, allow_inf_nan=False)
    price_max: float | None = Field(None, ge=0, allow_inf_nan=False)
    rerank: str | None = Field(None, max_length=200, description=RERANK_HELP,
                               json_schema_extra={"pattern": SPEC_PATTERN})


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
    skipped_rows: int = Field(0, description="stored rows the live model could not be "
                              "trained on (bad ids or times), skipped and logged")
    worker: int = Field(0, description="the answering process (its id): `coldrec serve "
                        "--workers N` runs several")
